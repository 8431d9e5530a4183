"""Teaching the ink model one person's hand: what do N of their corrected lines buy?

The writers are IAM-OnDB's validation writers. ink_default was chosen on their lines (the
epoch) but never trained on them, and none of them wrote any of ``trainset``. IAM-OnDB gives
no writer ids, but each writer wrote eight forms, one after another, in one session at the
whiteboard. Most forms carry absolute timestamps, so their sessions can be told apart by the
pauses between forms (over ten minutes). A session of 16, 24, ... forms is two or more
writers back to back, split in eights in time order. That gives 40 writers of 40-78 lines
each: 20 of ``testset_t`` and 20 of the forms in no listed split (``--split``).

For each writer, the last ``--test-lines`` lines they wrote are the test lines. The first
``--lines`` are the "corrections", what a user of the app would have corrected. The ink model
is fine-tuned on those as the app's retraining dialog fine-tunes it: ``hwr train --kind ink
--base ink_default --data CORRECTIONS.h5 --out W.safetensors --max-minutes M --anneal``, with
validation lines held out from the corrections, one thread, two writers at a time. The test
lines are then read by the base and by the new model, each with its own decoder (beam search
+ LM). "Kept" is what the app would read with: the new model where ``hwr train`` found it
better than its base on its own validation lines, else the base (the dialog advises against
a model that validates worse).

Prints one row per writer and the pooled CER (errors over characters, all test lines).

    python benchmarks/personal_ink.py [--split testset_t|unlisted|all] [--lines 30]
        [--test-lines 15] [--minutes 3] [--writers K] [--jobs 2] [-- EXTRA hwr train ARGS]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _data import SHARED, _iam_ondb, iam_ondb_validation  # noqa: E402
from finetune_hooker import _env, hwr_cmd  # noqa: E402

SESSION_GAP_S = 600.0   # a longer pause between two forms ends a writer's session
FORMS_PER_WRITER = 8


def form_span(root: Path, form: str) -> tuple[float, float] | None:
    """(first, last) pen timestamp of a form's stroke files, or None without any."""
    times: list[float] = []
    for p in sorted((root / "lineStrokes" / form[:3] / form[:7]).glob(f"{form}-*.xml")):
        text = p.read_text(encoding="latin-1")
        starts = re.findall(r'start_time="([0-9.]+)"', text)
        ends = re.findall(r'end_time="([0-9.]+)"', text)
        if starts and ends:
            times += [float(starts[0]), float(ends[-1])]
    return (min(times), max(times)) if times else None


def writers_of(spans: dict[str, tuple[float, float]]) -> list[list[str]]:
    """Forms grouped by writer: sessions split at pauses over SESSION_GAP_S, then in eights.
    Only forms with absolute timestamps count (those of a few sessions start again from zero,
    and their forms cannot be told apart); a session not a multiple of eight is dropped."""
    rows = sorted((a, b, f) for f, (a, b) in spans.items() if a > 1e5)
    sessions: list[list[tuple[float, float, str]]] = []
    for row in rows:
        if sessions and row[0] - sessions[-1][-1][1] <= SESSION_GAP_S:
            sessions[-1].append(row)
        else:
            sessions.append([row])
    out = []
    for s in sessions:
        if len(s) % FORMS_PER_WRITER:
            continue
        out += [[f for _, _, f in s[i:i + FORMS_PER_WRITER]] for i in range(0, len(s), FORMS_PER_WRITER)]
    return out


def writer_sets(split: str, out: Path) -> list[dict]:
    """One ink dataset per writer of ``split`` (their lines in the order written), under ``out``."""
    from hwr.data.importers import read_split_file
    from hwr.data.inkset import InkSet, write_inkset

    src, root = _iam_ondb()
    testset = set(read_split_file(src / "testset_t.txt"))
    sets = dict(zip(("testset_t", "unlisted"), (InkSet(p) for p in iam_ondb_validation())))
    lines: dict[str, tuple[str, list[int]]] = {}
    for name, ks in sets.items():
        for i, form in enumerate(ks.writers):
            lines.setdefault(form, (name, []))[1].append(i)
    spans = {f: s for f in lines if (s := form_span(root, f)) is not None}
    writers = []
    for forms in writers_of(spans):
        names = {lines[f][0] for f in forms}
        if len(names) != 1 or split not in ("all", *names):
            continue
        name = names.pop()
        assert name != "testset_t" or all(f in testset for f in forms)
        ks = sets[name]
        idx = [i for f in forms for i in sorted(lines[f][1], key=lambda i: ks.ids[i])]
        path = out / f"{forms[0]}.h5"
        write_inkset(path, [(ks.ids[i], ks[i]) for i in idx], split=name)
        writers.append({"writer": forms[0], "split": name, "forms": forms, "lines": len(idx), "path": path})
    return writers


