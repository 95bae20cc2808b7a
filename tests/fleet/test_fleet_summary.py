"""The fleet summary: totals, waste by mode and the ranking agree with each run's own cost."""

from __future__ import annotations

import json
import math
from pathlib import Path

from lrdoctor.cli import main
from lrdoctor.cost import CostSettings, estimate_costs
from lrdoctor.fleet import analyze_paths
from lrdoctor.fleet.summary import fleet_summary

from .writers import write_fleet


def test_summary_adds_up_the_runs_costs(tmp_path: Path) -> None:
    write_fleet(tmp_path, 6)
    analysis = analyze_paths([tmp_path], jobs=1, cache=False)
    priced = estimate_costs(analysis, CostSettings(gpu="A100 80GB", gpu_count=2))
    s = fleet_summary(analysis, priced)
    costs = [priced.of_run(ra) for ra in analysis.runs]
    assert s.runs == s.costed_runs == 6
    assert math.isclose(s.total_usd, sum(c.total.usd for c in costs))
    assert math.isclose(s.wasted_usd, sum(c.wasted.usd for c in costs))
    assert 0 < s.wasted_usd < s.total_usd
    # each mode charges what the runs' own findings wasted
    for m in s.by_mode:
        wastes = [w for c in costs for w in c.by_finding if w.mode == m.mode]
        assert m.runs == len(wastes) and math.isclose(m.wasted_usd, sum(w.money.usd for w in wastes))
    usd = [m.wasted_usd for m in s.by_mode]
    assert usd == sorted(usd, reverse=True)
    # every third run overfits, and those waste the most
    overfit = next(m for m in s.by_mode if m.mode == "overfitting")
    assert overfit.runs == 2
    wasted = [r.wasted_usd for r in s.ranked]
    assert wasted == sorted(wasted, reverse=True)
    assert {s.ranked[0].name, s.ranked[1].name} == {"run_0000", "run_0003"}
    assert analysis.runs[s.ranked[0].index].run.name == s.ranked[0].name


def test_cli_leads_with_the_fleet_and_json_has_it(tmp_path: Path, capsys) -> None:
    write_fleet(tmp_path, 4)
    assert main(["analyze", str(tmp_path), "--gpu", "A100 80GB", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Fleet: 4 runs, $")
    assert out.index("runs by wasted money") < out.index("Wasted compute:")
    assert main(["analyze", str(tmp_path), "--json", "--gpu", "A100 80GB", "--no-cache"]) == 0
    payload = json.loads(capsys.readouterr().out)
    fleet = payload["fleet"]
    assert payload["version"] == 1 and fleet["runs"] == 4
    assert math.isclose(fleet["wasted_usd"], sum(r["cost"]["wasted_usd"] for r in payload["runs"]), rel_tol=1e-5)
    assert [r["name"] for r in fleet["runs_by_waste"]][:2] == ["run_0000", "run_0003"] or \
        [r["name"] for r in fleet["runs_by_waste"]][:2] == ["run_0003", "run_0000"]


def test_unpriced_runs_are_counted_not_guessed(real_logs: Path) -> None:
    analysis = analyze_paths([real_logs / "generic_csv"], jobs=1, cache=False)
    s = fleet_summary(analysis, estimate_costs(analysis, CostSettings()))
    unpriced = [r for r in s.ranked if r.wasted_usd is None]
    assert s.costed_runs == s.runs - len(unpriced)
    assert all(r.wasted_usd is None for r in s.ranked[len(s.ranked) - len(unpriced):])
    if unpriced:
        assert s.notes
