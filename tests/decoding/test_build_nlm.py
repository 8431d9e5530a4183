"""benchmarks/build_nlm.py: trains a character LSTM LM that loads, and resumes after a kill."""

import subprocess
import sys
from pathlib import Path

from hwr.decoding.lm import CharNgramLM
from hwr.decoding.neural_lm import NeuralLM

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "build_nlm.py"
LINES = ["the cat sat on the mat", "a dog and a cat", "the mat was red", "on the dog sat a cat"] * 40


def _run(tmp_path, out, minutes):
    return subprocess.run([sys.executable, str(SCRIPT), "--corpus", str(tmp_path / "corpus"), "--val",
                           str(tmp_path / "val.txt"), "--ngram", str(tmp_path / "ng.arpa.gz"), "--hidden", "16",
                           "--batch", "16", "--eval-every", "5", "--minutes", str(minutes), "--threads", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)


def test_trains_a_loadable_model_and_resumes(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "indomain.txt").write_text("\n".join(LINES) + "\n")
    (tmp_path / "val.txt").write_text("the cat sat on a mat\n")
    CharNgramLM.train(LINES, order=3).save(tmp_path / "ng.arpa.gz")
    out = tmp_path / "m.safetensors"
    r = _run(tmp_path, out, 0.2)  # 12 s of training: hundreds of steps here, enough on a busy machine
    assert r.returncode == 0, r.stderr
    assert "best validation perplexity" in r.stdout and "| 5 |" in r.stdout
    lm = NeuralLM.load(out)
    assert lm.meta["config"]["hidden"] == 16 and lm.meta["perplexity"] > 1
    assert lm.meta["description"] == "IAM-OnDB trainset transcriptions"
    assert lm.perplexity(["the cat sat on a mat"]) < 20  # 97 tokens: a model that learnt something
    # a second run with a longer budget resumes from the first's checkpoint
    r = _run(tmp_path, out, 0.25)
    assert r.returncode == 0, r.stderr
    assert "resumed at step" in r.stderr
