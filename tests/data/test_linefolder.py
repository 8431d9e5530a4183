"""`hwr import lines`: folders of line images + .gt.txt (kraken/Tesseract convention)."""

from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from synth import synth_line_image
from hwr.cli.main import cli
from hwr.data.linefolder import find_line_pairs, is_validation, read_gt
from hwr.data.lineset import LineSet

TEXTS = ["the first line", "a second one", "and a third", "fourth of them", "the fifth", "six"]


def _line(text: str) -> np.ndarray:
    return synth_line_image(text)


def _folder(root: Path) -> Path:
    d = root / "mine"
    (d / "sub").mkdir(parents=True)
    for i, t in enumerate(TEXTS):
        where = d / "sub" if i % 2 else d
        cv2.imwrite(str(where / f"l{i}.png"), _line(t))
        (where / f"l{i}.gt.txt").write_text(("\ufeff" if i == 0 else "") + f"  {t}\n", encoding="utf-8")
    cv2.imwrite(str(d / "no_gt.png"), _line("nothing"))  # an image without ground truth: not a line
    (d / "orphan.gt.txt").write_text("no image\n")  # ground truth without an image
    cv2.imwrite(str(d / "empty.png"), _line("x"))
    (d / "empty.gt.txt").write_text("   \n")
    (d / "latin1.png").write_bytes((d / "l0.png").read_bytes())
    (d / "latin1.gt.txt").write_bytes("caf\xe9".encode("latin-1"))
    (d / "blank.png").write_bytes(cv2.imencode(".png", np.full((40, 200), 255, np.uint8))[1].tobytes())
    (d / "blank.gt.txt").write_text("blank\n")
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (d / "broken.gt.txt").write_text("broken\n")
    return d


def test_pairs_and_texts(tmp_path):
    d = _folder(tmp_path)
    errors = []
    pairs = find_line_pairs(d, errors.append)
    assert len(pairs) == 10 and all(img.suffix == ".png" for img, _ in pairs)
    assert len(errors) == 1 and "orphan.gt.txt" in errors[0]
    assert read_gt(d / "l0.gt.txt") == "the first line"  # BOM and white space gone


def test_import_lines_cli(tmp_path):
    d = _folder(tmp_path)
    out, val = tmp_path / "lines.h5", tmp_path / "lines-val.h5"
    r = CliRunner().invoke(cli, ["import", "lines", str(d), "-o", str(out), "--val-out", str(val),
                                 "--val-fraction", "0.34", "--height", "40"])
    assert r.exit_code == 0, r.output
    for bad in ("orphan.gt.txt", "empty.gt.txt", "latin1.gt.txt", "blank.png", "broken.png"):
        assert bad in r.output, (bad, r.output)
    tr, va = LineSet(out), LineSet(val)
    texts = [tr[i].text for i in range(len(tr))] + [va[i].text for i in range(len(va))]
    assert sorted(texts) == sorted(TEXTS)
    assert len(va) == sum(is_validation(f"mine/{p}", 0.34) for p in
                          [f"{'sub/' if i % 2 else ''}l{i}.png" for i in range(len(TEXTS))])
    s = tr[0]
    assert s.image.shape[0] == 40 and s.image.dtype == np.uint8 and s.collection == "mine"
    assert {tr[i].source for i in range(len(tr))} <= {f"{'sub/' if i % 2 else ''}l{i}.png" for i in range(6)}


def test_import_lines_nothing_usable(tmp_path):
    d = tmp_path / "e"
    d.mkdir()
    (d / "a.gt.txt").write_text("text")
    r = CliRunner().invoke(cli, ["import", "lines", str(d), "-o", str(tmp_path / "x.h5")])
    assert r.exit_code == 1 and "no usable" in r.output
    assert not (tmp_path / "x.h5").exists()
