"""Build the default English character LM (hwr/models_data/lm_en.arpa.gz) and print the
perplexity table that chose it.

Training text (see hwr/models_data/lm_en.md): IAM-OnDB ``trainset`` transcriptions,
ImadocSen-OnDB training labels, and optionally the Debian ``fortunes`` cookies and the
GCIDE dictionary (GPL; only for comparison unless --final-sources names it).  The
validation texts (IAM-OnDB testset_t and the unlisted forms) are used only to choose
order, smoothing, corpus mix and pruning -- never for training.  LOB corpus text is never
used.  The corpus is prepared in a work folder outside the repository.

    python benchmarks/build_lm.py --table            # comparison table (a few minutes)
    python benchmarks/build_lm.py --final            # rebuild the shipped model

Paths default to the layout of the development machine; override them with the options.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import textwrap
import time
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
FINAL = {"sources": ("indomain", "fortunes"), "order": 6, "method": "kneser-ney", "prune": 2}


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
    lines = []
    for p in (args.iam_train, args.imadocsen):
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


def prepare(args) -> dict[str, list[str]]:
    t0 = time.perf_counter()
    src = {"indomain": indomain_lines(args)}
    if args.fortunes.is_dir():
        src["fortunes"] = fortune_lines(args.fortunes)
    if args.gcide.exists():
        src["gcide"] = gcide_lines(args.gcide)
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
    ap.add_argument("--work", default=tempfile.gettempdir() + "/hwr-lm-build")
    ap.add_argument("--table", action="store_true", help="Print the comparison table.")
    ap.add_argument("--final", action="store_true", help="Train and write the shipped model.")
    ap.add_argument("--out", type=Path, default=REPO / "hwr" / "models_data" / "lm_en.arpa.gz")
    args = ap.parse_args()
    if not (args.table or args.final):
        ap.error("give --table and/or --final")
    src = prepare(args)
    val = validation_lines(args)
    print(f"  validation: {len(val)} lines, {sum(map(len, val))} characters", file=sys.stderr)
    work = Path(args.work)
    if args.table:
        print(HEAD)
        for order in (4, 5, 6, 7, 8):
            for method in ("kneser-ney", "witten-bell"):
                run(src, val, ("indomain",), order, method, 0, work)
        run(src, val, ("indomain", "fortunes"), 6, "kneser-ney", 0, work)
        for sources, prunes in ((("indomain", "fortunes"), (2, 3)), (("indomain", "fortunes", "gcide"), (3, 6))):
            if all(s in src for s in sources):
                for order in (6, 7, 8):
                    for prune in prunes:
                        run(src, val, sources, order, "kneser-ney", prune, work)
                run(src, val, sources, 7, "witten-bell", prunes[0], work)
    if args.final:
        f = FINAL
        desc = ("IAM-OnDB trainset transcriptions + ImadocSen-OnDB training labels"
                + (" + Debian fortunes-min/fortunes cookie files" if "fortunes" in f["sources"] else "")
                + (" + GCIDE 0.48 definitions" if "gcide" in f["sources"] else "")
                + "; printable ASCII only; no LOB text, no IAM text outside trainset")
        print(HEAD)
        run(src, val, f["sources"], f["order"], f["method"], f["prune"], work, out=args.out, description=desc)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
