"""Schedule inference on the labeled corpus, on real logs, and on scheduler formulas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis.schedule import infer_schedule

# Corpus label names that differ from our kind names.
LABEL_TO_KIND = {"onecycle": "one_cycle"}
MIN_CORPUS_ACCURACY = 0.9


def _lr_of(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    runs = [r for r in parsers.load(path) if r.primary_tag("lr") is not None]
    if not runs:
        return None
    d = runs[0].role_series("lr")
    return d["step"].to_numpy(), d["value"].to_numpy()


def test_schedule_kind_accuracy_on_corpus(corpus: Path) -> None:
    hits, total, misses = 0, 0, []
    for labels_file in sorted((corpus / "runs").glob("*/labels.json")):
        labels = json.loads(labels_file.read_text())
        series = _lr_of(labels_file.parent)
        if series is None:
            continue
        truth = LABEL_TO_KIND.get(labels["schedule"]["name"], labels["schedule"]["name"])
        kind = infer_schedule(*series).kind
        total += 1
        hits += kind == truth
        if kind != truth:
            misses.append(f"{labels['run']}: {kind} != {truth}")
    # The CSV/HF/W&B readers alone cover 72 runs; TensorBoard adds 24 more.
    assert total >= 72, f"only {total} corpus runs loaded with an LR"
    assert hits / total >= MIN_CORPUS_ACCURACY, misses


def test_corpus_params_match_labels(corpus: Path) -> None:
    """Warmup length, step boundaries and exponential gamma agree with the generator's config."""
    checked = 0
    for labels_file in sorted((corpus / "runs").glob("*/labels.json")):
        labels = json.loads(labels_file.read_text())
        sched = labels["schedule"]
        series = _lr_of(labels_file.parent)
        if series is None:
            continue
        got = infer_schedule(*series)
        every = int(np.median(np.diff(series[0])))
        if sched["name"] in ("warmup_constant", "warmup_cosine"):
            assert abs(got.params["warmup_steps"] - sched["warmup_steps"]) <= 2 * every + 1
            checked += 1
        elif sched["name"] == "step":
            base = labels["step_base"]
            assert [b - base for b in got.params["boundaries"]] == pytest.approx(
                sched["milestones"], abs=2 * every + 1
            )
            checked += 1
        elif sched["name"] == "exponential":
            assert got.params["gamma"] == pytest.approx(sched["gamma"], abs=2e-3 * every)
            checked += 1
    assert checked >= 15


def test_real_hf_whisper_is_warmup_linear(real_logs: Path) -> None:
    got = infer_schedule(*_lr_of(real_logs / "hf_trainer_state/whisper-large-v2-ja"))
    assert got.kind == "warmup_linear"
    # Logged every 25 steps: warmup to ~1e-5 ends at step 500.
    assert got.params["warmup_steps"] == pytest.approx(475, abs=50)
    assert got.params["peak_lr"] == pytest.approx(1e-5, rel=0.01)


def test_real_hf_tinyllama_is_warmup_cosine(real_logs: Path) -> None:
    got = infer_schedule(*_lr_of(real_logs / "hf_trainer_state/tinyllama-finetune-dheena"))
    assert got.kind == "warmup_cosine"
    assert got.params["r2"] > 0.99
    # Cosine to ~0: the LR is below 2% of its peak only in the last few percent.
    assert 2400 < got.params["lr_below_2pct_of_peak_at_step"] < 2790


def test_real_yolov3_one_cycle(real_logs: Path) -> None:
    for version, peak in (("version_1", 0.089), ("version_4", 8e-4)):
        path = real_logs / "lightning_csv/era-v1-session13-yolov3/lightning_logs" / version
        got = infer_schedule(*_lr_of(path))
        assert got.kind == "one_cycle", version
        assert got.params["peak_lr"] == pytest.approx(peak, rel=0.01)


def _detectron_lr(path: Path) -> tuple[np.ndarray, np.ndarray]:
    series = _lr_of(path)
    if series is not None:
        return series
    # Until a detectron2 reader is registered: its metrics.json is JSON lines.
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if "lr" in r]
    return np.array([r["iteration"] for r in rows]), np.array([r["lr"] for r in rows])


