"""Hostile inputs: the whole bad-input corpus of tests/hardening plus a fixed-time fuzz of the
text parsers, and a summary: inputs tried per reader, crashes, hangs, peak memory.

    python benchmarks/hardening.py [--seconds 60] [--random] [--findings DIR] [--load]

``--load`` adds issue 10's load figures (about 20 minutes on one core): peak RSS of
``hwr transcribe`` at 50 and 500 pages with lost / duplicated outputs
(``benchmarks/batch_memory.py``) and the canvas with 10,000 strokes
(``benchmarks/gui_load.py``); without it the summary names those commands.

Each reader's cases run in a fresh process, so "peak RSS" is that reader's own peak (all
memory: Python, numpy, OpenCV, HDF5, torch), with the interpreter and its imports included.
The fuzz is coverage-guided by default: a mutated document that runs a line of hwr's code
no earlier input ran joins the pool that later mutations start from (``--random``: always
mutate the seed).  Findings (a crash or a hang) are written to ``--findings`` for
reproduction.  The exit status is 1 if anything but a pass came out.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# tests/ first: it holds the package ``hardening`` (this script's own name would shadow it)
sys.path[:0] = [str(REPO / "tests"), str(REPO)]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ----------------------------------------------------------------------------- children


def child_corpus(reader: str) -> dict:
    from hardening.corpus import all_cases, run_case

    outcomes = []
    with tempfile.TemporaryDirectory(prefix="hwr-hardening-") as tmp:
        for k, case in enumerate(c for c in all_cases() if c.reader == reader):
            o = run_case(case, Path(tmp) / f"c{k}")
            outcomes.append({"name": case.name, "status": o.status, "seconds": o.seconds, "traced_mb": o.peak_mb,
                             "detail": o.detail})
    return {"reader": reader, "outcomes": outcomes, "peak_rss_mb": _peak_rss_mb()}


def child_fuzz(target: str, seconds: float, guided: bool, seed: int, findings: str | None) -> dict:
    from hardening.fuzz import TARGETS, Finding, check, covered_lines, mutate, random_ops

    rng = random.Random(seed)
    pool = [TARGETS[target].seed]
    seen: set = set()
    runs = errors = oks = 0
    found: list[str] = []
    hangs = crashes = 0
    with tempfile.TemporaryDirectory(prefix="hwr-fuzz-") as tmp:
        folder = Path(tmp)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            parent = rng.choice(pool)
            data = mutate(parent, random_ops(rng)) if runs else parent
            runs += 1
            result: list[str] = []
            try:
                lines = covered_lines(lambda: result.append(check(target, data, folder))) if guided else None
                if not guided:
                    result.append(check(target, data, folder))
            except Finding as e:
                msg = str(e)
                hangs += ": hang" in msg
                crashes += ": hang" not in msg
                found.append(msg[:300])
                if findings:
                    out = Path(findings)
                    out.mkdir(parents=True, exist_ok=True)
                    (out / f"{target}-{len(found):03d}{Path(TARGETS[target].filename).suffix}").write_bytes(data)
                continue
            if result and result[0] == "ok":
                oks += 1
            else:
                errors += 1
            if guided and lines - seen:
                seen |= lines
                if len(data) < 20_000:
                    pool.append(data)
    return {"target": target, "runs": runs, "ok": oks, "hwr_errors": errors, "crashes": crashes, "hangs": hangs,
            "lines": len(seen), "pool": len(pool), "findings": found[:10], "peak_rss_mb": _peak_rss_mb()}


def _run_child(args: list[str], timeout: float) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="hwr-cache-") as cache:
        env["XDG_CACHE_HOME"] = cache  # parsed-LM caches go here, never to the user's cache
        try:
            p = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"error": f"hang: the child ran past {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": f"crash: exit status {p.returncode}: {p.stderr.strip()[-500:]}"}
    return json.loads(p.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="fuzzing time in all (split over the parsers)")
    ap.add_argument("--random", action="store_true", help="random mutations of the seed (no coverage guidance)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--findings", help="folder for inputs that crashed or hung a parser")
    ap.add_argument("--only", choices=["corpus", "fuzz"], help="run one part")
    ap.add_argument("--load", action="store_true", help="also run the load measurements (batch memory, canvas)")
    ap.add_argument("--child-reader", help=argparse.SUPPRESS)
    ap.add_argument("--child-fuzz", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_reader:
        print(json.dumps(child_corpus(args.child_reader)))
        return 0
    if args.child_fuzz:
        print(json.dumps(child_fuzz(args.child_fuzz, args.seconds, not args.random, args.seed, args.findings)))
        return 0

    from hardening.corpus import all_cases
    from hardening.fuzz import TARGETS

    bad = 0
    t0 = time.perf_counter()
    if args.only != "fuzz":
        cases = all_cases()
        readers = list(dict.fromkeys(c.reader for c in cases))
        print(f"Bad-input corpus: {len(cases)} inputs, {len(readers)} readers (each reader in its own process)\n")
        head = f"{'reader':<12} {'inputs':>6} {'pass':>5} {'crash':>5} {'hang':>5} {'wrong':>5} {'unsafe':>6} " \
               f"{'slowest s':>9} {'traced MB':>9} {'peak RSS MB':>11}"
        print(head)
        print("-" * len(head))
        totals = {"inputs": 0, "pass": 0, "crash": 0, "hang": 0, "wrong": 0, "unsafe": 0}
        problems = []
        for r in readers:
            n = sum(c.reader == r for c in cases)
            budget = sum(c.seconds for c in cases if c.reader == r) + 120
            res = _run_child(["--child-reader", r], budget)
            if "error" in res:
                kind = res["error"].split(":")[0]
                print(f"{r:<12} {n:>6} {'':>5} {n if kind == 'crash' else 0:>5} {n if kind == 'hang' else 0:>5}   "
                      f"{res['error'][:80]}")
                totals["inputs"] += n
                totals[kind] += n
                bad += n
                continue
            st = [o["status"] for o in res["outcomes"]]
            count = {k: st.count(k) for k in ("pass", "crash", "hang", "wrong", "unsafe")}
            for k, v in count.items():
                totals[k] += v
            totals["inputs"] += len(st)
            bad += len(st) - count["pass"]
            problems += [f"{r}:{o['name']}: {o['status']}: {o['detail']}" for o in res["outcomes"] if o["status"] != "pass"]
            slow = max(o["seconds"] for o in res["outcomes"])
            traced = max(o["traced_mb"] for o in res["outcomes"])
            print(f"{r:<12} {len(st):>6} {count['pass']:>5} {count['crash']:>5} {count['hang']:>5} {count['wrong']:>5} "
                  f"{count['unsafe']:>6} {slow:>9.2f} {traced:>9.0f} {res['peak_rss_mb']:>11.0f}")
        print("-" * len(head))
        print(f"{'all':<12} {totals['inputs']:>6} {totals['pass']:>5} {totals['crash']:>5} {totals['hang']:>5} "
              f"{totals['wrong']:>5} {totals['unsafe']:>6}")
        print("\ntraced MB: Python's tracemalloc peak in the cases with a memory bound (e.g. a 50 MB XML attribute,\n"
              "a decompression bomb); peak RSS: the whole process, interpreter and imports (torch, OpenCV) included.")
        for p in problems:
            print("  PROBLEM", p)

    if args.only != "corpus":
        per = args.seconds / len(TARGETS)
        mode = "random mutations" if args.random else "coverage-guided mutations"
        print(f"\nFuzzing: {args.seconds:.0f} s of {mode} ({per:.0f} s per parser), seed {args.seed}\n")
        head = f"{'parser':<10} {'runs':>7} {'accepted':>8} {'hwr error':>9} {'crash':>5} {'hang':>5} " \
               f"{'hwr lines':>9} {'pool':>5} {'peak RSS MB':>11}"
        print(head)
        print("-" * len(head))
        total_runs = total_bad = 0
        for t in TARGETS:
            extra = ["--random"] if args.random else []
            if args.findings:
                extra += ["--findings", args.findings]
            res = _run_child(["--child-fuzz", t, "--seconds", str(per), "--seed", str(args.seed), *extra], per + 120)
            if "error" in res:
                print(f"{t:<10} {res['error'][:100]}")
                bad += 1
                total_bad += 1
                continue
            total_runs += res["runs"]
            total_bad += res["crashes"] + res["hangs"]
            bad += res["crashes"] + res["hangs"]
            lines = res["lines"] if not args.random else "-"
            print(f"{t:<10} {res['runs']:>7} {res['ok']:>8} {res['hwr_errors']:>9} {res['crashes']:>5} {res['hangs']:>5} "
                  f"{lines:>9} {res['pool']:>5} {res['peak_rss_mb']:>11.0f}")
            for f in res["findings"]:
                print("  FINDING", f)
        print("-" * len(head))
        print(f"{'all':<10} {total_runs:>7}   crashes + hangs: {total_bad}")
    load = [["batch_memory.py", "--counts", "50,500"], ["gui_load.py"]]
    if args.load:
        for cmd in load:
            print(f"\nLoad: python benchmarks/{' '.join(cmd)}\n", flush=True)
            env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
            p = subprocess.run([sys.executable, str(REPO / "benchmarks" / cmd[0]), *cmd[1:]], text=True,
                               capture_output=True, env=env)
            print(p.stdout.rstrip())
            if p.returncode != 0:
                print(f"  PROBLEM: exit status {p.returncode}: {p.stderr.strip()[-300:]}")
                bad += 1
            elif cmd[0] == "batch_memory.py":  # the last column: lost / duplicated outputs
                rows = [r for r in p.stdout.splitlines() if r.startswith("| ") and r[2].isdigit()]
                bad += sum(r.rstrip(" |").split("|")[-1].strip() != "0 / 0" for r in rows)
    else:
        print("\nLoad (not run; --load runs them): peak RSS of a 50- and a 500-page batch with lost / duplicated\n"
              "outputs: python benchmarks/batch_memory.py; 10,000 strokes on the canvas:\n"
              "QT_QPA_PLATFORM=offscreen python benchmarks/gui_load.py")
    print(f"\n{'OK' if bad == 0 else 'PROBLEMS'}: {bad} input(s) gave something other than a pass; "
          f"{time.perf_counter() - t0:.0f} s in all")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
