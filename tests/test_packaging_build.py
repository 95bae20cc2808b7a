"""The desktop build: packaging/build.sh makes a one-folder app that behaves like the installed package.

Builds once per session into a temporary folder (about two minutes on a 2-core machine), then runs
the frozen executable headless. Opt-in: the default ``pytest`` deselects it (marker ``packaging``);
``pytest -m packaging`` runs it, as ``.ci/run`` does in its own step. ``LRDOCTOR_TEST_PACKAGING=0``
still skips it (e.g. offline, where build.sh cannot install PyInstaller).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_SH = REPO / "packaging" / "build.sh"
SAMPLE_LOGS = REPO / "sample_logs"
SHARED_REAL_LOGS = REPO.parent / "shared" / "real_logs"
WANDB_RUN_DIRS = SHARED_REAL_LOGS / "wandb_run_dirs"

# The GUI has no quit-after option: it must still be running after this long, without a traceback.
GUI_STAY_UP_SECONDS = 20
# Generous: the build shares two cores with other work; a hang should not block CI forever.
BUILD_TIMEOUT_SECONDS = 30 * 60
RUN_TIMEOUT_SECONDS = 10 * 60

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(
        os.environ.get("LRDOCTOR_TEST_PACKAGING", "1") == "0",
        reason="LRDOCTOR_TEST_PACKAGING=0: the PyInstaller build test is switched off",
    ),
    pytest.mark.skipif(sys.platform == "win32", reason="packaging/build.sh is a bash script"),
]


def _env() -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)  # the frozen app must not find the source tree by accident
    return env


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run packaging/build.sh with this interpreter; yields the folder holding dist/ and work/."""
    out = tmp_path_factory.mktemp("pyinstaller")
    result = subprocess.run(
        ["bash", str(BUILD_SH), "--dist", str(out / "dist"), "--work", str(out / "work")],
        cwd=REPO,
        env=dict(_env(), PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"build.sh failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    print(result.stderr.strip().splitlines()[-1])  # "built ... in N s; SIZE on disk"
    yield out
    shutil.rmtree(out, ignore_errors=True)  # ~340 MB; pytest would keep the last three sessions'


@pytest.fixture(scope="module")
def frozen(build: Path) -> Path:
    """The frozen ``lrdoctor`` executable."""
    exe = build / "dist" / "lrdoctor" / "lrdoctor"
    assert exe.is_file() and os.access(exe, os.X_OK), f"{exe} was not built"
    return exe


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS)


def _installed(*args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "lrdoctor", *args])


def _without_abs_paths(text: str) -> str:
    """Absolute paths are the only thing allowed to differ between the two outputs."""
    return text.replace(str(REPO), "<repo>").replace(str(REPO.parent), "<work>")


def test_version_matches_installed(frozen: Path) -> None:
    got = _run([str(frozen), "--version"])
    want = _installed("--version")
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert got.stdout.startswith("lrdoctor ")


def test_analyze_json_same_as_installed(frozen: Path) -> None:
    got = _run([str(frozen), "analyze", "sample_logs/", "--json"])
    want = _installed("analyze", "sample_logs/", "--json")
    assert want.returncode == 0, want.stderr
    assert got.returncode == 0, got.stderr
    assert "Traceback" not in got.stderr
    got_json = json.loads(_without_abs_paths(got.stdout))
    want_json = json.loads(_without_abs_paths(want.stdout))
    # Not trivially equal: sample_logs/ holds TensorBoard, Lightning, W&B and Hugging Face runs at least.
    formats = {run["format"] for run in want_json["runs"]}
    assert {"tensorboard", "lightning_csv", "wandb_csv", "hf_trainer_state"} <= formats, formats
    assert got_json == want_json
    assert _without_abs_paths(got.stderr) == _without_abs_paths(want.stderr)


