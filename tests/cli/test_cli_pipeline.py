"""The CLI for pipelines: --fail-on exit codes, runs listed by severity then waste, stderr clean off a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrdoctor.cli import main
from lrdoctor.cli.common import EXIT_FINDINGS

CRITICAL_RUN = "runs/digits_mlp-c152"  # diverged: critical (corpus/index.csv)
SWEEP = "sweeps/sweep_synth_clf_adam"  # warnings at the high LRs, no critical finding
COST = ["--gpu", "A100 80GB", "--price", "2"]


@pytest.fixture(autouse=True)
def _no_saved_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))


def test_fail_on_and_order(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    # the sweep is given first: the critical run must still lead the text
    code = main(["analyze", str(corpus / SWEEP), str(corpus / CRITICAL_RUN), "--fail-on", "critical", *COST])
    out, err = capsys.readouterr()
    assert code == EXIT_FINDINGS
    blocks = [line for line in out.splitlines() if line and not line.startswith(" ") and "[" in line
              and not line.startswith("Wasted")]
    assert blocks[0].startswith("digits_mlp-c152")
    severities = []
    for line in out.splitlines():
        if line.startswith("  [") and "]" in line:
            severities.append(line.split("]")[0].strip(" ["))
    assert severities[0] == "critical"
    assert "analysing" not in err and "reading" not in err  # stderr is not a terminal: no bar


def test_fail_on_levels(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", str(corpus / SWEEP), "--fail-on", "critical", "-q"]) == 0
    capsys.readouterr()
    assert main(["analyze", str(corpus / SWEEP), "--fail-on", "warning", "--json"]) == EXIT_FINDINGS
    plain = capsys.readouterr().out
    assert main(["analyze", str(corpus / SWEEP), "--json"]) == 0
    assert capsys.readouterr().out == plain  # --fail-on changes the exit code, never the JSON
