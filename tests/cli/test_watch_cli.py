"""``lrdoctor watch``: a run still training is followed, and a divergence appended with TensorBoard's
own writer comes out as a JSON line and a non-zero exit within seconds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lrdoctor.cli import main

STARTUP_TIMEOUT_S = 120.0  # imports and the first analysis on a shared 2-core machine
FINDING_TIMEOUT_S = 20.0  # from the appended divergence to the process exit: a few polls


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_watch_reports_an_appended_divergence_and_fails_on_critical(live_tb_run, tmp_path: Path) -> None:
    err = tmp_path / "stderr.txt"
    with err.open("w") as err_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lrdoctor", "watch", str(live_tb_run.logdir.parent), "--json",
             "--fail-on", "critical", "--interval", "0.2", "--max-time", "300"],
            stdout=subprocess.PIPE, stderr=err_fh, text=True,
        )
        try:
            assert _wait_for(lambda: "watching 1 run" in err.read_text(), STARTUP_TIMEOUT_S), err.read_text()
            assert proc.poll() is None  # the healthy start is not a critical finding
            appended = time.monotonic()
            live_tb_run.diverge(25)
            proc.wait(timeout=FINDING_TIMEOUT_S)
            latency = time.monotonic() - appended
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = [json.loads(line) for line in proc.stdout.read().splitlines()]
    assert proc.returncode == 3  # EXIT_FINDINGS, the same code as analyze --fail-on
    diverged = [x for x in lines if x["mode"] == "diverged"]
    assert len(diverged) == 1 and diverged[0]["severity"] == "critical"
    assert diverged[0]["step_start"] > 2000  # after the 200 healthy points (10 steps apart)
    assert "diverged at step" in diverged[0]["message"] and diverged[0]["path"] == str(live_tb_run.logdir)
    assert latency < FINDING_TIMEOUT_S


def test_watch_prints_text_lines_and_stops_at_max_time(live_tb_run, capsys) -> None:
    code = main(["watch", str(live_tb_run.logdir.parent), "--interval", "0.1", "--max-time", "0.3"])
    captured = capsys.readouterr()
    assert code == 0  # no --fail-on: the findings are printed, the watch ends at --max-time
    assert "watching 1 run(s)" in captured.err
    assert all(line.startswith("[") for line in captured.out.splitlines())


def test_watch_missing_path_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["watch", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_watcher_reads_only_the_appended_records(live_tb_run) -> None:
    from lrdoctor.watch import RunWatcher

    watcher = RunWatcher([str(live_tb_run.logdir.parent)])
    start = watcher.start()
    assert [r.step_range for r in start.runs] == [(0, 1990)]
    assert not any(n.finding.mode == "diverged" for n in start.new_findings)
    live_tb_run.diverge(25)
    update = watcher.poll()
    assert [r.step_range for r in update.runs] == [(0, 2240)]
    assert [n.finding.mode for n in update.new_findings if n.finding.mode == "diverged"] == ["diverged"]
    # the event file was read once whole (start), then only from the end of its last record
    assert (watcher.reader.whole, watcher.reader.resumed) == (1, 1)
    assert not watcher.poll().changed  # nothing appended: nothing read



def test_relative_times_read_as_a_person_says_them() -> None:
    """The banner and ``lrdoctor watch`` lines: never "0 s ago", and whole units elapsed."""
    from lrdoctor.watch import ago

    assert ago(100.0, now=100.0) == ago(100.0, now=100.9) == "just now"
    assert ago(100.0, now=99.0) == "just now"  # a clock a little ahead of ours
    assert ago(100.0, now=101.2) == "1 s ago" and ago(100.0, now=159.9) == "59 s ago"
    assert ago(0.0, now=119.0) == "1 min ago" and ago(0.0, now=3 * 3600 + 5) == "3 h ago"


def test_a_run_that_never_learned_is_named_for_its_remedy(real_logs) -> None:
    # lrqa sits at ln 4 for 3,000 steps: its finding is a plateau whose remedy is the setup; the
    # watch line must not promise that a decay would help.
    import parsers
    from lrdoctor.analysis import analyze
    from lrdoctor.watch import NewFinding

    (ra,) = analyze(parsers.load(real_logs / "hf_trainer_state" / "quality-lrqa")).runs
    line = NewFinding(ra.run.name, ra.run.path, ra.findings[0], None).describe()
    assert "never learned (check the setup)" in line and "decay" not in line


@pytest.mark.parametrize("started_by", ["cli", "app"])
def test_a_sweep_member_read_again_keeps_its_sweep_context(corpus: Path, tmp_path: Path, started_by: str) -> None:
    # Watching a sweep folder: lr_1e-1 bounces far more than its siblings, which only the sweep shows
    # (an oscillating finding whose LR is the sweep's). When its log changes it is read again alone;
    # it must still be compared with its siblings, not lose what the sweep said.
    import os
    import shutil

    from lrdoctor.watch import RunWatcher

    import parsers
    from lrdoctor.analysis import analyze
    from lrdoctor.watch import scan

    sweep = tmp_path / "sweep"
    shutil.copytree(corpus / "sweeps" / "sweep_synth_clf_adam", sweep)
    if started_by == "cli":
        watcher = RunWatcher([str(sweep)])
        first = {ra.run.name: ra for ra in watcher.start().analyses}
    else:  # the app: it analysed the folder itself, then follows it with what it already knows
        watcher = RunWatcher([str(sweep)])
        watcher.files = scan(watcher.paths)
        analysis = analyze(parsers.load(sweep))
        for ra in analysis.runs:
            watcher.remember(ra)
        first = {ra.run.name: ra for ra in analysis.runs}
    assert ("oscillating", "sweep") in {(f.mode, f.suggested_lr_basis) for f in first["lr_1e-1"].findings}
    state = sweep / "lr_1e-1" / "trainer_state.json"
    st = state.stat()
    os.utime(state, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    update = watcher.poll()
    (again,) = update.analyses
    assert again.run.name == "lr_1e-1"
    assert ("oscillating", "sweep") in {(f.mode, f.suggested_lr_basis) for f in again.findings}
    assert again.suggested_lr == first["lr_1e-1"].suggested_lr
    assert not update.new_findings  # nothing new: the same diagnosis as before
