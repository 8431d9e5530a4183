"""Logic of benchmarks/finetune_hooker.py that needs no ../shared data: the page split, the
parsing of ketos train's progress output, and what it reads of an hwr train run."""

import sys
from pathlib import Path

import pytest

from conftest import load_benchmark, typed_page


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("finetune_hooker")


def test_split_sets_aside_every_fifth_page_in_name_order(bench):
    pages = [Path(f"p{i:02d}.xml") for i in range(12)]
    ft, aside = bench.split_hooker(list(reversed(pages)))  # sorted by name, whatever the input order
    assert aside == [Path("p04.xml"), Path("p09.xml")]
    assert ft == [p for p in pages if p not in aside]


def test_split_of_the_first_pages_agrees_with_the_full_split(bench):
    pages = [Path(f"p{i:02d}.xml") for i in range(40)]
    full_ft, full_aside = bench.split_hooker(pages)
    for n in (1, 4, 5, 7, 10, 40):
        ft, aside = bench.split_hooker(pages, pages=n)
        assert sorted(ft + aside) == pages[:n]
        assert set(aside) <= set(full_aside) and set(ft) <= set(full_ft)
    assert bench.split_hooker(pages, pages=4)[1] == []


def test_split_matches_hwr_import_pages_rule(bench):
    from hwr.data.pages import split_pages

    pages = [Path(f"JDH_{i:03d}.xml") for i in range(23)]
    assert bench.split_hooker(pages) == split_pages({"c": pages}, 5)["c"]


KETOS_LOG = """\
Total FLOPs: 1.6 B
stage 0/1 ━━━━━━━━━━━━━━━━━━ 16/16 0:00:08 • 0:00:00 2.00it/s train_loss_step:
                                                              102.575
stage 1/1 ━━━━━━━━━         8/16 0:00:04 • 0:00:04 2.01it/s train_loss_step:
stage 1/1 ━━━━━━━━━━━━━━━━━━ 16/16 0:01:09 • 0:00:00 0.23it/s train_loss_step:
                                                              52.423
"""


def test_parse_ketos_epochs_keeps_finished_epochs(bench):
    eps = bench.parse_ketos_epochs(KETOS_LOG)
    assert eps == [{"batches": 16, "seconds": 8, "it_s": 2.0}, {"batches": 16, "seconds": 69, "it_s": 0.23}]
    assert bench.parse_ketos_epochs("no progress here") == []


@pytest.mark.parametrize("members, ensemble", [(1, False), (2, False), (2, True)])
def test_hwr_train_reports_the_run_with_one_or_several_members(bench, tmp_path, members, ensemble):
    import numpy as np

    from synth import synth_ink
    from hwr.data.lineset import LineSample, write_lineset
    from hwr.imaging.line import normalize_line, to_uint8
    from hwr.ink.render import render_ink
    from hwr.models.checkpoint import read_info
    from hwr.pipeline import resolve_model

    prep = read_info(resolve_model("image_default")).preprocessing
    texts = ["olv zj", "zz ol", "jo lv", "vz oj"]
    lines = [LineSample(to_uint8(normalize_line(render_ink(synth_ink(texts[i % 4], seed=i),
                                                           rng=np.random.default_rng(i)), prep)),
                        texts[i % 4], collection="synth", id=f"s{i}") for i in range(8)]
    data = tmp_path / "lines.h5"
    write_lineset(data, lines, prep, split="train")
    out = tmp_path / "ft.safetensors"
    state = bench.hwr_train(data, data, out, 1, 0, ["--epochs", "1", "--batch-size", "4",
                                                               "--no-lm-adapt"], members, ensemble)
    assert state["epoch"] == 1 and len(state["history"]) == 1 and state["wall_seconds"] > 0
    assert state["train_seconds"] >= state["history"][0]["seconds"] > 0
    one = 8 / state["history"][0]["seconds"]  # the first member's lines/s
    # lines/s of all members together
    assert state["lines_per_s"] == pytest.approx(one) if members == 1 else state["lines_per_s"] > one
    tr = read_info(out).training
    assert len(tr.get("members", [None])) == members
    assert tr.get("members_combined") == ("ensemble" if ensemble else "average" if members > 1 else None)


def test_members_lines_per_s_add_up_side_by_side_but_not_one_after_another(bench):
    assert bench.combined_lines_per_s([10.0, 12.0], one_after_another=False) == pytest.approx(22.0)
    assert bench.combined_lines_per_s([500.0, 540.0], one_after_another=True) == pytest.approx(520.0)
    assert bench.combined_lines_per_s([], one_after_another=True) == 0.0
    assert bench.combined_seconds([100.0, 110.0], one_after_another=False) == 110.0
    assert bench.combined_seconds([100.0, 110.0], one_after_another=True) == 210.0
    assert bench.combined_seconds([], one_after_another=False) == 0.0


def test_cer_reads_on_the_device_given(bench, monkeypatch, tmp_path):
    import hwr.evaluation

    seen = {}

    def fake(model, datasets, device="cpu", **kw):
        seen["device"] = device

        class R:
            lines, cer = 3, 0.25

        class E:
            rates = R

        return E

    monkeypatch.setattr(hwr.evaluation, "evaluate_image_model", fake)
    lines, rate, secs = bench.cer("m.safetensors", tmp_path / "d.h5", "greedy", "cuda")
    assert (lines, rate, seen["device"]) == (3, 0.25, "cuda") and secs >= 0
    bench.cer("m.safetensors", tmp_path / "d.h5", None)
    assert seen["device"] == "cpu"


