"""``lrdoctor analyze`` shows the cost: the JSON contract keys, the flags, money first in text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrdoctor.cli import main

CONTRACT_KEYS = {
    "step_time_s", "step_time_source", "gpu", "gpu_count", "usd_per_gpu_hour", "total_gpu_hours",
    "wasted_steps", "wasted_gpu_hours", "wasted_usd", "wasted_kwh", "wasted_kg_co2e", "by_finding",
}
FINDING_KEYS = {"mode", "wasted_steps", "wasted_gpu_hours", "wasted_usd"}


def test_json_cost_with_flags(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus / "runs" / "digits_mlp-3fcd"  # Lightning CSV (no clock), diverged at step 7 of 0..799
    code = main(["analyze", str(path), "--json", "--gpu", "A10G", "--gpus", "2", "--price", "1.5",
                 "--step-time", "0.000836"])
    assert code == 0
    (entry,) = json.loads(capsys.readouterr().out)["runs"]
    cost = entry["cost"]
    assert CONTRACT_KEYS <= set(cost)
    assert (cost["gpu"], cost["gpu_count"], cost["usd_per_gpu_hour"]) == ("A10G", 2, 1.5)
    assert (cost["step_time_s"], cost["step_time_source"]) == (0.000836, "assumed")
    assert cost["wasted_steps"] == 793  # the label's wasted_steps
    assert cost["wasted_gpu_hours"] == pytest.approx(793 * 0.000836 / 3600 * 2, rel=1e-4)
    assert cost["wasted_usd"] == pytest.approx(cost["wasted_gpu_hours"] * 1.5, rel=1e-4)
    assert cost["by_finding"] and all(FINDING_KEYS <= set(w) for w in cost["by_finding"])
    assert cost["by_finding"][0]["mode"] == "diverged"


def test_text_leads_with_the_money_and_settings_persist(
    corpus: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = corpus / "runs" / "digits_mlp-f351"  # TensorBoard: its own clock
    assert main(["analyze", str(path), "--gpu", "T4", "--save-cost-settings"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Wasted compute: $")
    assert "1x T4" in out and "logged" in out
    assert json.loads((config_dir / "cost.json").read_text())["gpu"] == "T4"
    assert main(["analyze", str(path), "--json"]) == 0  # the saved GPU is used next time
    assert json.loads(capsys.readouterr().out)["runs"][0]["cost"]["gpu"] == "T4"


def test_bad_flag_value_is_one_clear_line(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(corpus / "runs" / "digits_mlp-f351"), "--gpus", "0"])
    assert exc.value.code == 2
    assert "GPU count" in capsys.readouterr().err
