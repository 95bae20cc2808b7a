"""Generic metric CSVs (long and wide form), Keras CSVLogger, and bad CSV input."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

import parsers
from parsers import validate_scalars
from lrdoctor.cli import main as cli_main


def write_csv(path: Path, header: list[str] | None, rows: list[list], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)
    return path


def test_keras_csvlogger_epoch_is_step(tmp_path):
    # Keras CSVLogger: header "epoch,accuracy,loss,lr,val_accuracy,val_loss", one row per epoch
    path = write_csv(
        tmp_path / "training.log",
        ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"],
        [[0, 0.61, 1.2, 0.001, 0.7, 0.9], [1, 0.74, 0.8, 0.001, 0.76, 0.7],
         [2, 0.8, float("nan"), 0.0005, 0.79, float("inf")]],
    )
    runs = parsers.load(tmp_path)
    assert not runs.all_warnings()
    (run,) = runs
    validate_scalars(run.scalars)
    assert run.format == "keras_csv" and run.meta["step_unit"] == "epoch"
    assert run.point_counts() == {"accuracy": 3, "loss": 3, "lr": 3, "val_accuracy": 3, "val_loss": 3}
    assert run.series("loss")["step"].tolist() == [0, 1, 2]
    assert math.isnan(run.series("loss")["value"].iloc[2])
    assert run.series("val_loss")["value"].iloc[2] == math.inf
    assert run.primary_tag("lr") == "lr" and run.primary_tag("val_loss") == "val_loss"
    assert run.name == f"{tmp_path.name}/training"


def test_long_form_with_wall_time(tmp_path):
    rows = [["train/loss", s, 2.0 - s / 10, 1.7e9 + s] for s in range(5)]
    rows += [["lr", s, 0.1, 1.7e9 + s] for s in range(5)]
    rows += [["train/loss", 5, "nan", 1.7e9 + 5], ["val/loss", 4, "Infinity", 1.7e9 + 4]]
    write_csv(tmp_path / "scalars.csv", ["tag", "step", "value", "wall_time"], rows)
    (run,) = parsers.load(tmp_path / "scalars.csv")
    validate_scalars(run.scalars)
    assert run.format == "csv" and run.meta["layout"] == "long"
    assert run.point_counts() == {"train/loss": 6, "lr": 5, "val/loss": 1}
    loss = run.series("train/loss")
    assert loss["wall_time"].iloc[1] == 1.7e9 + 1 and math.isnan(loss["value"].iloc[5])
    assert run.series("val/loss")["value"].iloc[0] == math.inf
    assert run.wall_span == 5.0


def test_wide_form_semicolon_with_text_column_and_sparse_cells(tmp_path):
    rows = [[0, "2.3", "", "warmup"], [1, "2.1", "0.01", "warmup"], [2, "NaN", "0.02", "main"],
            [3, "-inf", "0.02", "main"]]
    path = write_csv(tmp_path / "run7.csv", ["iteration", "loss", "learning_rate", "phase"], rows, ";")
    runs = parsers.load(path)
    (run,) = runs
    validate_scalars(run.scalars)
    assert run.meta["layout"] == "wide" and run.meta["step_column"] == "iteration"
    assert run.meta["delimiter"] == ";"
    assert run.point_counts() == {"loss": 4, "learning_rate": 3}
    vals = run.series("loss")["value"].to_numpy()
    assert vals[0] == 2.3 and math.isnan(vals[2]) and vals[3] == -math.inf
    assert run.series("learning_rate")["step"].tolist() == [1, 2, 3]
    (warning,) = runs.all_warnings()
    assert warning.path == str(path) and "non-numeric columns skipped: phase" in warning.message


def test_no_step_column_uses_row_order(tmp_path):
    path = write_csv(tmp_path / "losses.tsv", ["loss", "val_loss"], [[3.0, 3.1], [2.5, 2.9], [2.0, 2.7]], "\t")
    runs = parsers.load(path)
    (run,) = runs
    assert run.series("loss")["step"].tolist() == [0, 1, 2]
    assert run.meta["step_column"] is None
    assert any("row order used as step" in w.message for w in runs.all_warnings())


def test_wide_with_epoch_and_step_keeps_epoch_as_tag(tmp_path):
    write_csv(tmp_path / "log.csv", ["epoch", "step", "train_loss", "timestamp"],
              [[0, 100, 1.5, 1.7e12], [0, 200, 1.2, 1.7e12 + 1000], [1, 300, 1.0, 1.7e12 + 2000]])
    (run,) = parsers.load(tmp_path / "log.csv")
    assert run.meta["step_column"] == "step"
    assert run.series("epoch")["value"].tolist() == [0, 0, 1]
    assert run.roles["epoch"] == "epoch"
    assert run.series("train_loss")["wall_time"].tolist() == [1.7e9, 1.7e9 + 1, 1.7e9 + 2]  # ms -> s


def test_tbparse_style_export_with_index_column(tmp_path):
    write_csv(tmp_path / "tb.csv", ["", "step", "tag", "value"],
              [[0, 0, "loss", 1.0], [1, 1, "loss", 0.5], [2, 0, "lr", 0.1]])
    (run,) = parsers.load(tmp_path / "tb.csv")
    assert run.point_counts() == {"loss": 2, "lr": 1}


def test_index_csv_of_the_corpus_is_not_a_training_log(corpus):
    runs = parsers.load(corpus / "index.csv")
    assert len(runs) == 0
    (warning,) = runs.warnings
    assert warning.path == str(corpus / "index.csv") and "not a training log" in warning.message


def test_bad_csv_files_warn_while_the_rest_loads(tmp_path):
    write_csv(tmp_path / "good.csv", ["step", "loss"], [[0, 1.0], [1, 0.9], [2, 0.8]])
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "garbage.csv").write_bytes(np.random.default_rng(0).bytes(4096))
    write_csv(tmp_path / "header_only.csv", ["step", "loss", "lr"], [])
    ragged = write_csv(tmp_path / "ragged.csv", ["step", "loss"],
                       [[0, 1.0], [1, 0.9, 7, 8], [2, 0.8], [3]])
    with open(ragged, "a") as fh:
        fh.write("4,0.7")  # half-written last line, no newline
    runs = parsers.load(tmp_path)
    by_name = {r.name: r for r in runs}
    assert set(by_name) == {"good", "ragged"}
    assert by_name["good"].point_counts() == {"loss": 3}
    # the half-written last line may be cut mid-number ("4,0.7" of "4,0.75"): dropped, said
    assert by_name["ragged"].series("loss")["step"].tolist() == [0, 2]
    messages = {Path(w.path).name: w.message for w in runs.all_warnings()}
    assert messages["empty.csv"] == "empty file"
    assert "header only" in messages["header_only.csv"]
    assert "garbage.csv" in messages
    ragged_messages = [w.message for w in runs.all_warnings() if Path(w.path).name == "ragged.csv"]
    assert any("line 3 skipped" in m for m in ragged_messages)
    assert any("last line has no line end" in m for m in ragged_messages)
    assert cli_main(["inspect", str(tmp_path)]) == 0


def test_inspect_generic_csv_exit_codes(tmp_path, capsys):
    write_csv(tmp_path / "m.csv", ["global_step", "loss"], [[10, 1.0], [20, 0.5]])
    assert cli_main(["inspect", str(tmp_path / "m.csv")]) == 0
    assert "m  [csv]" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_bytes(b"\x00\x01\x02")
    assert cli_main(["inspect", str(tmp_path / "bad.csv")]) == 2


def test_columns_named_by_a_swept_value_are_runs(real_logs: Path) -> None:
    """char-rnn's error logs: one column per run of a sweep (``learning_rate_0.005`` ...)."""
    folder = real_logs / "generic_csv" / "char-rnn-lr-sweep" / "error_logs"
    runs = parsers.load(folder / "learning_rate_error.csv")
    assert [r.name for r in runs] == ["learning_rate_0.005", "learning_rate_0.01", "learning_rate_0.05",
                                      "learning_rate_0.1"]
    for run in runs:
        assert run.tags() == [run.name] and run.primary_tag("train_loss") == run.name
        assert run.primary_tag("lr") is None  # the LR is in the name, not a curve
        assert len(run.scalars) == 2000
    assert any("read as 4 runs of a sweep" in w.message for w in runs.all_warnings())
    layers = parsers.load(folder / "n_layers_error.csv")
    assert len(layers) == 9 and "n_layers_2.0.1" in {r.name for r in layers}


def test_columns_that_are_metrics_stay_one_run(tmp_path: Path) -> None:
    with open(tmp_path / "history.csv", "w") as fh:
        fh.write("epoch,loss,acc,val_loss\n")
        for e in range(10):
            fh.write(f"{e},{1 / (e + 1)},{e / 10},{1.2 / (e + 1)}\n")
    (run,) = parsers.load(tmp_path)
    assert set(run.tags()) == {"loss", "acc", "val_loss"}
