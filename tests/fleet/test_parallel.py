"""The process pool gives exactly the serial answer, in the same order, on real logs."""

from __future__ import annotations

import json
from pathlib import Path

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.fleet import analyze_paths, load_paths
from lrdoctor.fleet.summary import contract_dict
from parsers.loader import iter_files
from parsers.units import split_units


def _serial(paths: list[Path]):
    runs = parsers.RunList()
    for path in paths:
        loaded = parsers.load(path)
        runs.extend(loaded)
        runs.warnings.extend(loaded.warnings)
    return runs, analyze(runs, warnings=runs.all_warnings())


def test_pool_output_identical_to_serial(real_logs: Path, tmp_path: Path) -> None:
    # TensorBoard trees with sweeps, Keras CSVs, W&B offline run folders, and a missing path.
    paths = [real_logs / "tensorboard", real_logs / "keras_csv", real_logs / "wandb_run_dirs", tmp_path / "gone"]
    runs, serial = _serial(paths)
    pooled = analyze_paths(paths, jobs=2, cache=False)
    assert len(serial.runs) > 20 and serial.sweeps, "the sample must hold many runs and a sweep"
    assert [ra.run.name for ra in pooled.runs] == [r.name for r in runs]
    assert json.dumps(contract_dict(pooled)) == json.dumps(contract_dict(serial))
    assert [str(w) for w in pooled.warnings] == [str(w) for w in runs.all_warnings()]


def test_load_paths_matches_parsers_load(real_logs: Path) -> None:
    paths = [real_logs / "hf_trainer_state", real_logs / "lightning_csv"]
    runs, _ = _serial(paths)
    loaded = load_paths(paths, jobs=1, cache=False)
    assert [(r.name, r.path, len(r.scalars)) for r in loaded] == [(r.name, r.path, len(r.scalars)) for r in runs]
    assert [str(w) for w in loaded.all_warnings()] == [str(w) for w in runs.all_warnings()]


def test_units_partition_the_walk(real_logs: Path) -> None:
    files = list(iter_files(real_logs))
    units = split_units(files, real_logs)
    assert sorted(i for u in units for i in u.indices) == list(range(len(files)))
    assert [f for u in units for f in u.files] != [] and len(units) > 10
    # Tool-made folders inside a run stay with it: a W&B run's files/ and a Keras run's train/.
    folders = {Path(u.folder).name for u in units}
    assert not folders & {"files", "train", "validation", "lightning_logs"}


def test_default_path_with_workers_identical_to_serial(real_logs: Path, monkeypatch) -> None:
    """The default (jobs=None): this process starts on the runs and workers join once the measured
    cost says so (here at once: the threshold is lowered so these few runs are worth a pool)."""
    import threading

    from lrdoctor.fleet import execute

    paths = [real_logs / "tensorboard", real_logs / "keras_csv"]
    runs, serial = _serial(paths)
    monkeypatch.setattr(execute, "POOL_MIN_WORK_S", 0.0)
    forked = analyze_paths(paths, cache=False)  # single-threaded here: workers forked
    assert json.dumps(contract_dict(forked)) == json.dumps(serial_dict := contract_dict(serial))
    # with another thread alive (as in the app) workers start from a fork server, in a thread,
    # possibly after this process has done everything: that pool is shut down without waiting
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        served = analyze_paths(paths, cache=False)
    finally:
        stop.set()
        other.join()
    assert json.dumps(contract_dict(served)) == json.dumps(serial_dict)
    assert [str(w) for w in served.warnings] == [str(w) for w in runs.all_warnings()]