def personalise(w: dict, n: int, n_test: int, minutes: float, extra: list[str], work: Path) -> dict:
    """Fine-tune on the writer's first ``n`` lines, read their last ``n_test``; returns the row."""
    from hwr.data.inkset import InkSet, write_inkset
    from hwr.evaluation import evaluate_ink_model

    ks = InkSet(w["path"])
    total = len(ks)
    test = list(range(total - n_test, total))
    corr = list(range(min(n, total - n_test)))
    d = work / w["writer"]
    d.mkdir(parents=True, exist_ok=True)
    write_inkset(d / "corrections.h5", [(ks.ids[i], ks[i]) for i in corr], split="train")
    write_inkset(d / "test.h5", [(ks.ids[i], ks[i]) for i in test], split="test")
    out = d / "mine.safetensors"
    cmd = hwr_cmd("train", "--kind", "ink", "--base", "ink_default", "--data", str(d / "corrections.h5"),
                  "--out", str(out), "--max-minutes", str(minutes), "--anneal", "--threads", "1",
                  "--progress-json", *extra)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(1))
    secs = time.perf_counter() - t
    (d / "train.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        return {**w, "error": (r.stderr.strip().splitlines() or ["?"])[-1], "corrections": len(corr)}
    events = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    done = [x for x in events if x.get("event") == "done"][-1]
    epochs = [x for x in events if x.get("event") == "epoch"]
    from hwr.models.checkpoint import read_info

    base = evaluate_ink_model("ink_default", [d / "test.h5"]).rates
    new = evaluate_ink_model(out, [d / "test.h5"]).rates
    better = (done.get("verdict") or "").startswith("better")
    return {"writer": w["writer"], "split": w["split"], "corrections": len(corr), "test_lines": len(test),
            "chars": base.chars, "base_errors": base.char_errors, "new_errors": new.char_errors,
            "kept_errors": new.char_errors if better else base.char_errors, "kept": better,
            "val_lines": read_info(out).training.get("read_val_lines"), "epochs": len(epochs), "seconds": secs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("testset_t", "unlisted", "all"), default="testset_t")
    ap.add_argument("--lines", type=int, default=30, help="corrections: the first N lines of each writer")
    ap.add_argument("--test-lines", type=int, default=15, help="test lines: the last N lines of each writer")
    ap.add_argument("--minutes", type=float, default=3.0, help="hwr train --max-minutes per writer")
    ap.add_argument("--writers", type=int, default=0, help="only the first K writers (0: all)")
    ap.add_argument("--jobs", type=int, default=2, help="writers fine-tuned side by side (one thread each)")
    ap.add_argument("--work", type=Path, help="keep the datasets and models here (default: a temporary folder)")
    ap.add_argument("extra", nargs="*", help="after --: more hwr train arguments")
    args = ap.parse_args()
    if not (SHARED / "iam-ondb").exists():
        sys.exit(f"IAM-OnDB not found under {SHARED}: set HWR_SHARED")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        writers = writer_sets(args.split, work)
        if args.writers:
            writers = writers[: args.writers]
        print(f"{len(writers)} writers ({args.split}), {args.lines} corrections and {args.test_lines} test lines "
              f"each, hwr train --max-minutes {args.minutes} {' '.join(args.extra)}", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(lambda w: personalise(w, args.lines, args.test_lines, args.minutes, args.extra,
                                                       work), writers))
    print("\n| writer | corrections (validation) | epochs | CER % base | CER % fine-tuned | kept | CER % read |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    tot = {"chars": 0, "base_errors": 0, "new_errors": 0, "kept_errors": 0}
    ok = [r for r in rows if "error" not in r]
    for r in rows:
        if "error" in r:
            print(f"| {r['writer']} | {r['corrections']} | | | | error: {r['error']} | |")
            continue
        for k in tot:
            tot[k] += r[k]
        c = r["chars"]
        print(f"| {r['writer']} | {r['corrections']} ({r['val_lines']}) | {r['epochs']} | "
              f"{100 * r['base_errors'] / c:.2f} | {100 * r['new_errors'] / c:.2f} | {'yes' if r['kept'] else 'no'} | "
              f"{100 * r['kept_errors'] / c:.2f} |")
    if ok:
        c = tot["chars"]
        gains = sum(r["new_errors"] < r["base_errors"] for r in ok)
        losses = sum(r["new_errors"] > r["base_errors"] for r in ok)
        print(f"\npooled over {len(ok)} writers ({c} test characters): base {100 * tot['base_errors'] / c:.2f} %, "
              f"fine-tuned {100 * tot['new_errors'] / c:.2f} %, kept {100 * tot['kept_errors'] / c:.2f} %; "
              f"fine-tuned better for {gains} writers, worse for {losses}; "
              f"{sum(r['kept'] for r in ok)} kept; "
              f"{sum(r['seconds'] for r in ok) / len(ok):.0f} s per writer")


if __name__ == "__main__":
    main()
