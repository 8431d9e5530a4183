"""Real handwriting from ../shared/data (IAM-OnDB, ImadocSen-OnDB).  Skipped where absent."""

import tarfile

import numpy as np
import pytest

from conftest import SHARED
from hwr.data.importers import iam_ondb_forms, iter_iam_ondb, iter_imadocsen
from hwr.ink.features import ink_features

IAM = SHARED / "iam-ondb" / "iam-ondb-train-val.tar.xz"
IMADOC = SHARED / "imadocsen-ondb-train.tar.xz"
FORM = "a01-000u"  # a testset_t (validation) form


@pytest.fixture(scope="module")
def iam_form(tmp_path_factory):
    if not IAM.exists():
        pytest.skip("IAM-OnDB not present in ../shared/data")
    root = tmp_path_factory.mktemp("iam")
    want = (f"ascii/a01/a01-000/{FORM}.txt", f"lineStrokes/a01/a01-000/{FORM}-")
    found = 0
    with tarfile.open(IAM) as tf:
        for m in tf:
            if m.name == want[0] or m.name.startswith(want[1]):
                tf.extract(m, root, filter="data")
                found += 1
            elif found and m.name.startswith("lineStrokes/a01/a01-001"):
                break
    return root


def test_iam_ondb_form_imports_and_gives_features(iam_form):
    assert iam_ondb_forms(iam_form) == [FORM]
    lines = list(iter_iam_ondb(iam_form, [FORM]))
    assert len(lines) == 6
    assert lines[0][1].text.startswith("A MOVE to stop Mr. Gaitskell")
    for _, ink in lines:
        f = ink_features(ink)
        assert f.shape[1] == 4 and 150 < len(f) < 1500 and np.isfinite(f).all()


def test_embedded_model_reads_real_iam_lines(iam_form):
    from hwr.pipeline import MODELS_DIR, Recognizer
    from hwr.training.metrics import error_rates

    if not (MODELS_DIR / "ink_default.safetensors").exists():
        pytest.skip("no embedded ink model")
    lines = list(iter_iam_ondb(iam_form, [FORM]))
    rec = Recognizer()  # beam search + the default LM
    hyps = rec.recognize_inks([ink for _, ink in lines])
    er = error_rates((ink.text, h.text) for (_, ink), h in zip(lines, hyps))
    assert er.cer < 0.25, [h.text for h in hyps]
    greedy = Recognizer(decoder="greedy").recognize_inks([ink for _, ink in lines])
    er_greedy = error_rates((ink.text, h.text) for (_, ink), h in zip(lines, greedy))
    assert er.cer <= er_greedy.cer and er.wer <= er_greedy.wer
    assert all(h.alternatives and h.alternatives[0].text == h.text for h in hyps)


def test_imadocsen_sentences_read(tmp_path):
    if not IMADOC.exists():
        pytest.skip("ImadocSen-OnDB not present in ../shared/data")
    with tarfile.open(IMADOC) as tf:
        members = [m for m in tf.getmembers() if m.name.startswith("data/sentences/writer10/")]
        tf.extractall(tmp_path, members=members, filter="data")
    lines = list(iter_imadocsen(tmp_path, ["writer10"]))
    assert len(lines) == 20
    for _, ink in lines:
        assert ink.text and ink.text == ink.text.lower() and ink.writer == "writer10"
        assert np.isfinite(ink_features(ink)).all()
