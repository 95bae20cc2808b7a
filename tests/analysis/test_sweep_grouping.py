"""LR sweeps: grouping, LR sources, best / largest stable / suggested LR on the corpus and real logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis.sweep import find_sweeps, lr_from_name, run_outcome


@pytest.mark.parametrize(
    "name, lr",
    [("lr_3e-2", 3e-2), ("UNet_dr015_bs16_lr2e_4", 2e-4), ("run-lr=0.001-seed1", 1e-3),
     ("LR_1e-3", 1e-3), ("lr_1e0", 1.0), ("resnet_learning_rate-3e-4", 3e-4),
     ("UNet_wd_1e_4", None), ("clr_1e-3", None), ("bright-sun-254", None)],
)
def test_lr_from_name(name: str, lr: float | None) -> None:
    assert lr_from_name(name) == (None if lr is None else pytest.approx(lr))


def test_corpus_sweeps_best_and_max_stable(corpus: Path) -> None:
    for sweep_json in sorted((corpus / "sweeps").glob("*/sweep.json")):
        truth = json.loads(sweep_json.read_text())
        (sweep,) = find_sweeps(parsers.load(sweep_json.parent))
        assert Path(sweep.path) == sweep_json.parent
        assert len(sweep.run_keys) == len(sweep.names) == len(truth["lrs"])
        assert sorted(p["lr"] for p in sweep.points) == pytest.approx(sorted(truth["lrs"]))
        assert sweep.best_lr == pytest.approx(truth["best_lr"]), truth["sweep"]
        assert sweep.max_stable_lr == pytest.approx(truth["max_stable_lr"]), truth["sweep"]
        assert sweep.suggested_lr <= sweep.max_stable_lr
        assert max(sweep.suggested_lr, truth["best_lr"]) / min(sweep.suggested_lr, truth["best_lr"]) < 3
        by_lr = {r["lr"]: r for r in truth["runs"]}
        for point in sweep.points:
            expected = by_lr[min(by_lr, key=lambda x: abs(x - point["lr"]))]
            assert point["diverged"] == expected["diverged"], point
            assert point["failed"] == expected["failed_to_learn"], point


def test_corpus_root_finds_exactly_the_named_sweeps(corpus: Path) -> None:
    sweeps = find_sweeps(parsers.load(corpus / "sweeps"))
    assert sorted(Path(s.path).name for s in sweeps) == sorted(
        p.parent.name for p in (corpus / "sweeps").glob("*/sweep.json"))


def test_real_unet_sweep_lr_from_run_names(real_logs: Path) -> None:
    sweeps = find_sweeps(parsers.load(real_logs / "tensorboard/pets-seg-unipr"))
    by_folder = {Path(s.path).parent.name: s for s in sweeps}
    assert set(by_folder) == {"unet", "deeplabv3_resnet101"}
    unet = by_folder["unet"]
    # Only the runs that differ by LR alone (wd_* and dr*/bs* variants are other settings).
    assert sorted(unet.names) == ["UNet_lr1e_3", "UNet_lr2e_3", "UNet_lr5e_4", "UNet_lr7e_5"]
    assert {p["lr_source"] for p in unet.points} == {"name"}
    # Mean of the last 3 test losses read from the files: lr1e_3 is lowest (~0.098), lr2e_3
    # oscillates high (~0.25) but never diverges, so it is the largest stable LR.
    assert unet.best_lr == pytest.approx(1e-3)
    assert unet.max_stable_lr == pytest.approx(2e-3)
    deeplab = by_folder["deeplabv3_resnet101"]
    assert sorted(p["lr"] for p in deeplab.points) == pytest.approx([7e-5, 2e-4, 3e-4, 4e-4, 5e-4])
    assert all(not p["diverged"] and not p["failed"] for p in deeplab.points)


def test_outcome_of_a_diverged_run(corpus: Path) -> None:
    (run,) = parsers.load(corpus / "sweeps/sweep_digits_mlp_sgd/lr_3e0")
    outcome = run_outcome(run)
    assert outcome["diverged"] is True
    assert outcome["final_loss"] is None
