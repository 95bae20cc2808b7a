"""One task per run folder on a real Dask cluster (a LocalCluster started here) gives the serial answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.cli import main
from lrdoctor.fleet import analyze_paths
from lrdoctor.fleet.summary import contract_dict

from .writers import write_fleet

distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed (pip install 'lrdoctor[cluster]')")


def test_local_cluster_matches_serial(real_logs: Path, tmp_path: Path, capsys) -> None:
    write_fleet(tmp_path / "fleet", 4, steps=200)
    paths = [tmp_path / "fleet", real_logs / "keras_csv", real_logs / "lightning_csv"]
    runs = parsers.RunList()
    for path in paths:
        loaded = parsers.load(path)
        runs.extend(loaded)
        runs.warnings.extend(loaded.warnings)
    serial = contract_dict(analyze(runs, warnings=runs.all_warnings()))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_cluster = analyze_paths(paths, scheduler=cluster.scheduler_address, cache=False)
        assert json.dumps(contract_dict(on_cluster)) == json.dumps(serial)
        # the CLI sends the same tasks to the scheduler named on the command line
        assert main(["analyze", "--json", "--no-cache", "--scheduler", cluster.scheduler_address,
                     *map(str, paths)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in out["runs"]] == [r["name"] for r in serial["runs"]]
    assert out["fleet"]["runs"] == len(serial["runs"]) >= 8
