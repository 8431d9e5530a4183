"""Reading a line three times: does each held-back line cut by three bands, read as one
(``Decoder.decode_views``, as ``hwr recognize --bands 3`` reads found lines), beat its reading
band alone?

The held-back pages of ../shared/data/pages (every 5th page of each collection, by name: the
set-aside pages of ``finetune_hooker.py`` for the Hooker letters) are cut by the three bands of
``hwr.segmentation.crops.BANDS`` around their ground-truth baselines (``hwr import pages
--holdout-every 0 --band-variants`` on a folder of links to them: the reading band, 0.6 / 0.25
line spacings above / below the baseline, then 0.5 / 0.2 and 0.75 / 0.35).  Each MODEL reads
every cut once; the script prints, per collection, the CER of each band read alone and of the
three read as one, with the model's decoder (or ``--decoder greedy``); ``--per-page``: also the
three read as one, page by page.

    python benchmarks/band_views.py [MODEL ...] [--decoder greedy|beam] [--collection NAME] [--per-page]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _data import CACHE, SHARED  # noqa: E402
from finetune_hooker import _env, hwr_cmd, link_pages  # noqa: E402


def held_back_cuts(collection: Path) -> Path:
    """The held-back pages' lines of ``collection``, each cut by the three bands (cached)."""
    from hwr.data.pages import BAND_CUT_VERSION, find_pages, split_pages

    out = CACHE / "h5" / f"{collection.name}-heldback-bands{BAND_CUT_VERSION}.h5"
    if out.exists():
        return out
    _, val = split_pages(find_pages(collection.parent))[collection.name]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        folder = link_pages(val, Path(d) / collection.name)
        subprocess.run(hwr_cmd("import", "pages", str(folder), "-o", str(out), "--holdout-every", "0", "--cut",
                               "band", "--band-variants"), check=True, env=_env(1))
    return out


def read_views(model: str, data: Path, decoder: str | None) -> dict:
    """CER of ``model`` on the lines of ``data`` (consecutive cuts of one line share its id,
    ``COLLECTION/PAGE/LINE``): each band alone (``band 1`` ...), all of a line's cuts read as
    one (``together``), and so per page (``page NAME``); ``readings``: per line id, its ground
    truth and the :class:`~hwr.types.LineResult` of its cuts read as one."""
    import itertools

    from hwr.data.lineset import LineSet
    from hwr.evaluation import image_line_posteriors, views_by_id
    from hwr.pipeline import Recognizer
    from hwr.training.metrics import ErrorRates

    rec = Recognizer(model, kind="image", decoder=decoder)
    rates = collections.defaultdict(ErrorRates)
    readings = {}
    line_ids = [k for k, _ in itertools.groupby(LineSet(data).ids)]  # every held-back cut has its line's id
    for line_id, (_, ref, views) in zip(line_ids, views_by_id(image_line_posteriors(rec, data), data), strict=True):
        for k, lp in enumerate(views):
            rates[f"band {k + 1}"].add(ref, rec.decoder.decode(lp).text)
        res = rec.decoder.decode_views(views)
        readings[line_id] = (ref, res)
        rates["together"].add(ref, res.text)
        rates[f"page {line_id.split('/')[1]}"].add(ref, res.text)
    return {k: r.cer for k, r in rates.items()} | {"lines": rates["together"].lines, "decoder": rec.decoder.describe(),
                                                   "readings": readings}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", default=["image_default"], help="image models (default: image_default)")
    ap.add_argument("--decoder", choices=["greedy", "beam"], help="default: each model's own")
    ap.add_argument("--collection", action="append", help="only these collections of ../shared/data/pages")
    ap.add_argument("--per-page", action="store_true", help="also the three read as one, page by page")
    args = ap.parse_args()
    pages = SHARED / "pages"
    if not pages.is_dir():
        sys.exit(f"{pages} not found: set HWR_SHARED to the folder holding data/")
    colls = [p for p in sorted(pages.iterdir()) if p.is_dir() and (not args.collection or p.name in args.collection)]
    print("| model | collection | lines | decoder | CER % band 1 (reading) / 2 (narrower) / 3 (wider) | "
          "the three read as one | s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for coll in colls:
        data = held_back_cuts(coll)
        for m in args.models:
            t = time.perf_counter()
            r = read_views(m, data, args.decoder)
            bands = " / ".join(f"{100 * r[f'band {k}']:.2f}" for k in (1, 2, 3) if f"band {k}" in r)
            print(f"| {Path(m).name} | {coll.name} | {r['lines']} | {r['decoder']} | {bands} | "
                  f"**{100 * r['together']:.2f}** | {time.perf_counter() - t:.0f} |", flush=True)
            if args.per_page:
                print("  three as one, per page: " + ", ".join(
                    f"{k[5:]} {100 * v:.1f} %" for k, v in sorted(r.items()) if k.startswith("page ")), flush=True)


if __name__ == "__main__":
    main()
