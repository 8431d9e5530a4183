"""Pages per minute of `hwr transcribe` with 1 and 2 worker processes, in the same run, on
the real pages of ../shared/data/pages (read in place: the script links the chosen page
images into a temporary folder; outputs go to a temporary folder too).

    python benchmarks/transcribe.py [--pages 16] [--workers 1,2] [--formats txt,json,alto,page]

Each configuration starts from an empty output folder and is timed from the call to the
end of the run (model loading in each worker included). Pages are taken evenly from every
collection, sorted by name.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import SHARED  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=16, help="number of pages (default 16)")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    ap.add_argument("--formats", default="txt,json,alto,page")
    ap.add_argument("--decoder", choices=["greedy", "beam"], help="default: the image model's default")
    args = ap.parse_args()

    from hwr.batch import Options, transcribe

    root = SHARED / "pages"
    if not root.is_dir():
        sys.exit(f"no pages at {root}: set HWR_SHARED to the folder holding data/")
    cols = sorted(p for p in root.iterdir() if p.is_dir())
    per = [sorted(q for q in c.iterdir() if q.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"))
           for c in cols]
    chosen: list[Path] = []
    k = 0
    while len(chosen) < args.pages and any(per):
        col = per[k % len(per)]
        if col:
            chosen.append(col.pop(0))
        k += 1
    with tempfile.TemporaryDirectory(prefix="hwr-bench-transcribe-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for p in chosen:
            os.symlink(p, src / f"{p.parent.name}__{p.name}")
        print(f"{len(chosen)} pages from {', '.join(c.name for c in cols)}; formats {args.formats}; "
              f"{os.cpu_count()} cores")
        print("| workers | pages | seconds | pages/min | lines | failed | ratio to 1 worker |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        base = None
        for w in [int(x) for x in args.workers.split(",")]:
            out = Path(tmp) / f"out{w}"
            t0 = time.perf_counter()
            s = transcribe(src, out, Options(formats=tuple(args.formats.split(",")), workers=w,
                                             decoder=args.decoder))
            secs = time.perf_counter() - t0
            from hwr.batch import read_report

            lines = sum(r.get("lines") or 0 for r in read_report(out / "report.jsonl").values())
            ppm = s.done / secs * 60
            base = base or ppm
            print(f"| {w} | {s.done} | {secs:.1f} | {ppm:.1f} | {lines} | {s.failed} | {ppm / base:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
