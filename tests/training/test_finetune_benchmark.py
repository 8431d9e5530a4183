"""Logic of benchmarks/finetune_hooker.py that needs no ../shared data: the page split and
the parsing of ketos train's progress output."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(BENCH))  # for its `from _data import ...`
    spec = importlib.util.spec_from_file_location("bench_finetune_hooker", BENCH / "finetune_hooker.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    yield mod
    mp.undo()


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
