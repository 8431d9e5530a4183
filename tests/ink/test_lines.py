"""Several lines of writing in one ink: strokes grouped into lines, each read on its own."""

import numpy as np

from synth import synth_ink
from hwr.ink.lines import line_inks, split_lines
from hwr.pipeline import join_lines
from hwr.types import Alternative, CharSpan, Ink, LineResult, Stroke


def _shift(ink: Ink, dy: float, dx: float = 0.0) -> list[Stroke]:
    return [Stroke(x=s.x + dx, y=s.y + dy, t=s.t) for s in ink.strokes]


def test_one_line_stays_one():
    ink = synth_ink("olv zj lo vz", jitter=0.05, seed=1)
    assert split_lines(ink) == [list(range(len(ink.strokes)))]
    assert split_lines(Ink([])) == []
    assert split_lines(Ink([Stroke(x=np.array([1.0]), y=np.array([2.0]))])) == [[0]]


def test_two_and_three_lines_top_to_bottom_whatever_the_writing_order():
    a, b, c = synth_ink("olv zj", seed=1), synth_ink("zz lo jv", seed=2), synth_ink("vo", seed=3)
    # written bottom line first, then the top one, then the middle
    strokes = _shift(b, 260) + _shift(a, 0) + _shift(c, 130, 40)
    got = split_lines(Ink(strokes))
    nb, na = len(b.strokes), len(a.strokes)
    assert got == [list(range(nb, nb + na)), list(range(nb + na, len(strokes))), list(range(nb))]
    subs = line_inks(Ink(strokes), got)
    assert [len(s.strokes) for s in subs] == [na, len(c.strokes), nb]


def test_a_dot_above_its_line_stays_with_it():
    a, b = synth_ink("olv zj", seed=1), synth_ink("zz lo", seed=2)
    dot = Stroke(x=np.array([30.0, 31.0]), y=np.array([-120.0, -119.0]))  # well above line 1 (y ~ -50..0)
    strokes = _shift(a, 0) + [dot] + _shift(b, 220)
    got = split_lines(Ink(strokes))
    assert len(got) == 2 and len(a.strokes) in got[0]


def test_join_lines():
    r1 = LineResult("ab", 0.9, [CharSpan("a", 0, 0, 0.9), CharSpan("b", 2, 2, 0.8)],
                    [Alternative("ab", 0.6), Alternative("ob", 0.3)])
    r2 = LineResult("c", 0.5, [CharSpan("c", 1, 1, 0.5)], [Alternative("c", 0.9), Alternative("e", 0.1)])
    j = join_lines([r1, r2])
    assert j.text == "ab\nc" and "".join(c.char for c in j.chars) == "ab\nc"
    assert abs(j.confidence - (2 * 0.9 + 0.5) / 3) < 1e-9
    assert [a.text for a in j.alternatives] == ["ab\nc", "ob\nc", "ab\ne"]
    assert j.alternatives[1].score > j.alternatives[2].score
    assert join_lines([r1]) is r1 and join_lines([]).text == ""


def test_recognize_gives_one_result_per_line(tmp_path):
    import json

    from click.testing import CliRunner

    from hwr.cli.main import cli
    from hwr.ink.io import write_inkml

    a, b = synth_ink("olv zj", seed=1), synth_ink("zz lo jv", seed=2)
    write_inkml(Ink(_shift(a, 0) + _shift(b, 200)), tmp_path / "two.inkml")
    write_inkml(a, tmp_path / "one.inkml")
    r = CliRunner().invoke(cli, ["recognize", "--format", "jsonl", "--decoder", "greedy",
                                 str(tmp_path / "two.inkml"), str(tmp_path / "one.inkml")])
    assert r.exit_code == 0, r.output
    two, one = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(two["lines"]) == 2 and len(one["lines"]) == 1
    assert two["text"] == "\n".join(ln["text"] for ln in two["lines"])
