"""Architecture checks in one place: the import-linter contracts of pyproject.toml (layers, Qt-free core,
parsers know nothing of the app) and the library and headless commands working on a machine without Qt
(napari runs a Qt-less job for the same reason).

The Qt-less checks run in a subprocess where importing PySide6, shiboken6 or pyqtgraph fails, as if they
were not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The contract names, in the order pyproject.toml declares them.
CONTRACTS = re.findall(r'\[\[tool\.importlinter\.contracts\]\][^\[]*?\nname = "([^"]+)"',
                       (REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _lint_imports() -> str | None:
    exe = Path(sys.executable).with_name("lint-imports")
    return str(exe) if exe.exists() else shutil.which("lint-imports")


@pytest.fixture(scope="module")
def lint_report() -> str:
    """lint-imports' report over the whole code base (skipped when import-linter is not installed)."""
    exe = _lint_imports()
    if exe is None:
        pytest.skip("import-linter (lint-imports) not installed: pip install -e '.[test]'")
    result = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=600)
    return result.stdout + result.stderr


def test_the_contracts_are_declared() -> None:
    assert any(n.startswith("layers") for n in CONTRACTS) and any("Qt" in n for n in CONTRACTS), CONTRACTS


@pytest.mark.parametrize("name", CONTRACTS)
def test_import_contract_kept(name: str, lint_report: str) -> None:
    assert f"{name} KEPT" in lint_report, lint_report

BLOCK_QT = (
    "import sys\n"
    "for name in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
    "    sys.modules[name] = None  # `import PySide6` now raises ImportError\n"
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK_QT + code], capture_output=True, text=True, timeout=300)


def test_analyze_json_works_without_qt(corpus: Path) -> None:
    run_dir = corpus / "runs" / "digits_mlp-f351"
    result = _run(f"from lrdoctor.cli import main; sys.exit(main(['analyze', {str(run_dir)!r}, '--json']))")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [f["mode"] for f in payload["runs"][0]["findings"]] == ["diverged"]


def test_library_api_without_qt(corpus: Path) -> None:
    code = (
        "import parsers\n"
        "from lrdoctor.analysis import analyze\n"
        "from lrdoctor.cost import estimate_costs\n"
        "from lrdoctor.report.model import build_report\n"
        f"a = analyze(parsers.load({str(corpus / 'sweeps' / 'sweep_synth_clf_adam')!r}))\n"
        "estimate_costs(a)\n"
        "print(len(a.runs), len(a.sweeps))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["8", "1"]
