"""``lrdoctor analyze``: JSON contract on stdout, text summary, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from lrdoctor.cli import main


def test_analyze_cli_json_contract(corpus: Path, capsys) -> None:
    code = main(["analyze", "--json", str(corpus / "runs" / "digits_mlp-c152"), str(corpus / "runs" / "synth_clf_mlp-8a8d")])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["version"] == 1
    by_name = {r["name"]: r for r in payload["runs"]}
    diverged = by_name["digits_mlp-c152"]
    assert [f["mode"] for f in diverged["findings"]] == ["diverged"]
    assert diverged["findings"][0]["step_start"] == 11  # labels.json: diverged_at_step 11
    assert diverged["kind"] == "training" and diverged["format"] == "hf_trainer_state"
    assert by_name["synth_clf_mlp-8a8d"]["findings"] == []
    assert isinstance(payload["sweeps"], list) and isinstance(payload["warnings"], list)


def test_analyze_cli_text_summary(real_logs: Path, capsys) -> None:
    code = main(["analyze", str(real_logs / "hf_trainer_state" / "whisper-large-v2-ja")])
    out = capsys.readouterr().out
    assert code == 0
    assert "overfitting" in out and "stop at step 1,000" in out


def test_analyze_cli_nothing_loaded_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    assert main(["analyze", "--json", str(tmp_path)]) == 2
    payload = json.loads(capsys.readouterr().out)
    assert payload["runs"] == []