@pytest.mark.skipif(not SHARED_REAL_LOGS.is_dir(), reason="../shared/real_logs is not here")
def test_inspect_real_logs_same_as_installed(frozen: Path) -> None:
    """Every reader the real logs need (text logs, detectron2, W&B run folders, ...) works frozen."""
    got = _run([str(frozen), "inspect", str(SHARED_REAL_LOGS), "--json"])
    want = _installed("inspect", str(SHARED_REAL_LOGS), "--json")
    assert got.returncode == 0 == want.returncode, got.stderr
    got_json, want_json = json.loads(got.stdout), json.loads(want.stdout)
    formats = {run["format"] for run in want_json["runs"]}
    assert {"tensorboard", "text_log", "wandb_run_dir"} <= formats
    assert got_json == want_json


@pytest.mark.skipif(not WANDB_RUN_DIRS.is_dir(), reason="../shared/real_logs/wandb_run_dirs is not here")
def test_wandb_binary_history_read_when_bundled(frozen: Path) -> None:
    """With wandb in the build environment, the .wandb protobuf history is bundled and read."""
    pytest.importorskip("wandb.proto.wandb_internal_pb2", reason="wandb extra not installed: not bundled")
    got = _run([str(frozen), "inspect", str(WANDB_RUN_DIRS), "--json"])
    assert got.returncode == 0, got.stderr
    assert "lrdoctor[wandb]" not in got.stderr  # the "install the extra" warning
    runs = json.loads(got.stdout)["runs"]
    # Run folders (run-<date>-<id>) are W&B run dirs; the collection also holds an old-layout
    # W&B folder whose history is a plain wandb-history.jsonl, read by the history reader.
    run_dirs = [run for run in runs if "/run-" in run["path"]]
    assert run_dirs and all(run["format"] == "wandb_run_dir" for run in run_dirs)


def test_every_module_of_ours_is_frozen(build: Path) -> None:
    """Modules loaded by name (readers, subcommands, detectors, GUI) are in the app's archive."""
    toc_path = build / "work" / "lrdoctor" / "PYZ-00.toc"
    _archive, entries = ast.literal_eval(toc_path.read_text())
    frozen_modules = {entry[0] for entry in entries}
    ours = set()
    for package in ("parsers", "lrdoctor"):
        for py in (REPO / package).rglob("*.py"):
            parts = py.relative_to(REPO).with_suffix("").parts
            ours.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    missing = sorted(ours - frozen_modules)
    assert not missing, f"modules not in the frozen app: {missing}"
    from parsers.registry import BUILTIN_READER_MODULES

    assert set(BUILTIN_READER_MODULES) <= frozen_modules


def test_heavy_unused_packages_left_out(build: Path) -> None:
    """Packages a developer's environment may hold (torch, scikit-learn, test tools) stay out of the app."""
    _archive, entries = ast.literal_eval((build / "work" / "lrdoctor" / "PYZ-00.toc").read_text())
    top_level = {entry[0].split(".")[0] for entry in entries}
    unwanted = {"torch", "tensorflow", "sklearn", "matplotlib", "PIL", "pytest", "tbparse", "IPython"}
    assert not top_level & unwanted


def test_package_data_shipped(build: Path) -> None:
    """Every file pyproject.toml declares as package data is in the app folder."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["lrdoctor"]
    internal = build / "dist" / "lrdoctor" / "_internal"
    declared = [p for g in globs for p in (REPO / "lrdoctor").glob(g) if p.is_file()]
    assert any(p.suffix == ".json" for p in declared) and any(".j2" in p.name for p in declared)
    missing = [str(p.relative_to(REPO)) for p in declared if not (internal / p.relative_to(REPO)).is_file()]
    assert not missing, f"package data not shipped: {missing}"


def test_gui_opens_offscreen_and_stays_up(frozen: Path) -> None:
    """``lrdoctor sample_logs`` paints its main window and keeps running without a traceback."""
    env = dict(_env(), QT_LOGGING_RULES="qt.widgets.painting=true")
    proc = subprocess.Popen(
        [str(frozen), "sample_logs"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(GUI_STAY_UP_SECONDS)
        still_running = proc.poll() is None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert still_running, f"the app exited with {proc.returncode}:\n{err[-5000:]}"
    assert "Traceback" not in err, err[-5000:]
    # Qt's painting log names the widget it flushes to the (offscreen) window.
    assert "of MainWindow(" in err and "to QWidgetWindow" in err, err[-3000:]
