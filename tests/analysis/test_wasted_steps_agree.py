"""The wasted steps a finding states in words equal what the cost estimate charges (and the corpus labels)."""

from __future__ import annotations

import json
from pathlib import Path

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cost import estimate_costs


def test_finding_wasted_steps_match_cost_and_labels(corpus: Path) -> None:
    checked = 0
    for labels_path in sorted((corpus / "runs").glob("*/labels.json")):
        labels = json.loads(labels_path.read_text())
        modes = set(labels["modes"])
        if labels.get("wasted_steps") is None or len(modes & {"diverged", "overfitting"}) != 1:
            continue
        analysis = analyze(parsers.load(labels_path.parent))
        costs = estimate_costs(analysis)
        ra = analysis.runs[0]
        (finding,) = [f for f in ra.findings if f.mode in ("diverged", "overfitting")]
        charged = {b["mode"]: b["wasted_steps"] for b in costs.of_run(ra).to_dict()["by_finding"]}
        assert finding.evidence["wasted_steps"] == charged[finding.mode] == labels["wasted_steps"], labels["run"]
        assert f"{labels['wasted_steps']:,} steps" in finding.evidence["summary"] + finding.recommendation
        checked += 1
    assert checked >= 10
