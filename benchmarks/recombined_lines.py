"""Do new lines put together from the words of Hooker's own lines help a fine-tuning?  (Issue 8.)

Thirty-two pages of one hand (633 lines) are few, and the learning curve of docs/hooker-letters.md
(*How many pages of the hand*) is steep where the data ends.  A common remedy for small HTR sets is
to cut the training lines into words and put the words together again in new orders, so the
network sees each letter shape beside other neighbours.  This script measures it:

1. The lines: those of ``finetune_hooker.py`` (its cached ``hooker-finetune-band2v.h5``, each
   fine-tuning line cut by three bands, and ``hooker-setaside-band2.h5``, the 173 set-aside
   lines).
2. Words: a model (``--align-model``, default image_default) reads each training line, and a
   CTC forced alignment (``hwr.decoding.align.char_spans``, with which ``hwr recognize`` links
   characters to image columns) gives each character its frames.  Between two words, the cut
   is the middle of the frames from the last frame of one word's last character to the first
   of the next word's first (frames are ``subsample`` pixels wide).  Lines whose transcription
   does not align (longer than the frames, or characters outside the model's alphabet) are
   left out.
3. New lines: for each count of ``--new-lines``, that many lines, each of ``k`` words (70 % of
   the time ``k`` is a real line's word count, else 3-9) drawn at random from the words of the
   lines of one band cut, side by side, the text their words joined by spaces; the real lines
   are kept.  ``random.Random(count)`` draws them, so a count gives the same lines each time.
4. Fine-tuning: one ``hwr train --kind image --base image_default --augment page --dropout 0.5
   --anneal --no-lm-adapt --max-minutes M`` per (data, seed), all side by side (on a GPU they
   share it), validated on the set-aside lines, and the real lines alone as the control.
5. CER of every arm on the set-aside lines: greedy, and with image_default's decoder (beam
   search, width 32, ``lm_en`` weight 0.8, bonus 2.0).

    python benchmarks/recombined_lines.py [--new-lines 3800,7600] [--seeds 3,4] [--minutes 3]
        [--device cuda] [--workers 3] [--align-model M] [--limit N] [--keep DIR]

On a 2-core CPU an arm needs about 20 minutes to level off (run two at a time); on a GPU, 3.
``--limit N`` keeps only N training lines (a smoke run).
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune_hooker import HOOKER, import_pages, split_hooker, write_lines  # noqa: E402
from line_height import _env, cer  # noqa: E402

WORDS_PER_LINE = (3, 9)  # the uniform draw's range; 70 % of new lines take a real line's count instead
REAL_COUNT_SHARE = 0.7


def word_columns(spans: list, text: str, subsample: int, width: int) -> list[int] | None:
    """Pixel columns that cut ``text``'s line into its words: 0, one column between each two
    words, ``width``.  ``spans``: each character's frames (``hwr.decoding.align.char_spans``,
    one per character of ``text``, spaces included); a cut is the middle of the frames from the
    end of one word's last character to the start of the next word's first.  None where a space
    is not between two characters."""
    if len(spans) != len(text):
        return None
    columns = [0]
    for k, ch in enumerate(text):
        if ch == " ":
            if k == 0 or k + 1 == len(text) or " " in (text[k - 1], text[k + 1]):
                return None
            columns.append(int((spans[k - 1].end + spans[k + 1].start + 1) / 2 * subsample))
    return columns + [width]


def word_cuts(model: str | Path, lines: Path) -> tuple[list[dict], list[int]]:
    """The pixel columns between the words of each line of ``lines`` (``{"i", "cut", "columns"}``,
    ``cut``: which of the line id's band cuts it is) by forced alignment with ``model``, and the
    word count of every line."""
    from hwr.data.lineset import LineSet
    from hwr.decoding.align import char_spans
    from hwr.evaluation import image_line_posteriors
    from hwr.pipeline import Recognizer

    rec = Recognizer(str(model), kind="image", decoder="greedy")
    sub = int(rec.info.config.get("subsample", 4))
    s = LineSet(lines)  # the texts, ids and widths (the images come through image_line_posteriors)
    seen: collections.Counter = collections.Counter()
    out, counts, skipped = [], [], 0
    # one line at a time: in a padded batch the backward LSTM also reads the padding, which moved
    # 1 % of the cuts by a frame
    for i, (_, _, logp) in enumerate(image_line_posteriors(rec, lines, batch_size=1)):
        text = s.texts[i]
        cut = seen[s.ids[i]]
        seen[s.ids[i]] += 1
        counts.append(len(text.split(" ")))
        labels = rec.alphabet.encode(text)
        if not labels or len(labels) != len(text):  # every character, spaces included, must be a label
            skipped += 1
            continue
        columns = word_columns(char_spans(logp, labels, rec.alphabet.chars)[0], text, sub, s.widths[i])
        if columns is None:
            skipped += 1
            continue
        out.append({"i": i, "cut": cut, "columns": columns})
    print(f"aligned {len(out)} of {len(out) + skipped} lines with {model}", file=sys.stderr)
    return out, counts


def recombined(lines: Path, cuts: list[dict], counts: list[int], n: int, out: Path) -> int:
    """``lines`` and ``n`` new lines of their words (see the module's step 3) written to ``out``."""
    from hwr.data.lineset import LineSet, LineSample, write_lineset

    s = LineSet(lines)
    s.load_all()
    words = collections.defaultdict(list)  # band cut -> [(image, word)]
    for c in cuts:
        image, cols = s.image(c["i"]), c["columns"]
        for word, a, b in zip(s.texts[c["i"]].split(" "), cols[:-1], cols[1:]):
            if word and b - a >= 8:
                words[c["cut"]].append((image[:, a:b], word))
    rng = random.Random(n)

    def new_line(j: int) -> LineSample:
        pool = words[rng.choice(sorted(words))]
        k = rng.choice(counts) if rng.random() < REAL_COUNT_SHARE else rng.randint(*WORDS_PER_LINE)
        chosen = [rng.choice(pool) for _ in range(max(1, k))]
        return LineSample(np.ascontiguousarray(np.concatenate([w[0] for w in chosen], axis=1)),
                          " ".join(w[1] for w in chosen), "recombined", "recombined", HOOKER.name, f"recombined/{j}")

    real = (LineSample(s.image(i), s.texts[i], s.writers[i], s.sources[i], s.collections[i], s.ids[i])
            for i in range(len(s)))
    new = (new_line(j) for j in range(n))
    return write_lineset(out, (x for part in (real, new) for x in part), s.preprocessing, split=s.split)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--new-lines", default="3800,7600", help="counts of new lines, comma-separated (an arm each)")
    ap.add_argument("--seeds", default="3,4", help="hwr train --seed of each arm, comma-separated")
    ap.add_argument("--minutes", type=float, default=3.0, help="hwr train --max-minutes of each arm")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=3, help="DataLoader workers of each arm (page augmentation)")
    ap.add_argument("--align-model", default="image_default", help="the model that aligns lines to their text")
    ap.add_argument("--limit", type=int, help="only the first N training lines: a smoke run")
    ap.add_argument("--keep", type=Path, help="keep the datasets, models and logs in this folder")
    args = ap.parse_args()
    if not HOOKER.is_dir():
        sys.exit(f"{HOOKER} not found: set HWR_SHARED to the folder holding data/")
    counts_new = [int(v) for v in args.new_lines.split(",") if v.strip()]
    seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    from hwr.data.lineset import LineSet
    from hwr.data.pages import BAND_CUT_VERSION

    t0 = time.perf_counter()
    ft_pages, aside_pages = split_hooker(list(HOOKER.glob("*.xml")), 5)
    tag = f"-band{BAND_CUT_VERSION}"
    train, aside = import_pages(ft_pages, aside_pages, tag, 1, "band", variants=True)
    _, aside = import_pages(ft_pages, aside_pages, tag, 1, "band")  # the set-aside lines: one cut, as read
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or Path(tmp)
        (d / "logs").mkdir(parents=True, exist_ok=True)
        if args.limit:
            s = LineSet(train)
            s.load_all()
            write_lines(s, d / "real.h5", range(min(args.limit, len(s))))
            train = d / "real.h5"
        cuts, counts = word_cuts(args.align_model, train)
        (d / "cuts.json").write_text(json.dumps({"lines": cuts, "counts": counts}))
        data = {"real lines only": train}
        for n in counts_new:
            data[f"+ {n} new"] = d / f"recombined-{n}.h5"
            recombined(train, cuts, counts, n, data[f"+ {n} new"])
        print(f"data ready after {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        procs = {}
        for name, h5 in data.items():
            for seed in seeds:
                out = d / f"{h5.stem}-s{seed}.safetensors"
                log = open(d / "logs" / f"{out.stem}.log", "w")
                cmd = [sys.executable, "-m", "hwr.cli.main", "train", "--kind", "image", "--base", "image_default",
                       "--data", str(h5), "--val", str(aside), "--device", args.device, "--workers",
                       str(args.workers), "--max-minutes", str(args.minutes), "--anneal", "--augment", "page",
                       "--dropout", "0.5", "--no-lm-adapt", "--seed", str(seed), "--out", str(out)]
                procs[(name, seed)] = (subprocess.Popen(cmd, stdout=log, stderr=log, env=_env()), log, out)
        dev = "cuda" if args.device.startswith("cuda") else "cpu"
        rows = collections.defaultdict(list)
        for (name, seed), (p, log, out) in procs.items():
            p.wait()
            log.close()
            if p.returncode or not out.exists():
                print(f"{out.stem}: hwr train exit {p.returncode}, see {log.name}", file=sys.stderr)
                continue
            rows[name].append((seed, len(LineSet(data[name])), cer(out, aside, "greedy", dev),
                               cer(out, aside, "beam", dev)))
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    print(f"\nrecombined lines, {args.minutes:g} minutes per arm, device {args.device}, aligned by "
          f"{args.align_model}, {time.perf_counter() - t0:.0f} s in all; CER % on the {len(LineSet(aside))} "
          "set-aside lines")
    print("| fine-tuned on | line images | seed: greedy / beam + LM | mean greedy | mean beam + LM |")
    print("| --- | --- | --- | --- | --- |")
    for name, rs in rows.items():
        per = ", ".join(f"{s}: {pct(g)} / {pct(b)}" for s, _, g, b in rs)
        print(f"| {name} | {rs[0][1]} | {per} | {pct(np.mean([r[2] for r in rs]))} | "
              f"{pct(np.mean([r[3] for r in rs]))} |")


if __name__ == "__main__":
    main()
