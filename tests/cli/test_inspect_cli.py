"""`lrdoctor inspect` as a user runs it: real files, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _lrdoctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lrdoctor", *args], capture_output=True, text=True, timeout=300
    )


def test_inspect_json_on_corpus_runs(corpus: Path) -> None:
    result = _lrdoctor("inspect", str(corpus / "runs"), "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    labelled = {p.name for p in (corpus / "runs").iterdir() if (p / "labels.json").exists()}
    # every corpus run (whatever its format) is found: some run lives in each run folder
    found = {Path(r["path"]).relative_to(corpus / "runs").parts[0] for r in payload["runs"]}
    assert found == labelled
    for r in payload["runs"]:
        assert r["points"] > 0
        assert any(t["role"] == "train_loss" for t in r["tags"]), r["name"]


def test_inspect_text_lists_tags_with_roles(corpus: Path) -> None:
    run_dir = next(p for p in sorted((corpus / "runs").iterdir()) if list(p.glob("events.out.tfevents.*")))
    result = _lrdoctor("inspect", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert "[tensorboard]" in result.stdout
    assert "train_loss" in result.stdout and "lr" in result.stdout


def test_inspect_nothing_loaded_exits_2_with_one_line_per_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x00\x01\x02garbage\xff" * 50)
    result = _lrdoctor("inspect", str(bad))
    assert result.returncode == 2
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and str(bad) in lines[0]