def test_import_pages_cuts_the_fine_tuning_lines_by_several_bands(bench, tmp_path, monkeypatch):
    from hwr.data.lineset import LineSet
    from hwr.data.pages import TRAIN_BANDS

    monkeypatch.setattr(bench, "CACHE", tmp_path / "cache")
    pages = [typed_page(tmp_path, f"p{i}", above=40, below=12) for i in range(5)]
    ft, aside = bench.split_hooker(pages)
    one = bench.import_pages(ft, aside, "-band2", 1, "band")
    several = bench.import_pages(ft, aside, "-band2", 1, "band", variants=True)
    assert [p.name for p in one] == ["hooker-finetune-band2.h5", "hooker-setaside-band2.h5"]
    assert [p.name for p in several] == ["hooker-finetune-band2v.h5", "hooker-setaside-band2v.h5"]
    assert len(LineSet(one[0])) == 4 * 3 and len(LineSet(several[0])) == len(TRAIN_BANDS) * 4 * 3
    assert LineSet(one[1]).ids == LineSet(several[1]).ids  # the set-aside lines are cut once either way


def test_line_folds_deal_every_page_into_every_fold(bench):
    ids = [f"c/p{p}/l{i}" for p in range(4) for i in range(7) for _ in range(3)]  # three cuts of each line
    folds = bench.line_folds(ids, 2)
    lines = set(ids)
    assert sum(len(f) for f in folds) == len(lines) and set().union(*folds) == lines  # each line in one fold
    for p in range(4):
        sizes = sorted(len([i for i in f if i.split("/")[1] == f"p{p}"]) for f in folds)
        assert sizes == [3, 4]  # every page in both folds, its 7 lines split 3 / 4
    assert abs(len(folds[0]) - len(folds[1])) <= 1  # the fuller fold alternates from page to page
    assert bench.line_folds(list(reversed(ids)), 2) == folds  # seeded, whatever the order
    assert bench.line_folds(ids, 2, seed=1) != folds
    assert [len(f) for f in bench.line_folds(ids, 3)] == [10, 9, 9]


def test_line_split_run_reads_each_set_aside_line_once(bench, tmp_path, monkeypatch, capsys):
    """With a 'fine-tuning' that is image_default itself, the two folds together read the
    set-aside lines exactly as image_default does; each fold trains on the other's lines."""
    import shutil
    import types

    from hwr.data.lineset import LineSet
    from hwr.pipeline import resolve_model

    monkeypatch.setattr(bench, "CACHE", tmp_path / "cache")
    pages = tmp_path / "joseph-hooker-htr"
    pages.mkdir()
    ft, aside = bench.split_hooker([typed_page(pages, f"p{i}", above=40, below=12) for i in range(10)])
    train_h5, aside_h5 = bench.import_pages(ft, aside, "-band2", 1, "band", variants=True)
    cuts = bench.import_pages(aside, [], "-band2", 1, "band", names=("cuts", "none"), variants=True)[0]
    assert len(LineSet(cuts)) == 3 * len(LineSet(aside_h5)) == 18
    monkeypatch.setitem(sys.modules, "band_views", types.SimpleNamespace(held_back_cuts=lambda c: cuts))
    base = resolve_model("image_default", "image")
    calls = []

    def fake_train(datas, val, out, threads, workers, extra, device=None):
        calls.append((datas, val, extra))
        for f in base.parent.glob(base.stem + ".*"):
            shutil.copy(f, out.parent / (out.stem + f.name[len(base.stem):]))
        if not (out.parent / "lm_en.arpa.gz").exists():  # the LM its decoder file names
            (out.parent / "lm_en.arpa.gz").symlink_to(base.parent / "lm_en.arpa.gz")
        return {"epoch": 1, "train_seconds": 6.0}

    monkeypatch.setattr(bench, "hwr_train", fake_train)
    args = types.SimpleNamespace(out_dir=tmp_path / "out", minutes=1.0, augment="page", dropout=0.5,
                                 no_lm_adapt=True, threads=1, workers=None, device=None)
    args.out_dir.mkdir()
    bench.line_split_run(args, train_h5, aside_h5, base, "cpu")
    assert len(calls) == 2
    held = [set(LineSet(val).ids) for _, val, _ in calls]
    assert held[0] | held[1] == set(LineSet(aside_h5).ids) and not held[0] & held[1]
    for (datas, _, extra), mine, other in zip(calls, held, reversed(held)):
        assert datas[0] == train_h5 and set(LineSet(datas[1]).ids) == other and len(LineSet(datas[1])) == 3 * len(other)
        assert "--no-lm-adapt" in extra and extra[extra.index("--dropout") + 1] == "0.5"
    rows = {r.split("|")[1].strip(): [c.strip(" *") for c in r.split("|")[2:6]]
            for r in capsys.readouterr().out.splitlines() if r.startswith("| ") and "---" not in r}
    assert rows["both folds"][0] == "6" and rows["both folds"] == rows["image_default (embedded)"]


def test_band_views_reads_each_line_once_and_per_page(bench, tmp_path, monkeypatch):
    from hwr.data.lineset import LineSet

    views = load_benchmark("band_views")
    monkeypatch.setattr(bench, "CACHE", tmp_path / "cache")
    pages = [typed_page(tmp_path, f"p{i}", above=40, below=12) for i in range(2)]
    cuts = bench.import_pages(pages, [], "-band2", 1, "band", names=("cuts", "none"), variants=True)[0]
    r = views.read_views("image_default", cuts, "greedy")
    assert r["lines"] == len(LineSet(cuts)) // 3 == 6
    assert {k for k in r if k.startswith("page ")} == {"page p0", "page p1"}
    assert r["together"] == pytest.approx((r["page p0"] + r["page p1"]) / 2)  # pages of equal lines
