"""Console logs whose batch counter restarts every epoch, whatever the file's extension.

The lines are written with the format strings of the scripts that print them (PyTorch's
MNIST example and its beginner tutorial), as those scripts would write them to a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import parsers


def _mnist_example_log(path: Path, epochs: int, losses: list[float]) -> None:
    """pytorch/examples mnist/main.py: ``Train Epoch: {} [{}/{} ({:.0f}%)]\\tLoss: {:.6f}`` and the test line."""
    n, batch, interval = 60000, 64, 100
    it = iter(losses)
    with open(path, "w") as fh:
        for epoch in range(1, epochs + 1):
            for batch_idx in range(0, n // batch, interval):
                fh.write("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}\n".format(
                    epoch, batch_idx * batch, n, 100.0 * batch_idx * batch / n, next(it)))
            fh.write("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n\n".format(
                0.1 / epoch, 9800 + epoch, 10000, 98.0))


def test_mnist_example_epochs_join_into_one_axis(tmp_path: Path) -> None:
    losses = list(np.linspace(2.3, 0.05, 3 * 10))
    _mnist_example_log(tmp_path / "train.out", 3, losses)
    (run,) = parsers.load(tmp_path)
    loss = run.series(run.primary_tag("train_loss"))
    steps = loss["step"].to_numpy()
    assert len(steps) == 30 and np.all(np.diff(steps) > 0)  # no epoch superseded by the next
    # Each epoch starts after the 60,000 samples of the one before.
    assert steps[10] == 60000 and steps[20] == 120000
    np.testing.assert_allclose(loss["value"], np.round(losses, 6))
    assert run.primary_tag("val_loss") == "Test set Average loss"  # the section says it is the test set
    acc = run.series(run.primary_tag("val_metric"))
    assert acc["value"].iloc[0] == 0.9801  # "9801/10000" is a ratio


def test_tutorial_log_saved_as_markdown_with_nan_losses_loads(tmp_path: Path) -> None:
    """The beginner tutorial's print, all losses nan, saved as notes in a .md file."""
    with open(tmp_path / "training_notes.md", "w") as fh:
        fh.write("# run 3\n\n")
        for epoch in range(5):
            for i in range(600):
                if (i + 1) % 100 == 0:
                    fh.write("Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}\n".format(
                        epoch + 1, 5, i + 1, 600, float("nan")))
    (run,) = parsers.load(tmp_path)
    loss = run.series(run.primary_tag("train_loss"))
    assert np.isnan(loss["value"]).all() and len(loss) == 30
    assert loss["step"].iloc[0] == 100 and loss["step"].iloc[6] == 700 and loss["step"].iloc[-1] == 3000


def test_readme_quoting_a_few_log_lines_is_not_a_log(tmp_path: Path) -> None:
    text = ["# My model", "", "Train it with `python train.py`. You should see:", "", "```"]
    text += [f"step {i} | loss: {3 - i / 100:.3f} | lr 3e-4" for i in range(0, 40, 10)]
    text += ["```", ""] + [f"Paragraph {i} of prose about the model, the data and the results." for i in range(10)]
    (tmp_path / "README.md").write_text("\n".join(text) + "\n")
    runs = parsers.load(tmp_path)
    assert len(runs) == 0


def test_log_without_extension_and_epoch_batch_pairs(tmp_path: Path) -> None:
    with open(tmp_path / "stdout", "w") as fh:
        for epoch in range(3):
            for b in range(0, 50, 10):
                fh.write(f"Epoch: {epoch}, Batch: {b}, loss: {1.0 / (1 + epoch * 5 + b / 10):.4f}\n")
    (run,) = parsers.load(tmp_path)
    steps = run.series(run.primary_tag("train_loss"))["step"].to_numpy()
    assert len(steps) == 15 and np.all(np.diff(steps) > 0)
    assert list(steps[:7]) == [0, 10, 20, 30, 40, 50, 60]  # epoch 1 continues one interval after epoch 0


def test_objective_is_the_training_loss_not_the_validation_loss(tmp_path: Path) -> None:
    with open(tmp_path / "metrics.csv", "w") as fh:
        fh.write("step,objective,val_loss\n")
        for s in range(0, 200, 10):
            fh.write(f"{s},{2.0 / (1 + s / 50):.4f},{'' if s % 50 else 2.1 / (1 + s / 60)}\n")
    (run,) = parsers.load(tmp_path)
    assert run.primary_tag("train_loss") == "objective"
    assert run.primary_tag("val_loss") == "val_loss"


def test_training_loss_with_an_unknown_name_is_found_by_shape(corpus: Path, tmp_path: Path) -> None:
    """A corpus run's real losses under a name no list knows: the falling, bouncing curve is the
    training loss (said in a warning), not the validation loss standing in."""
    (src,) = parsers.load(sorted((corpus / "runs").glob("digits_mlp-*"))[0])
    loss, val = src.role_series("train_loss"), src.role_series("val_loss")
    with open(tmp_path / "metrics.csv", "w") as fh:
        fh.write("step,J,valid_score,epsilon\n")
        vals = dict(zip(val["step"], val["value"]))
        for i, (s, v) in enumerate(zip(loss["step"], loss["value"])):
            fh.write(f"{s},{v!r},{vals.get(s, '')},{0.995 ** i!r}\n")
    (run,) = parsers.load(tmp_path)
    assert run.primary_tag("train_loss") == "J"
    assert run.meta["roles_by_shape"] == {"J": "train_loss"}
    assert any("by its shape" in w for w in run.warnings)


def test_detectron2_config_dump_and_prose_are_not_metrics(real_logs: Path) -> None:
    """The NYU detectron2 console logs print their config (``BASE_LR: 0.004``) and notes
    ("LR reduced at the 28 epoch") between the event lines: asides, not curves."""
    log = real_logs / "text_logs" / "nyu-ssod-detectron2" / "output" / "log_supervised_lr_0.020.txt"
    (run,) = parsers.load(log)
    tags = set(run.tags())
    assert {"total_loss", "lr", "loss_cls"} <= tags
    assert not tags & {"BASE_LR", "LOSS_WEIGHT", "MOMENTUM", "LR reduced at the", "end at"}
    assert run.meta["asides_dropped"] > 10
    assert run.primary_tag("lr") == "lr" and run.primary_tag("train_loss") == "total_loss"


def test_detectron2_coco_tables_are_metrics_and_resumed_stage_is_not_stuck(real_logs: Path) -> None:
    """The LR-0.02 stage resumes a trained detector: its loss starts at its floor (0.146 -> 0.151)
    while COCO AP climbs 10.97 -> 14.97 in the printed tables. Learning, not 'never learned'."""
    from lrdoctor.analysis import analyze

    log = real_logs / "text_logs" / "nyu-ssod-detectron2" / "output" / "log_supervised_lr_0.020.txt"
    (run,) = parsers.load(log)
    ap = run.series("AP")["value"].to_numpy()
    assert len(ap) == 16 and ap[0] == 10.970 and ap.max() > 14.9
    assert {"AP50", "AP75"} <= set(run.tags())
    findings = analyze([run]).runs[0].findings
    assert not any(f.mode == "plateau" and f.severity == "critical" for f in findings)
