"""Hugging Face ``trainer_state.json`` reader on the real files, the corpus and hand-written states."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers import huggingface
from parsers.model import validate_scalars


def _state(log_history: list[dict], **extra) -> dict:
    base = {
        "best_metric": None,
        "best_model_checkpoint": None,
        "epoch": 1.0,
        "global_step": max((e.get("step", 0) for e in log_history if isinstance(e, dict)), default=0),
        "is_hyper_param_search": False,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "log_history": log_history,
        "max_steps": 10,
        "num_train_epochs": 1,
        "total_flos": 0,
        "trial_name": None,
        "trial_params": None,
    }
    base.update(extra)
    return base


def _write(path: Path, state: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The Trainer writes json.dumps(..., indent=2, sort_keys=True) + "\n".
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    return path


def _only(result) -> parsers.Run:
    assert len(result) == 1, [r.name for r in result]
    return result[0]


def test_lrqa_plateau_file(real_logs: Path) -> None:
    file = real_logs / "hf_trainer_state/quality-lrqa/baselines/lrqa/__init__.py.trainer_state.json"
    run = _only(parsers.load(file))
    validate_scalars(run.scalars)
    assert run.format == "hf_trainer_state"
    assert run.name == "lrqa"
    counts = run.point_counts()
    assert counts["loss"] == 62 and counts["eval_loss"] == 62 and counts["learning_rate"] == 62
    assert counts["eval_accuracy"] == 62
    assert "train_loss" not in counts  # the final summary entry is metadata
    assert run.primary_tag("train_loss") == "loss"
    assert run.primary_tag("val_loss") == "eval_loss"
    assert run.primary_tag("lr") == "learning_rate"
    assert run.primary_tag("grad_norm") is None
    loss = run.series("loss")
    assert loss["step"].iloc[0] == 50 and loss["value"].iloc[0] == pytest.approx(1.387)
    assert np.isnan(loss["wall_time"]).all()
    lr = run.series("learning_rate")
    assert lr["value"].iloc[0] == pytest.approx(7.911392405063292e-06)
    assert run.meta["global_step"] == 3140 and run.meta["max_steps"] == 3140
    assert run.meta["train_runtime"] == pytest.approx(12359.4488)
    assert run.meta["train_steps_per_second"] == pytest.approx(0.254)
    assert run.meta["train_summary"]["train_loss"] == pytest.approx(1.3949827522229237)
    assert run.files == [str(file)]


def test_all_real_trainer_states(real_logs: Path) -> None:
    result = parsers.load(real_logs / "hf_trainer_state")
    assert not result.all_warnings()
    by_name = {r.name: r for r in result}
    # The collection grows; these are the states this test checks in detail.
    assert {"lrqa", "tinyllama-finetune-dheena", "whisper-large-v2-ja", "checkpoint-of-cpt"} <= set(by_name)
    # Star's draft-head state logs its LR under "lr", not "learning_rate": still the LR.
    star = by_name["star-eagle-draft"]
    assert star.primary_tag("lr") == "lr" and star.primary_tag("train_loss") == "loss"

    tiny = by_name["tinyllama-finetune-dheena"]
    c = tiny.point_counts()
    assert (c["loss"], c["grad_norm"], c["learning_rate"], c["eval_loss"]) == (186, 186, 186, 14)
    assert tiny.primary_tag("grad_norm") == "grad_norm"
    assert tiny.series("loss")["value"].iloc[0] == pytest.approx(2.0762)
    assert tiny.series("eval_loss")["value"].iloc[-1] == pytest.approx(1.1219322681427002)
    assert tiny.meta["best_metric"] == pytest.approx(1.1219322681427002)
    assert tiny.meta["best_model_checkpoint"] == "./results/checkpoint-2800"
    assert tiny.meta["max_steps"] == 2808
    assert "train_runtime" not in tiny.meta  # this state was saved before the end of training

    whisper = by_name["whisper-large-v2-ja"]
    c = whisper.point_counts()
    assert (c["loss"], c["eval_loss"], c["eval_wer"]) == (200, 5, 5)
    assert whisper.series("loss")["value"].iloc[-1] == pytest.approx(0.0002)
    assert whisper.series("eval_loss")["value"].iloc[0] == pytest.approx(0.3210, abs=1e-4)
    assert whisper.meta["train_runtime"] == pytest.approx(77350.9963)

    cpt = by_name["checkpoint-of-cpt"]
    c = cpt.point_counts()
    assert (c["loss"], c["eval_loss"], c["grad_norm"]) == (10, 10, 10)
    # predict_* entries carry no step: they take the step of the eval logged just before.
    assert c["predict_loss"] == 10
    predict = cpt.series("predict_loss")
    assert predict["step"].iloc[0] == 549 and predict["value"].iloc[0] == pytest.approx(0.6476863622665405)
    assert cpt.meta["stepless_entries"] == 10


def _corpus_hf_runs(corpus: Path) -> list[Path]:
    labels = sorted(corpus.glob("runs/*/labels.json")) + sorted(corpus.glob("sweeps/*/lr_*/labels.json"))
    labels += sorted(corpus.glob("range_tests/*/labels.json"))
    return [p for p in labels if json.loads(p.read_text())["format"] == "hf_trainer_state"]


def test_corpus_trainer_states_have_labelled_series(corpus: Path) -> None:
    labels = _corpus_hf_runs(corpus)
    assert len(labels) >= 24
    for label_file in labels:
        label = json.loads(label_file.read_text())
        run = _only(parsers.load(label_file.parent))
        validate_scalars(run.scalars)
        assert run.name == label_file.parent.name
        assert run.path == str(label_file.parent)
        states = [json.loads((label_file.parent / f).read_text()) for f in label["files"]]
        has_eval = any("eval_loss" in e for st in states for e in st["log_history"])
        for key, tag in label["series"].items():
            if key.startswith("val") and not has_eval:
                continue  # range tests log no evaluation
            assert tag in run.tags(), (label_file, tag)
        assert run.primary_tag("train_loss") == label["series"]["train_loss"]
        assert run.primary_tag("lr") == label["series"]["lr"]
        assert run.series("loss")["step"].iloc[-1] == label["steps"]
        assert run.meta["train_runtime"] == pytest.approx(label["wall_time_s"], rel=0.01)


def test_corpus_checkpoint_copy_values(corpus: Path) -> None:
    run = _only(parsers.load(corpus / "runs/breast_cancer_mlp-c017"))
    loss = run.series("loss")
    assert len(loss) == 1000
    assert (loss["step"].iloc[0], loss["value"].iloc[0]) == (1, pytest.approx(0.7003))
    assert run.series("grad_norm")["value"].iloc[0] == pytest.approx(0.34401434659957886)
    assert run.series("eval_accuracy")["value"].iloc[-1] == pytest.approx(0.9766082167625427)
    assert run.meta["best_metric"] == pytest.approx(0.04899466782808304)
    assert run.meta["train_runtime"] == pytest.approx(0.6513)


def test_checkpoint_tree_is_one_run_newest_copy_wins(tmp_path: Path) -> None:
    out = tmp_path / "my-finetune"
    history = [
        {"epoch": 0.1 * s, "grad_norm": 1.0 / s, "learning_rate": 1e-4, "loss": 2.0 - 0.1 * s, "step": s}
        for s in range(1, 11)
    ]
    history_eval = [{"epoch": 0.5, "eval_loss": 1.7, "step": 5}]
    _write(out / "checkpoint-5/trainer_state.json", _state(history[:5] + history_eval, global_step=5))
    final = history + history_eval + [{"epoch": 1.0, "eval_loss": 1.2, "step": 10}]
    _write(out / "checkpoint-10/trainer_state.json", _state(final, global_step=10))
    # An older copy with a newer mtime must not win over the larger global_step.
    os.utime(out / "checkpoint-5/trainer_state.json", (2e9, 2e9))
    result = parsers.load(tmp_path)
    run = _only(result)
    assert run.name == "my-finetune" and run.path == str(out)
    assert len(run.files) == 2
    assert run.meta["global_step"] == 10 and run.meta["copies"] == 2
    assert run.point_counts()["loss"] == 10
    assert list(run.series("eval_loss")["value"]) == [1.7, 1.2]
    # epoch is logged by the train and the eval entry at step 5: one point.
    assert (run.series("epoch")["step"] == 5).sum() == 1


def test_equal_copies_newest_mtime_wins(tmp_path: Path) -> None:
    out = tmp_path / "out"
    a = _write(out / "checkpoint-4/trainer_state.json", _state([{"loss": 1.0, "step": 4}], global_step=4))
    b = _write(out / "trainer_state.json", _state([{"loss": 0.5, "step": 4}], global_step=4))
    os.utime(a, (1e9, 1e9))
    os.utime(b, (1.5e9, 1.5e9))
    run = _only(parsers.load(out))
    assert run.series("loss")["value"].tolist() == [0.5]
    assert run.meta["source_file"] == str(b)


def test_nan_loss_is_kept(tmp_path: Path) -> None:
    history = [{"loss": 1.0, "step": 1}, {"loss": float("nan"), "grad_norm": float("inf"), "step": 2}]
    file = _write(tmp_path / "trainer_state.json", _state(history))
    assert "NaN" in file.read_text()
    run = _only(parsers.load(file))
    loss = run.series("loss")["value"].tolist()
    assert loss[0] == 1.0 and math.isnan(loss[1])
    assert math.isinf(run.series("grad_norm")["value"].iloc[0])


def test_bad_files_warn_and_others_load(tmp_path: Path) -> None:
    good = _write(tmp_path / "good/trainer_state.json", _state([{"loss": 1.0, "step": 1}]))
    text = json.dumps(_state([{"loss": 1.0, "step": 1}, {"loss": 0.9, "step": 2}]), indent=2)
    (tmp_path / "cut").mkdir()
    cut = tmp_path / "cut/trainer_state.json"
    cut.write_text(text[: len(text) // 2])
    (tmp_path / "odd").mkdir()
    odd = _write(tmp_path / "odd/trainer_state.json", _state([{"loss": 2.0}, {"loss": 1.0, "step": 1}, "junk"]))
    result = parsers.load(tmp_path)
    names = sorted(r.name for r in result)
    assert names == ["good", "odd"]
    messages = [str(w) for w in result.all_warnings()]
    cut_msgs = [m for m in messages if str(cut) in m]
    assert len(cut_msgs) == 1 and "not valid JSON" in cut_msgs[0] and "\n" not in cut_msgs[0]
    odd_msgs = [m for m in messages if str(odd) in m]
    assert len(odd_msgs) == 1 and "2 log_history entries" in odd_msgs[0]
    assert good.exists()


def test_sniff_is_content_based(tmp_path: Path) -> None:
    other = tmp_path / "trainer_state.json"
    other.write_text(json.dumps({"foo": [1, 2, 3]}))
    assert not huggingface.sniff(other)
    renamed = tmp_path / "whatever.txt"
    renamed.write_text(json.dumps(_state([{"loss": 1.0, "step": 1}]), indent=2, sort_keys=True))
    assert huggingface.sniff(renamed)
    # log_history written last and pushed beyond the first 64 KiB by a long field.
    big = tmp_path / "big.json"
    state = {"zz_notes": "x" * 70000}
    big.write_text(json.dumps(state)[:-1] + ', "log_history": [{"loss": 1.0, "step": 1}]}')
    assert huggingface.sniff(big)
    assert _only(huggingface.read(big)).series("loss")["value"].tolist() == [1.0]
