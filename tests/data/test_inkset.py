"""HDF5 ink datasets and the importers that fill them."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest

from hwr.data.importers import (
    detokenize_iam,
    iam_ondb_forms,
    iter_iam_ondb,
    iter_imadocsen,
    iter_ink_folder,
    read_iam_csr,
)
from hwr.data.inkset import FORMAT, InkSet, write_inkset
from hwr.errors import InputError
from hwr.ink.io import write_inkml, write_json
from hwr.types import Ink, Stroke

TEXTS = ["naïve café", "Grüße aus Köln — „so“", "日本語のテキスト", "emoji 🙂 ok", "", "plain ascii"]


def make_inks(seed: int = 0) -> list[tuple[str, Ink]]:
    rng = np.random.default_rng(seed)
    out = []
    for j, text in enumerate(TEXTS):
        strokes = []
        for k in range(1 + j % 3):
            n = int(rng.integers(1, 40))
            # float32-exact values: the dataset stores float32
            x = rng.normal(500, 200, n).astype(np.float32)
            y = rng.normal(300, 50, n).astype(np.float32)
            t = None if j == 2 else (np.arange(n) * 0.01 + k).astype(np.float32)
            strokes.append(Stroke(x, y, t, pressure=np.full(n, 0.5)))
        out.append((f"form-{j:02d}/line é{j}", Ink(strokes=strokes, text=text or None, writer=f"wrïter{j % 2}",
                                                   source="synthetic")))
    return out


# --------------------------------------------------------------------------- round trip


def test_inkset_round_trip(tmp_path):
    inks = make_inks()
    path = tmp_path / "train.h5"
    assert write_inkset(path, inks, split="train") == len(inks)
    ds = InkSet(path)
    assert len(ds) == len(inks)
    assert ds.split == "train"
    assert ds.ids == [sid for sid, _ in inks]
    assert ds.texts == [ink.text or "" for _, ink in inks]
    assert ds.writers == [ink.writer for _, ink in inks]
    assert ds.sources == ["synthetic"] * len(inks)
    assert list(ds.num_points) == [ink.num_points for _, ink in inks]
    for j, (sid, ink) in enumerate(inks):
        back = ds[j]
        assert back.meta["id"] == sid
        assert back.text == (ink.text or "") and back.writer == ink.writer and back.source == "synthetic"
        assert len(back.strokes) == len(ink.strokes)
        for a, b in zip(ink.strokes, back.strokes):
            np.testing.assert_array_equal(b.x, a.x)
            np.testing.assert_array_equal(b.y, a.y)
            if a.t is None:
                assert b.t is None
            else:
                np.testing.assert_array_equal(b.t, a.t)
            assert b.pressure is None  # the layout has no pressure
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == FORMAT and f.attrs["version"] == 1
        assert f["points"].shape == (sum(i.num_points for _, i in inks), 3)
    # no temporary file left next to it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.h5"]


def test_inkset_load_all_and_pickle(tmp_path):
    inks = make_inks(1)
    write_inkset(tmp_path / "a.h5", inks)
    ds = InkSet(tmp_path / "a.h5")
    lazy = [ds[j] for j in range(len(ds))]
    ds.load_all()
    cached = [ds[j] for j in range(len(ds))]
    clone = pickle.loads(pickle.dumps(ds))  # as sent to DataLoader workers: reopens the file
    assert clone._file is None and clone._points_cache is None
    again = [clone[j] for j in range(len(clone))]
    for a, b, c in zip(lazy, cached, again):
        assert a.strokes == b.strokes == c.strokes
        assert a.text == b.text == c.text


def test_inkset_empty_and_strokeless(tmp_path):
    assert write_inkset(tmp_path / "empty.h5", []) == 0
    assert len(InkSet(tmp_path / "empty.h5")) == 0
    write_inkset(tmp_path / "one.h5", [("blank", Ink(strokes=[], text="nothing")), make_inks()[0]])
    ds = InkSet(tmp_path / "one.h5")
    assert len(ds) == 2 and ds[0].strokes == [] and ds[0].text == "nothing"
    assert ds[1].num_points == make_inks()[0][1].num_points


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.h5"
    write_inkset(path, make_inks()[:2])
    before = path.read_bytes()

    def broken():
        yield make_inks()[3]
        raise RuntimeError("importer failed")

    with pytest.raises(RuntimeError):
        write_inkset(path, broken())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.h5"]


# --------------------------------------------------------------------------- damaged and foreign files


def _assert_input_error(path: Path, read_all: bool = False) -> InputError:
    with pytest.raises(InputError) as info:
        ds = InkSet(path)
        if read_all:
            for j in range(len(ds)):
                ds[j]
            ds.load_all()
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize("keep", [0.97, 0.5, 0.05, 0.001])
def test_truncated_inkset(tmp_path, keep):
    good = tmp_path / "good.h5"
    write_inkset(good, make_inks() * 20)
    data = good.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: int(len(data) * keep)])
    _assert_input_error(cut, read_all=True)


def test_damaged_points_chunk(tmp_path):
    rng = np.random.default_rng(5)
    inks = [(f"s{i}", Ink([Stroke(rng.normal(size=4000).astype(np.float32), rng.normal(size=4000).astype(np.float32))]))
            for i in range(10)]
    good = tmp_path / "good.h5"
    write_inkset(good, inks)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4096] = bytes(4096)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(bytes(data))
    _assert_input_error(bad, read_all=True)


@pytest.mark.parametrize("content", [os.urandom(4096), b"", b"\x89HDF\r\n\x1a\n" + bytes(100), b"not hdf5 at all\n" * 50],
                         ids=["random", "empty", "bad-superblock", "text"])
def test_not_hdf5(tmp_path, content):
    p = tmp_path / "junk.h5"
    p.write_bytes(content)
    _assert_input_error(p)


def test_missing_and_directory(tmp_path):
    _assert_input_error(tmp_path / "missing.h5")
    (tmp_path / "dir.h5").mkdir()
    _assert_input_error(tmp_path / "dir.h5")


def _valid_arrays() -> dict:
    return {
        "points": np.zeros((10, 3), np.float32),
        "stroke_offsets": np.array([0, 4, 10], np.int64),
        "sample_offsets": np.array([0, 1, 2], np.int64),
        "text": ["a", "b"], "writer": ["w", "w"], "source": ["s", "s"], "id": ["1", "2"],
    }


def _write_h5(path: Path, arrays: dict, attrs: dict) -> None:
    with h5py.File(path, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for k, v in arrays.items():
            if isinstance(v, str):  # "group"
                f.create_group(k)
            elif isinstance(v, list):
                f.create_dataset(k, data=np.asarray(v, dtype=object), dtype=h5py.string_dtype())
            else:
                f.create_dataset(k, data=v)


WRONG_SCHEMAS = {
    "unrelated": ({"foo": np.arange(3)}, {}),
    "no-format": (_valid_arrays(), {"version": 1}),
    "other-format": (_valid_arrays(), {"format": "something-else", "version": 1}),
    "newer-version": (_valid_arrays(), {"format": FORMAT, "version": 2}),
    "version-not-a-number": (_valid_arrays(), {"format": FORMAT, "version": "one"}),
    "missing-text": ({k: v for k, v in _valid_arrays().items() if k != "text"}, {"format": FORMAT, "version": 1}),
    "missing-points": ({k: v for k, v in _valid_arrays().items() if k != "points"}, {"format": FORMAT, "version": 1}),
    "points-2-columns": ({**_valid_arrays(), "points": np.zeros((10, 2), np.float32)}, {"format": FORMAT, "version": 1}),
    "points-1d": ({**_valid_arrays(), "points": np.zeros(30, np.float32)}, {"format": FORMAT, "version": 1}),
    "points-strings": ({**_valid_arrays(), "points": np.array([[b"a", b"b", b"c"]] * 10)}, {"format": FORMAT, "version": 1}),
    "offsets-float": ({**_valid_arrays(), "stroke_offsets": np.array([0.0, 4.0, 10.0])}, {"format": FORMAT, "version": 1}),
    "offsets-group": ({**_valid_arrays(), "stroke_offsets": "group"}, {"format": FORMAT, "version": 1}),
    "offsets-decreasing": ({**_valid_arrays(), "stroke_offsets": np.array([0, 7, 4, 10]),
                            "sample_offsets": np.array([0, 1, 3])}, {"format": FORMAT, "version": 1}),
    "offsets-not-from-0": ({**_valid_arrays(), "stroke_offsets": np.array([2, 4, 10])}, {"format": FORMAT, "version": 1}),
    "offsets-past-points": ({**_valid_arrays(), "stroke_offsets": np.array([0, 4, 99])}, {"format": FORMAT, "version": 1}),
    "offsets-empty": ({**_valid_arrays(), "sample_offsets": np.zeros(0, np.int64)}, {"format": FORMAT, "version": 1}),
    "too-few-texts": ({**_valid_arrays(), "text": ["a"]}, {"format": FORMAT, "version": 1}),
    "texts-numbers": ({**_valid_arrays(), "text": np.array([1, 2])}, {"format": FORMAT, "version": 1}),
    "texts-2d": ({**_valid_arrays(), "text": np.array([[b"a"], [b"b"]])}, {"format": FORMAT, "version": 1}),
}


@pytest.mark.parametrize("case", WRONG_SCHEMAS)
def test_wrong_schema(tmp_path, case):
    arrays, attrs = WRONG_SCHEMAS[case]
    p = tmp_path / f"{case}.h5"
    _write_h5(p, arrays, attrs)
    _assert_input_error(p, read_all=True)


def test_hand_made_valid_schema_reads(tmp_path):
    # the checks above refuse what is wrong, not what is right
    p = tmp_path / "ok.h5"
    _write_h5(p, _valid_arrays(), {"format": FORMAT, "version": 1})
    ds = InkSet(p)
    assert len(ds) == 2 and ds.texts == ["a", "b"] and ds[1].num_points == 6


# --------------------------------------------------------------------------- IAM-OnDB importer


def _iam_xml(seed: int, n_strokes: int = 2) -> str:
    rng = np.random.default_rng(seed)
    strokes = []
    t = 1000.0 + seed
    for _ in range(n_strokes):
        pts = []
        for x, y in zip(np.cumsum(rng.integers(5, 20, 15)) + 1000, 1000 + rng.integers(-30, 30, 15)):
            pts.append(f'<Point x="{x}" y="{y}" time="{t:.2f}"/>')
            t += 0.01
        strokes.append(f'<Stroke colour="black">{"".join(pts)}</Stroke>')
        t += 0.2
    return ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<WhiteboardCaptureSession><WhiteboardDescription>'
            '<SensorLocation corner="top_left"/></WhiteboardDescription>'
            f'<StrokeSet>{"".join(strokes)}</StrokeSet></WhiteboardCaptureSession>\n')


def make_iam_tree(root: Path, forms: dict[str, tuple[list[str], int]], broken: tuple[str, ...] = ()) -> None:
    """A tiny IAM-OnDB layout: ``forms`` maps a form id to (CSR lines, number of stroke files)."""
    for k, (form, (lines, nfiles)) in enumerate(forms.items()):
        asc = root / "ascii" / form[:3] / form[:7]
        asc.mkdir(parents=True, exist_ok=True)
        ocr = [ln.replace(" .", ".").replace(" ,", ",") for ln in lines]
        (asc / f"{form}.txt").write_bytes(
            ("SEGMENTATION: ok\n\nOCR:\n\n" + "\n".join(ocr) + "\n\nCSR:\n\n" + "\n".join(lines) + "\n\n").encode("latin-1"))
        strokes = root / "lineStrokes" / form[:3] / form[:7]
        strokes.mkdir(parents=True, exist_ok=True)
        for n in range(1, nfiles + 1):
            xml = _iam_xml(10 * k + n)
            if f"{form}-{n:02d}" in broken:
                xml = xml[: len(xml) // 2]
            (strokes / f"{form}-{n:02d}.xml").write_text(xml, encoding="latin-1")


@pytest.fixture()
def iam_root(tmp_path) -> Path:
    root = tmp_path / "IAM-OnDB"
    make_iam_tree(root, {
        "a01-000u": (["A MOVE to stop Mr . Gaitskell from", "nominating any more Labour life Peers , he"], 2),
        "a01-001w": (["one", "two", "three"], 2),          # 3 transcribed lines, 2 stroke files
        "a02-010": (["Café ( au lait ) ?"], 1),
        "b03-123z": (["first line", "second line"], 2),    # the second stroke file is cut short
    }, broken=("b03-123z-02",))
    # a transcription without any strokes: not a form to import
    lonely = root / "ascii" / "c04" / "c04-444"
    lonely.mkdir(parents=True)
    (lonely / "c04-444a.txt").write_text("CSR:\n\nno strokes here\n")
    return root


def test_iam_ondb_forms(iam_root):
    assert iam_ondb_forms(iam_root) == ["a01-000u", "a01-001w", "a02-010", "b03-123z"]


def test_iter_iam_ondb(iam_root, tmp_path):
    errors: list[str] = []
    got = list(iter_iam_ondb(iam_root, iam_ondb_forms(iam_root), on_error=errors.append))
    ids = [sid for sid, _ in got]
    assert ids == ["a01-000u-01", "a01-000u-02", "a02-010-01", "b03-123z-01"]
    inks = dict(got)
    assert inks["a01-000u-01"].text == "A MOVE to stop Mr. Gaitskell from"
    assert inks["a01-000u-01"].meta["raw_text"] == "A MOVE to stop Mr . Gaitskell from"
    assert inks["a01-000u-02"].text == "nominating any more Labour life Peers, he"
    assert inks["a02-010-01"].text == "Café (au lait)?"
    assert all(ink.writer == sid[:-3] and ink.source == "iam-ondb" for sid, ink in got)
    first = inks["a01-000u-01"]
    assert len(first.strokes) == 2 and first.num_points == 30 and first.strokes[0].t[0] == 0.0
    # the form whose stroke files and transcribed lines differ in number is skipped, with a message
    mismatch = [e for e in errors if "a01-001w" in e]
    assert len(mismatch) == 1 and "2 stroke files but 3 transcribed lines" in mismatch[0] and "skipped" in mismatch[0]
    # the damaged stroke file is reported by name and the rest of its form still comes through
    assert any("b03-123z-02.xml" in e for e in errors)
    assert len(errors) == 2

    # and the lines go into a dataset
    n = write_inkset(tmp_path / "iam.h5", got, split="train")
    ds = InkSet(tmp_path / "iam.h5")
    assert n == len(ds) == 4
    assert ds.texts[3] == "first line" and ds.ids[2] == "a02-010-01" and ds.writers[0] == "a01-000u"
    assert ds[0].strokes[0] == Stroke(first.strokes[0].x, first.strokes[0].y,
                                      first.strokes[0].t.astype(np.float32))


def test_iter_iam_ondb_without_error_callback_raises(iam_root):
    with pytest.raises(InputError, match="a01-001w.*2 stroke files but 3"):
        list(iter_iam_ondb(iam_root, ["a01-001w"]))
    with pytest.raises(InputError, match="b03-123z-02.xml"):
        list(iter_iam_ondb(iam_root, ["b03-123z"]))
    with pytest.raises(InputError, match="z99-999x"):
        list(iter_iam_ondb(iam_root, ["z99-999x"]))
    errors: list[str] = []
    assert list(iter_iam_ondb(iam_root, ["z99-999x"], on_error=errors.append)) == []
    assert len(errors) == 1 and "no ascii file" in errors[0]


def test_iter_iam_ondb_raw_text(iam_root):
    got = dict(iter_iam_ondb(iam_root, ["a01-000u"], detokenize=False))
    assert got["a01-000u-01"].text == "A MOVE to stop Mr . Gaitskell from"


def test_read_iam_csr(tmp_path):
    p = tmp_path / "f.txt"
    p.write_bytes("OCR:\n\nignored\n\nCSR:\n\n\nline one\nline tw\xe9\n\nafter the gap\n".encode("latin-1"))
    assert read_iam_csr(p) == ["line one", "line tw\xe9"]
    p.write_text("OCR:\n\nonly ocr\n")
    with pytest.raises(InputError, match="f.txt.*CSR"):
        read_iam_csr(p)


@pytest.mark.parametrize("raw, clean", [
    ("Mr . Foot , he", "Mr. Foot, he"),
    ("Is it ? Yes ! Well ; maybe : no .", "Is it? Yes! Well; maybe: no."),
    ("a ( b ) c", "a (b) c"),
    ("( start", "(start"),
    ('he said " yes " .', 'he said " yes ".'),
    ("don't touch", "don't touch"),
    ("1,000 . 50", "1,000. 50"),
    ("  padded .  ", "padded."),
    ("", ""),
])
def test_detokenize_iam(raw, clean):
    assert detokenize_iam(raw) == clean


# --------------------------------------------------------------------------- folders of ink files


def _ink(seed: int, text: str | None = None) -> Ink:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(1, 3, 30))
    return Ink(strokes=[Stroke(x, np.sin(x / 5) * 10), Stroke(x[:5] + 100, x[:5])], text=text)


def test_iter_ink_folder(tmp_path):
    root = tmp_path / "folder"
    (root / "w1").mkdir(parents=True)
    (root / "w2" / "deeper").mkdir(parents=True)
    write_inkml(_ink(1, "from inkml"), root / "w1" / "a.inkml")
    write_json(_ink(2, "from json"), root / "w1" / "b.json")
    write_inkml(_ink(3), root / "w2" / "c.inkml")
    (root / "w2" / "c.txt").write_text("side text\n", encoding="utf-8")
    write_json(_ink(4), root / "w2" / "deeper" / "d.json")
    (root / "w2" / "deeper" / "d.txt").write_text("plain side", encoding="utf-8")
    (root / "w2" / "deeper" / "d.gt.txt").write_text("ground truth wins", encoding="utf-8")
    write_json(_ink(5), root / "w2" / "untranscribed.json")
    (root / "w2" / "broken.inkml").write_text("<ink><trace>1 2", encoding="utf-8")

    errors: list[str] = []
    got = dict(iter_ink_folder(root, source="mine", on_error=errors.append))
    assert sorted(got) == ["w1/a.inkml", "w1/b.json", "w2/c.inkml", "w2/deeper/d.json"]
    assert got["w1/a.inkml"].text == "from inkml"
    assert got["w1/b.json"].text == "from json"
    assert got["w2/c.inkml"].text == "side text"
    assert got["w2/deeper/d.json"].text == "ground truth wins"
    assert got["w1/a.inkml"].writer == "w1" and got["w2/deeper/d.json"].writer == "deeper"
    assert all(ink.source == "mine" for ink in got.values())
    assert got["w1/a.inkml"].strokes == _ink(1).strokes
    assert len(errors) == 2
    assert any("untranscribed.json" in e and "no transcription" in e for e in errors)
    assert any("broken.inkml" in e for e in errors)
    with pytest.raises(InputError, match="broken.inkml"):
        list(iter_ink_folder(root))


def test_iter_imadocsen(tmp_path):
    for w, n in (("writer01", 2), ("writer02", 1)):
        d = tmp_path / "data" / "sentences" / w
        d.mkdir(parents=True)
        for i in range(n):
            write_inkml(_ink(10 + i, f"phrase {i} de {w}"), d / f"sentence{i}.inkml")
    got = list(iter_imadocsen(tmp_path))
    assert [sid for sid, _ in got] == ["writer01/sentence0.inkml", "writer01/sentence1.inkml", "writer02/sentence0.inkml"]
    assert [ink.writer for _, ink in got] == ["writer01", "writer01", "writer02"]
    assert all(ink.source == "imadocsen-ondb" for _, ink in got)
    assert got[2][1].text == "phrase 0 de writer02"
    only = list(iter_imadocsen(tmp_path, writers=["writer02"]))
    assert len(only) == 1
    assert json.dumps([sid for sid, _ in only]) == '["writer02/sentence0.inkml"]'
