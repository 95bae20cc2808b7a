"""`lrdoctor` with no subcommand opens the app; a typo or a missing display gets a clear line, not a Qt abort."""

from __future__ import annotations

import os
import subprocess
import sys


def _lrdoctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lrdoctor", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_misspelt_command_is_named_with_a_suggestion() -> None:
    result = _lrdoctor("analyse", ".")
    assert result.returncode == 2
    assert "did you mean `lrdoctor analyze`" in result.stderr


def test_no_display_is_a_message_not_an_abort(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = _lrdoctor(str(tmp_path), env=env)
    assert result.returncode == 2
    assert "no display" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_version_and_help() -> None:
    from lrdoctor import __version__

    assert _lrdoctor("--version").stdout.strip() == f"lrdoctor {__version__}"
    help_text = _lrdoctor("--help").stdout
    for command in ("inspect", "analyze", "report"):
        assert command in help_text
