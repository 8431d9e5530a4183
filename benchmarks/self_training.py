"""Training on its own readings: does a fine-tuning gain from the unlabelled lines of the pages
it is to read (self-training)?

A TEACHER (an image model, or an ensemble of them) reads every line of the Hooker set-aside
pages, each cut by the three bands and read as one (``Decoder.decode_views``, as
``band_views.py`` and ``hwr recognize --bands 3`` read): its readings, never the ground
truth, become those lines' labels (all three cuts of a line get the same), keeping the lines
it reads with a confidence of at least ``--min-confidence``.  Then the recipe of
``finetune_hooker.py`` (``hwr train --kind image --base image_default --augment page
--dropout 0.5 --anneal --no-lm-adapt``, ``--epochs`` epochs rather than minutes, so that the
run does not depend on the machine's load) fine-tunes image_default on the 32 fine-tuning
pages' lines (three cuts each) and these labelled lines, validated on the set-aside lines
as always.  ``--control`` also fine-tunes on the fine-tuning pages alone, side by side (one
core each).  The script prints the CER on the set-aside lines of the teacher, the control
and the student, each read by the reading band alone and by the three bands as one, with
image_default's decoder (beam search + LM), and the share of the teacher's labels that is
wrong (the ground truth used only to measure).

    python benchmarks/self_training.py TEACHER [--epochs 7] [--seed 1] [--threads 1]
        [--min-confidence 0] [--control]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _data import CACHE  # noqa: E402
from band_views import held_back_cuts, read_views  # noqa: E402
from finetune_hooker import HOOKER, hwr_train, import_pages, split_hooker  # noqa: E402


def pseudo_labels(teacher: str, cuts: Path, out: Path, min_confidence: float = 0.0) -> dict:
    """Write ``out``: the cuts of ``cuts`` (consecutive cuts of a line share its id) labelled
    with ``teacher``'s reading of the line, its cuts read as one; lines read with a confidence
    below ``min_confidence``, or read as nothing, are left out.  Returns ``kept`` and ``lines``
    (counts of lines), ``label_cer`` (the kept labels against the ground truth, which is read
    only for that figure) and ``teacher``: :func:`band_views.read_views` of the teacher."""
    from hwr.data.lineset import LineSample, LineSet, write_lineset
    from hwr.training.metrics import error_rates

    read = read_views(teacher, cuts, None)
    kept = {i: (ref, r.text) for i, (ref, r) in read["readings"].items()
            if r.text.strip() and r.confidence >= min_confidence}
    src = LineSet(cuts)
    samples = (LineSample(s.image, kept[s.id][1], s.writer, s.source, s.collection, s.id)
               for s in (src[i] for i in range(len(src))) if s.id in kept)
    write_lineset(out, samples, src.preprocessing, split="train")
    return {"kept": len(kept), "lines": len(read["readings"]), "label_cer": error_rates(list(kept.values())).cer,
            "teacher": read}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("teacher", help="the image model (or ensemble) whose readings label the set-aside lines")
    ap.add_argument("--epochs", type=int, default=7, help="epochs of each fine-tuning (default 7: about 25 "
                                                          "minutes on one core of this machine)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of each fine-tuning")
    ap.add_argument("--min-confidence", type=float, default=0.0,
                    help="leave out the lines the teacher reads with a lower confidence")
    ap.add_argument("--control", action="store_true",
                    help="also fine-tune without the teacher's lines, side by side")
    ap.add_argument("--out-dir", type=Path, default=CACHE / "self-training", help="models and runs go here")
    args = ap.parse_args()
    if not HOOKER.is_dir():
        sys.exit(f"{HOOKER} not found: set HWR_SHARED to the folder holding data/")
    from hwr.data.pages import BAND_CUT_VERSION

    ft_pages, aside_pages = split_hooker(list(HOOKER.glob("*.xml")))
    ft, aside = import_pages(ft_pages, aside_pages, f"-band{BAND_CUT_VERSION}", args.threads, "band", variants=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{Path(args.teacher).stem}-c{args.min_confidence:g}-s{args.seed}-e{args.epochs}"
    pseudo = args.out_dir / f"labels-{tag}.h5"
    cuts = held_back_cuts(HOOKER)
    got = pseudo_labels(args.teacher, cuts, pseudo, args.min_confidence)
    print(f"the teacher's labels: {got['kept']} of the {got['lines']} set-aside lines (confidence >= "
          f"{args.min_confidence:g}), {100 * got['label_cer']:.2f} % of their characters wrong", flush=True)
    if not got["kept"]:
        sys.exit("no line left to learn from: lower --min-confidence")
    recipe = ["--epochs", str(args.epochs), "--patience", str(args.epochs + 1), "--anneal", "--augment", "page",
              "--dropout", "0.5", "--no-lm-adapt", "--seed", str(args.seed)]
    arms = {"student": ([ft, pseudo], args.out_dir / f"student-{tag}.safetensors")}
    if args.control:
        arms["control"] = ([ft], args.out_dir / f"control-s{args.seed}-e{args.epochs}.safetensors")
    with ThreadPoolExecutor(len(arms)) as pool:
        runs = {k: pool.submit(hwr_train, datas, aside, out, args.threads, None, recipe)
                for k, (datas, out) in arms.items()}
        states = {k: f.result() for k, f in runs.items()}
    rows = [("teacher", Path(args.teacher).name, "")]
    rows += [(k, arms[k][1].name, f"{len(states[k]['history'])} epochs, {states[k]['train_seconds'] / 60:.0f} min")
             for k in ("control", "student") if k in arms]
    print("| arm | model | CER % reading band | CER % three bands as one | training |")
    print("| --- | --- | --- | --- | --- |")
    for arm, name, train in rows:
        r = got["teacher"] if arm == "teacher" else read_views(str(arms[arm][1]), cuts, None)
        print(f"| {arm} | {name} | {100 * r['band 1']:.2f} | **{100 * r['together']:.2f}** | {train} |", flush=True)


if __name__ == "__main__":
    main()
