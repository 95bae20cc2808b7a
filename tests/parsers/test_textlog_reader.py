"""Plain-text console logs and JSON-lines metric logs: real files and lines in each documented format."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import parsers
from parsers import text
from parsers.model import validate_scalars

NANOGPT = "text_logs/build-nanogpt-agndm"


def _only(result) -> parsers.Run:
    assert len(result) == 1, [r.name for r in result]
    return result[0]


def test_build_nanogpt_console(real_logs: Path) -> None:
    file = real_logs / NANOGPT / "log_1_epoch/nanogpt-train-1806877.out"
    run = _only(parsers.load(file))
    validate_scalars(run.scalars)
    assert run.format == "text_log" and run.name == "nanogpt-train-1806877"
    counts = run.point_counts()
    assert counts["loss"] == counts["lr"] == counts["norm"] == counts["dt"] == 19073
    assert counts["validation loss"] == 78 and counts["HellaSwag accuracy"] == 78
    assert run.primary_tag("train_loss") == "loss"
    assert run.primary_tag("val_loss") == "validation loss"
    assert run.primary_tag("lr") == "lr"
    assert run.primary_tag("grad_norm") == "norm"
    assert run.primary_tag("step_time") == "dt"
    loss = run.series("loss")
    assert (loss["step"].iloc[10], loss["value"].iloc[10]) == (10, pytest.approx(9.875681))
    assert loss["value"].iloc[-1] == pytest.approx(3.083290)
    assert run.series("lr")["value"].iloc[10] == pytest.approx(9.2308e-06)
    assert run.series("dt")["value"].iloc[0] == pytest.approx(23547.83)
    assert run.meta["units"]["dt"] == "ms"
    # "validation loss" is printed before the step line it belongs to: step 0, like log.txt says
    val = run.series("validation loss")
    assert (val["step"].iloc[0], val["value"].iloc[0]) == (0, pytest.approx(10.9522))
    assert run.series("HellaSwag accuracy")["value"].iloc[0] == pytest.approx(0.2487)
    # the 7 header lines and the generated samples are skipped and counted
    assert run.meta["unparsed_lines"] > 1000 and run.meta["first_unparsed_line"] == 1
    assert not run.warnings


@pytest.mark.parametrize(
    "folder, last_val",
    [("log_no_warmup", 3.1681), ("log_linear_lr", 3.0843)],
)
def test_build_nanogpt_logtxt(real_logs: Path, folder: str, last_val: float) -> None:
    run = _only(parsers.load(real_logs / NANOGPT / folder / "log.txt"))
    assert run.name == folder
    assert run.point_counts() == {"val_loss": 78, "hella_acc": 78, "train_loss": 19073}
    assert run.meta["unparsed_lines"] == 0
    assert run.series("val_loss")["value"].iloc[-1] == pytest.approx(last_val)
    assert run.primary_tag("train_loss") == "train_loss" and run.primary_tag("val_loss") == "val_loss"


def test_no_warmup_first_steps(real_logs: Path) -> None:
    run = _only(parsers.load(real_logs / NANOGPT / "log_no_warmup/log.txt"))
    train = run.series("train_loss")
    # PROVENANCE: 7.66 at step 20 without warmup
    assert train.loc[train["step"] == 20, "value"].iloc[0] == pytest.approx(7.66, abs=0.01)


def test_detectron2_metrics_json(real_logs: Path) -> None:
    runs = {r.name: r for r in parsers.load(real_logs / "detectron2_metrics_json")}
    assert set(runs) == {"detectron-mine-gralach", "detectron2-detection-ghailen", "medical-waste-detectron2"}
    med = runs["medical-waste-detectron2"]
    assert med.point_counts()["total_loss"] == 200
    loss = med.series("total_loss")
    assert (loss["step"].iloc[0], loss["step"].iloc[-1]) == (19, 3999)
    assert med.primary_tag("train_loss") == "total_loss" and med.primary_tag("lr") == "lr"
    assert not med.overlaps and not med.warnings

    ghailen = runs["detectron2-detection-ghailen"]
    assert ghailen.point_counts()["total_loss"] == 15 and ghailen.point_counts()["bbox/AP"] == 3
    assert ghailen.series("total_loss")["value"].iloc[0] == pytest.approx(2.632075755856931)
    assert ghailen.series("lr")["value"].iloc[0] == pytest.approx(1.60675e-05)

    gralach = runs["detectron-mine-gralach"]
    # 119 lines; the iteration counter restarts (appended runs): the last run (iterations 9..1999,
    # 101 lines with total_loss) is kept and the superseded points are recorded.
    assert gralach.point_counts()["total_loss"] == 101
    loss = gralach.series("total_loss")
    assert (loss["step"].iloc[0], loss["step"].iloc[-1]) == (9, 1999)
    assert loss["value"].iloc[-1] == pytest.approx(0.219, abs=1e-3)
    assert len(gralach.overlaps) == 5
    assert max(o.step_end for o in gralach.overlaps) == 225
    assert sum("step counter goes back" in w for w in gralach.warnings) == 1


def _load_lines(tmp_path: Path, name: str, lines: list[str]) -> parsers.Run:
    file = tmp_path / name
    file.write_text("\n".join(lines) + "\n")
    return _only(parsers.load(file))


def test_nanogpt_iter_and_eval_lines(tmp_path: Path) -> None:
    run = _load_lines(
        tmp_path,
        "train_shakespeare.log",
        [
            "tokens per iteration will be: 16,384",
            "step 0: train loss 4.2874, val loss 4.2823",
            "iter 0: loss 4.2654, time 31256.33ms, mfu -100.00%",
            "iter 10: loss 3.1461, time 34.78ms, mfu 10.71%",
            "iter 20: loss 2.7322, time 35.15ms, mfu 10.70%",
            "step 250: train loss 1.9703, val loss 2.0713",
            "saving checkpoint to out-shakespeare-char",
            "iter 250: loss 2.0464, time 5290.99ms, mfu 9.65%",
        ],
    )
    assert run.point_counts() == {"train loss": 2, "val loss": 2, "loss": 4, "time": 4, "mfu": 4}
    assert run.series("val loss")["step"].tolist() == [0, 250]
    assert run.series("loss")["value"].tolist() == [4.2654, 3.1461, 2.7322, 2.0464]
    assert run.meta["units"] == {"time": "ms", "mfu": "%"}
    assert run.meta["unparsed_lines"] == 2
    assert run.primary_tag("val_loss") == "val loss"


def test_hf_printed_dicts_use_a_running_count(tmp_path: Path) -> None:
    run = _load_lines(
        tmp_path,
        "stdout.txt",
        [
            " 10%|█         | 50/500 [00:10<01:30,  4.98it/s]{'loss': 2.31, 'learning_rate': 4.9e-05, 'epoch': 0.1}",
            "{'loss': 2.05, 'grad_norm': 3.1, 'learning_rate': 4.8e-05, 'epoch': 0.2}",
            "{'eval_loss': 1.98, 'eval_runtime': 3.2, 'epoch': 0.2}",
            "{'loss': nan, 'grad_norm': inf, 'learning_rate': 4.7e-05, 'epoch': 0.3}",
            "{'train_runtime': 120.5, 'train_samples_per_second': 33.2, 'train_loss': 2.2, 'epoch': 0.3}",
        ],
    )
    loss = run.series("loss")
    assert loss["step"].tolist() == [1, 2, 3]
    assert loss["value"].iloc[0] == 2.31 and math.isnan(loss["value"].iloc[2])
    assert run.series("eval_loss")["step"].tolist() == [2]
    assert math.isinf(run.series("grad_norm")["value"].iloc[-1])
    assert "train_loss" not in run.tags() and run.meta["train_runtime"] == 120.5
    assert "running count" in run.meta["step_source"]


def test_fairseq_and_opennmt_style(tmp_path: Path) -> None:
    fairseq = _load_lines(
        tmp_path,
        "fairseq_train.log",
        [
            '2021-03-01 10:00:00 | INFO | train_inner | {"epoch": 1, "update": 0.1, "loss": "9.876", '
            '"lr": "1.25e-05", "gnorm": "3.9", "num_updates": "100"}',
            '2021-03-01 10:01:00 | INFO | train_inner | {"epoch": 1, "update": 0.2, "loss": "8.5", '
            '"lr": "2.5e-05", "gnorm": "2.1", "num_updates": "200"}',
            '2021-03-01 10:02:00 | INFO | valid | {"epoch": 1, "valid_loss": "8.1", "valid_num_updates": "250"}',
            '2021-03-01 10:03:00 | INFO | train_inner | {"epoch": 1, "update": 0.3, "loss": "7.9", '
            '"lr": "3.75e-05", "gnorm": "1.7", "num_updates": "300"}',
        ],
    )
    assert fairseq.series("loss")["step"].tolist() == [100, 200, 300]
    assert fairseq.series("lr")["value"].iloc[1] == pytest.approx(2.5e-05)
    assert fairseq.series("valid_loss")["step"].tolist() == [250]
    assert fairseq.primary_tag("val_loss") == "valid_loss"

    onmt = _load_lines(
        tmp_path,
        "onmt.log",
        [
            f"[2020-05-12 10:00:0{i},123 INFO] Step {s}/200000; acc:  {10 + i}.50; ppl: {900 - 100 * i}.12; "
            f"xent: 6.8; lr: 0.00010; 12345/6789 tok/s;     {10 * i} sec"
            for i, s in enumerate((50, 100, 150))
        ],
    )
    assert onmt.series("ppl")["step"].tolist() == [50, 100, 150]
    assert onmt.series("acc")["value"].tolist() == [10.5, 11.5, 12.5]
    assert set(onmt.tags()) == {"acc", "ppl", "xent", "lr"}


def test_generic_key_value_lines(tmp_path: Path) -> None:
    run = _load_lines(
        tmp_path,
        "run.log",
        [
            "2024-01-01 12:00:00 INFO epoch=0 step=100 loss=0.93 lr=0.001",
            "2024-01-01 12:00:10 INFO epoch=0 step=200 loss=0.71 lr=0.001",
            "Epoch: 1, Step: 300, Loss: 0.55, LR: 0.0005",
            "some unrelated message with 3 numbers 4 5",
        ],
    )
    assert run.series("loss")["step"].tolist() == [100, 200]
    assert run.series("Loss")["value"].tolist() == [0.55]
    assert run.series("epoch")["value"].tolist() == [0.0, 0.0]
    assert run.meta["unparsed_lines"] == 1


def test_restart_in_jsonl_keeps_later_points(tmp_path: Path) -> None:
    rows = [{"iteration": i, "total_loss": 2.0 - 0.1 * i, "lr": 0.01} for i in range(0, 10)]
    rows += [{"iteration": i, "total_loss": 1.0 - 0.01 * i, "lr": 0.02} for i in range(5, 12)]
    file = tmp_path / "metrics.json"
    file.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run = _only(parsers.load(file))
    loss = run.series("total_loss")
    assert loss["step"].tolist() == list(range(12))
    assert loss["value"].iloc[5] == pytest.approx(0.95)  # the later run's value
    assert loss["value"].iloc[4] == pytest.approx(1.6)
    (overlap,) = run.overlaps
    assert (overlap.step_start, overlap.step_end, overlap.steps, overlap.points) == (5, 9, 5, 10)


def test_garbage_and_random_text_not_claimed(tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("We trained 3 models.\nThe loss went down.\nStep 5 was odd.\n" * 20)
    assert not text.sniff(prose)
    binary = tmp_path / "blob.log"
    binary.write_bytes(b"\x00\x01step 1 loss 2\n" * 50)
    assert not text.sniff(binary)
    source = tmp_path / "train.py"
    source.write_text("\n".join(f"print('step {i} loss 0.{i}')" for i in range(10)))
    assert not text.sniff(source)
    result = parsers.load(tmp_path)
    assert len(result) == 0
    msgs = [str(w) for w in result.warnings]
    assert any(str(binary) in m and "not a recognised" in m for m in msgs)


def test_bad_lines_are_counted_never_fatal(tmp_path: Path) -> None:
    good = [json.dumps({"step": i, "loss": 1.0 / (i + 1)}) for i in range(5)]
    lines = good[:2] + ['{"step": 2, "loss": ', "\x07garbage\x1b[0m", ""] + good[2:]
    run = _load_lines(tmp_path, "history.jsonl", lines)
    assert run.point_counts() == {"loss": 5}
    assert run.meta["unparsed_lines"] == 2
    empty = tmp_path / "empty.log"
    empty.write_text("")
    result = parsers.load(empty)
    assert len(result) == 0 and "empty file" in str(result.warnings[0])
