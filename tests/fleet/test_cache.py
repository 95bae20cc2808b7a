"""Per-run-unit result cache: hits, invalidation when a file changes, corrupt entries ignored and rewritten."""

from __future__ import annotations

import json
import os
from pathlib import Path

from lrdoctor.analysis.contract import analysis_to_dict
from lrdoctor.fleet import analyze_paths
from lrdoctor.fleet.cache import ResultCache

from .writers import write_fleet, write_run


def _run(root: Path, cache: ResultCache):
    seen: list[tuple[int, int, str]] = []
    analysis = analyze_paths([root], jobs=1, cache=cache, progress=lambda d, t, w: seen.append((d, t, w)))
    hits = next((d for d, _, w in seen if w == "cached"), 0)
    return analysis, hits


def _entries(cache: ResultCache) -> list[Path]:
    return sorted(cache.folder.rglob("*.pkl"))


def test_cache_hit_change_and_corrupt_entry(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_fleet(logs, 4, steps=200)
    before = {p: p.stat().st_mtime_ns for p in logs.rglob("*")}
    cache = ResultCache(tmp_path / "cache")

    fresh, hits = _run(logs, cache)
    assert hits == 0 and len(fresh.runs) == 4 and len(_entries(cache)) == 4
    again, hits = _run(logs, cache)
    assert hits == 4
    assert json.dumps(analysis_to_dict(again)) == json.dumps(analysis_to_dict(fresh))
    uncached = analyze_paths([logs], jobs=1, cache=False)
    assert json.dumps(analysis_to_dict(uncached)) == json.dumps(analysis_to_dict(fresh))

    # A run whose file changed is read again, the others come from the cache.
    (event,) = (logs / "run_0001").glob("*tfevents*")
    event.unlink()
    write_run(logs / "run_0001", steps=300, seed=99)
    changed, hits = _run(logs, cache)
    assert hits == 3
    assert changed.runs[1].steps == 300 and fresh.runs[1].steps == 200

    # A damaged entry is ignored (the run is analysed again) and written over with a good one.
    victim = max(_entries(cache), key=lambda p: p.stat().st_mtime_ns)  # in use, not the stale one
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
    repaired, hits = _run(logs, cache)
    assert hits == 3
    assert json.dumps(analysis_to_dict(repaired)) == json.dumps(analysis_to_dict(changed))
    _, hits = _run(logs, cache)
    assert hits == 4

    # Garbage that is not an entry at all is ignored too.
    victim.write_bytes(b"not a cache entry")
    _, hits = _run(logs, cache)
    assert hits == 3

    # Nothing was written next to the logs, and the logs themselves were never touched.
    untouched = {p: t for p, t in before.items() if "run_0001" not in str(p)}
    assert {p: p.stat().st_mtime_ns for p in untouched} == untouched
    assert sorted(p.name for p in logs.rglob("*") if p.is_file() and "run_0001" not in str(p)) == sorted(
        p.name for p in untouched if p.is_file())


def test_role_override_is_part_of_the_key(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    write_fleet(logs, 2, steps=200)
    cache = ResultCache(tmp_path / "cache")
    plain = analyze_paths([logs], jobs=1, cache=cache)
    seen: list[tuple[int, int, str]] = []
    swapped = analyze_paths([logs], jobs=1, cache=cache, roles={"val/loss": "train_loss", "train/loss": "other"},
                            progress=lambda d, t, w: seen.append((d, t, w)))
    assert not any(w == "cached" for _, _, w in seen)
    assert swapped.runs[0].run.roles["val/loss"] == "train_loss" != plain.runs[0].run.roles["val/loss"]


def test_default_cache_folder_is_the_user_cache(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LRDOCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert ResultCache().folder == tmp_path / "xdg" / "lrdoctor" / "runs"
