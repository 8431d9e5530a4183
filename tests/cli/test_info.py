"""`hwr models` and `hwr doctor`."""

import json

from click.testing import CliRunner

from hwr.cli.main import cli


def test_models_lists_embedded_and_user_models(tmp_path, monkeypatch):
    monkeypatch.setenv("HWR_DATA_DIR", str(tmp_path))
    mine = tmp_path / "models"
    mine.mkdir()
    import shutil

    from hwr.pipeline import MODELS_DIR, resolve_model

    shutil.copy(MODELS_DIR / "ink_default.safetensors", mine / "my_hand.safetensors")
    (mine / "my_hand.md").write_text("# Model card: my hand\n")
    (mine / "broken.safetensors").write_bytes(b"\x00" * 20)
    r = CliRunner().invoke(cli, ["models", "--json"])
    assert r.exit_code == 0, r.output
    rows = {o["name"]: o for o in map(json.loads, r.stdout.splitlines())}
    assert rows["ink_default"]["where"] == "embedded" and rows["ink_default"]["kind"] == "ink"
    assert rows["image_default"]["kind"] == "image" and rows["image_default"]["card"]
    assert rows["my_hand"]["where"] == "yours" and rows["my_hand"]["card"].endswith("my_hand.md")
    assert "error" in rows["broken"]
    r = CliRunner().invoke(cli, ["models", "--card", "my_hand"])
    assert r.exit_code == 0 and "my hand" in r.output
    r = CliRunner().invoke(cli, ["models", "--card", "nope"])
    assert r.exit_code == 1 and "no model named" in r.output
    assert resolve_model("my_hand") == mine / "my_hand.safetensors"  # --model NAME finds your models


def test_doctor_checks_models(monkeypatch, tmp_path):
    monkeypatch.setenv("HWR_DATA_DIR", str(tmp_path))
    r = CliRunner().invoke(cli, ["doctor", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["packages"]["torch"] and rep["cpu_count"] >= 1
    checks = {c["check"]: c for c in rep["checks"]}
    assert checks["ink model"]["ok"] and checks["image model"]["ok"], checks
    assert "beam" in checks["ink model"]["detail"]["decoder"]
    # the thread count the commands use is reported beside torch's own default
    assert checks["torch"]["detail"]["commands_threads"] == 1
    assert checks["torch"]["detail"]["torch_default_threads"] >= 1
