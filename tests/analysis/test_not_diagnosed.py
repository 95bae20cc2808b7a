"""An empty findings list means healthy only when the run could be judged: too short or loss-less runs say why."""

from __future__ import annotations

import csv
from pathlib import Path

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.contract import analysis_to_dict


def _write_csv(path: Path, rows: list[tuple[int, float]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "loss"])
        writer.writerows(rows)
    return path


def test_a_run_too_short_to_judge_is_not_called_healthy(tmp_path: Path) -> None:
    runs = parsers.load(_write_csv(tmp_path / "short.csv", [(1, 2.0), (2, 1.9), (3, 1.95)]))
    ra = analyze(runs).runs[0]
    assert ra.findings == []
    assert ra.not_diagnosed and "3 loss points" in ra.not_diagnosed
    assert analysis_to_dict(analyze(runs))["runs"][0]["not_diagnosed"] == ra.not_diagnosed


def test_a_judged_healthy_run_has_no_reason(corpus: Path) -> None:
    ra = analyze(parsers.load(corpus / "runs" / "digits_mlp-7922")).runs[0]
    assert ra.findings == [] and ra.not_diagnosed is None


def test_an_early_nan_divergence_is_still_found_on_a_short_run(tmp_path: Path) -> None:
    rows = [(i, v) for i, v in enumerate([2.3, 2.1, 1.9, 5.0, 40.0, float("nan"), float("nan"), float("nan"),
                                          float("nan"), float("nan")])]
    ra = analyze(parsers.load(_write_csv(tmp_path / "nan.csv", rows))).runs[0]
    assert [f.mode for f in ra.findings] == ["diverged"]
