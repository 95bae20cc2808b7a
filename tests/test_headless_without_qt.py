"""The library and the headless commands work on a machine without Qt (napari runs a Qt-less job for the same reason).

Each check runs in a subprocess where importing PySide6, shiboken6 or pyqtgraph fails, as if they were not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
