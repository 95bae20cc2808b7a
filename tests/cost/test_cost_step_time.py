"""Step time from the log's clock: corpus clocks, pauses, restarts, no clock."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.cost import CostSettings, measure_step_time, step_time_for

_spec = importlib.util.spec_from_file_location("cost_tb_writer", Path(__file__).with_name("cost_tb_writer.py"))
tb_writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tb_writer)

STEP_S = 0.5
EVAL_S = 30.0


def _labels(corpus: Path, fmt: str) -> list[dict]:
    out = []
    for p in sorted((corpus / "runs").glob("*/labels.json")):
        data = json.loads(p.read_text())
        if data["format"] == fmt:
            data["_dir"] = p.parent
            out.append(data)
    return out


@pytest.mark.parametrize("fmt", ["tensorboard", "hf_trainer_state"])
def test_logged_clock_matches_the_labelled_step_time(corpus: Path, fmt: str) -> None:
    """Per-step time plus the costed pauses spread over the run = the labelled mean (eval included)."""
    labels = _labels(corpus, fmt)
    assert len(labels) == 24
    for lab in labels:
        run = parsers.load(lab["_dir"])[0]
        st = measure_step_time(run)
        assert st is not None and st.source == "logged", lab["run"]
        effective = (lab["steps"] * st.seconds_per_step + st.pause_seconds()) / lab["steps"]
        assert effective == pytest.approx(lab["step_time_s"], rel=0.05), lab["run"]


def test_no_clock_is_never_invented(corpus: Path) -> None:
    lab = _labels(corpus, "lightning_csv")[0]
    run = parsers.load(lab["_dir"])[0]
    assert measure_step_time(run) is None
    st = step_time_for(run, None)
    assert st.seconds_per_step is None and st.source is None and st.notes
    assumed = step_time_for(run, CostSettings(tokens_per_second=4000, tokens_per_step=2000).assumed_step_time())
    assert assumed.source == "assumed" and assumed.seconds_per_step == pytest.approx(0.5)


def test_pauses_are_excluded_and_reported(tmp_path: Path) -> None:
    steps = np.arange(200)
    walls = 1.7e9 + steps * STEP_S + EVAL_S * (steps // 50)  # an evaluation after steps 49, 99, 149
    tb_writer.write_events(tmp_path, "", steps, walls, np.linspace(2, 1, 200))
    st = measure_step_time(parsers.load(tmp_path)[0])
    assert st.seconds_per_step == pytest.approx(STEP_S)
    assert [(p.step, p.kind) for p in st.pauses] == [(50, "pause"), (100, "pause"), (150, "pause")]
    assert [p.seconds for p in st.pauses] == pytest.approx([EVAL_S] * 3, abs=1e-3)
    summary = st.pauses_summary()
    assert summary["count"] == 3 and summary["total_s"] == pytest.approx(90, abs=1e-2)
    assert st.pause_seconds(120, 199) == pytest.approx(EVAL_S, abs=1e-3)


def test_a_logged_clock_beats_an_assumed_step_time(tmp_path: Path) -> None:
    steps = np.arange(50)
    tb_writer.write_events(tmp_path, "", steps, 1.7e9 + steps * STEP_S, np.ones(50))
    st = step_time_for(parsers.load(tmp_path)[0], (9.0, "given: 9 s/step"))
    assert st.source == "logged" and st.seconds_per_step == pytest.approx(STEP_S)
    assert any("not used" in n for n in st.notes)


def test_logged_per_step_times_are_the_clock(real_logs) -> None:
    """nanoGPT's ``time 2.65ms`` and detectron2's per-iteration ``time`` price the run; the time left
    (``eta_seconds``) and the data-loading share (``data_time``) are never taken for a step's time."""
    from pathlib import Path

    import parsers
    from lrdoctor.cost.step_time import step_time_for

    repo = Path(__file__).resolve().parents[2]
    (nano,) = parsers.load(repo / "sample_logs" / "transcribed" / "nanogpt_console")
    st = step_time_for(nano, None)
    assert st.source == "logged" and st.tag == "time"
    assert nano.meta["units"]["time"] == "ms"
    times = nano.scalars.loc[nano.scalars["tag"] == "time", "value"].to_numpy() / 1000.0
    assert min(times) <= st.seconds_per_step <= sorted(times)[len(times) // 2] * 5  # ms read as ms

    for run in parsers.load(real_logs / "detectron2_metrics_json"):
        assert run.roles.get("eta_seconds") in (None, "other") and run.roles.get("data_time") in (None, "other")
        st = step_time_for(run, None)
        assert st.source == "logged" and st.tag == "time", (run.name, st.method)
        logged = run.scalars.loc[run.scalars["tag"] == "time", "value"]
        assert logged.min() <= st.seconds_per_step <= logged.max()
