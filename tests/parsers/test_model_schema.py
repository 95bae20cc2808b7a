"""The tidy Run model: schema validation, roles, merging."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import parsers
from parsers import Run, SchemaError, make_scalars, validate_scalars
from parsers.registry import default_merge


def test_make_scalars_has_fixed_dtypes_and_keeps_nan_inf() -> None:
    df = make_scalars(["loss", "loss", "lr"], [0, 1, 0], None, [1.0, float("nan"), float("inf")])
    validate_scalars(df)
    assert df["wall_time"].isna().all()
    assert math.isnan(df["value"].iloc[1]) and math.isinf(df["value"].iloc[2])


def test_validate_rejects_wrong_schema() -> None:
    df = make_scalars(["a"], [1], [0.5], [2.0])
    with pytest.raises(SchemaError):
        validate_scalars(df.astype({"step": "float64"}))
    with pytest.raises(SchemaError):
        validate_scalars(df[["step", "tag", "wall_time", "value"]])


def test_run_roles_primary_tags_and_overrides() -> None:
    df = make_scalars(
        ["train/loss", "loss_box_reg", "train/lr", "val/loss", "val/acc", "my_obj"] * 2,
        [0] * 6 + [1] * 6,
        None,
        np.arange(12, dtype=float),
    )
    run = Run(name="r", path="/x", format="test", scalars=df)
    assert run.roles["train/lr"] == "lr"
    assert run.roles["val/loss"] == "val_loss"
    assert run.roles["val/acc"] == "val_metric"
    assert run.primary_tag("train_loss") == "train/loss"
    run.infer_roles({"my_obj": "train_loss"})
    assert run.primary_tag("train_loss") == "my_obj"
    assert run.roles["train/loss"] == "other"
    series = run.series("val/loss")
    assert list(series.columns) == ["step", "wall_time", "value"]
    assert series["value"].tolist() == [3.0, 9.0]


def test_default_merge_concatenates_and_dedupes() -> None:
    a = Run("r", "/x", "t", make_scalars(["loss"] * 2, [0, 1], [1.0, 2.0], [3.0, 2.0]), files=["a"])
    b = Run("r", "/x", "t", make_scalars(["loss", "lr"], [1, 1], [2.0, 2.0], [2.0, 0.1]), files=["b"])
    merged = default_merge([a, b])
    validate_scalars(merged.scalars)
    assert len(merged.scalars) == 3
    assert merged.files == ["a", "b"]


@pytest.mark.parametrize(
    "tag,role",
    [
        ("loss", "train_loss"),
        ("train/loss", "train_loss"),
        ("train_loss_step", "train_loss"),
        ("Loss/train", "train_loss"),
        ("eval_loss", "val_loss"),
        ("validation/loss", "val_loss"),
        ("lr", "lr"),
        ("learning_rate", "lr"),
        ("lr-AdamW", "lr"),
        ("LearningRate", "lr"),
        ("lr-SGD-momentum", "momentum"),
        ("grad_norm", "grad_norm"),
        ("GradNorm/total", "grad_norm"),
        ("grad_2.0_norm_total", "grad_norm"),
        ("eval_accuracy", "val_metric"),
        ("epoch", "epoch"),
    ],
)
def test_common_tag_names_get_their_role(tag: str, role: str) -> None:
    assert parsers.role_of(tag) == role


def test_wide_view_is_one_column_per_tag() -> None:
    df = make_scalars(["loss", "lr", "loss"], [0, 0, 1], None, [1.0, 0.1, 0.5])
    wide = Run("r", "/x", "t", df).wide()
    assert isinstance(wide, pd.DataFrame)
    assert set(wide.columns) == {"loss", "lr"}
    assert wide.loc[1, "loss"] == 0.5