def test_real_detectron2_warmup_then_step(real_logs: Path) -> None:
    got = infer_schedule(*_detectron_lr(
        real_logs / "detectron2_metrics_json/medical-waste-detectron2/output/metrics.json"))
    assert got.kind == "warmup_step"
    assert got.params["peak_lr"] == pytest.approx(5e-5)
    assert got.params["warmup_steps"] == pytest.approx(1000, abs=40)


def test_real_detectron2_short_run_is_an_unfinished_warmup(real_logs: Path) -> None:
    got = infer_schedule(*_detectron_lr(
        real_logs / "detectron2_metrics_json/detectron2-detection-ghailen/output/metrics.json"))
    assert got.kind == "warmup_constant"
    assert got.params["warmup_complete"] is False


# -- scheduler formulas (what torch.optim.lr_scheduler computes) -----------------
def _cosine(t: np.ndarray, total: int, peak: float, floor: float = 0.0) -> np.ndarray:
    return floor + (peak - floor) * 0.5 * (1 + np.cos(np.pi * np.minimum(t / total, 1.0)))


def test_logged_every_n_steps_with_rounding() -> None:
    steps = np.arange(0, 10_000, 50)
    warm = 500
    lr = np.where(steps < warm, 3e-4 * (steps + 1) / warm,
                  _cosine(steps - warm, 10_000 - warm, 3e-4, 3e-5))
    rounded = np.array([float(f"{v:.3g}") for v in lr])  # 3 significant digits
    got = infer_schedule(steps, rounded)
    assert got.kind == "warmup_cosine"
    assert got.params["warmup_steps"] == pytest.approx(warm, abs=60)
    assert got.params["min_lr"] == pytest.approx(3e-5, rel=0.02)
    assert got.params["fitted_min_lr"] == pytest.approx(3e-5, rel=0.25)


def test_per_epoch_staircase_cosine_is_cosine() -> None:
    steps = np.arange(3000)
    epoch = steps // 100
    got = infer_schedule(steps, _cosine(epoch * 100.0, 3000, 0.1))
    assert got.kind == "cosine"


def test_multistep_and_exponential() -> None:
    steps = np.arange(900)
    lr = 0.1 * 0.1 ** ((steps >= 300).astype(int) + (steps >= 600).astype(int))
    got = infer_schedule(steps, lr)
    assert got.kind == "step"
    assert got.params["boundaries"] == [300, 600]
    assert got.params["gamma"] == pytest.approx(0.1)
    exp = infer_schedule(steps, 0.01 * 0.995 ** steps)
    assert exp.kind == "exponential"
    assert exp.params["gamma"] == pytest.approx(0.995, abs=1e-4)


def test_cyclic_triangular() -> None:
    steps = np.arange(2000)
    phase = (steps % 400) / 200.0
    lr = 1e-4 + (1e-2 - 1e-4) * np.where(phase < 1, phase, 2 - phase)
    got = infer_schedule(steps, lr)
    assert got.kind == "cyclic"
    assert got.params["period"] == pytest.approx(400, abs=2)


def test_wsd_and_range_test_ramp() -> None:
    steps = np.arange(1000)
    lr = np.clip(steps / 50, 0, 1) * np.clip((1000 - steps) / 200, 0, 1) * 1e-3
    got = infer_schedule(steps, lr)
    assert got.kind == "wsd"
    assert got.params["decay_start_step"] == pytest.approx(800, abs=2)
    ramp = infer_schedule(np.arange(300), 1e-7 * (1e8) ** (np.arange(300) / 299))
    assert ramp.kind == "exponential" and ramp.params["gamma"] > 1


def test_decay_to_zero_early_reports_when() -> None:
    steps = np.arange(1, 501)
    got = infer_schedule(steps, _cosine(steps - 1.0, 100, 3e-3))
    assert got.kind == "cosine"
    # cos schedule over 100 steps: <= 2% of peak from t = 100 * acos(-0.96) / pi ~ 91
    assert got.params["lr_below_2pct_of_peak_at_step"] == pytest.approx(92, abs=1)


def test_no_usable_lr() -> None:
    assert infer_schedule(np.array([]), np.array([])).kind == "unknown"
    assert infer_schedule(np.arange(3), np.full(3, np.nan)).kind == "unknown"
    assert infer_schedule(np.arange(5), np.full(5, 1e-3)).kind == "constant"
