"""The shipped presets: complete, sourced, and matched from logged GPU names."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from lrdoctor.cost import PresetError, load_presets, match_gpu
from lrdoctor.cost.presets import parse_presets

REQUIRED = ("A100 40GB", "A100 80GB", "H100 SXM", "H200", "L4", "T4", "V100", "A10G", "RTX 4090")


def _raw() -> dict:
    return json.loads(resources.files("lrdoctor.cost").joinpath("presets.json").read_text())


def test_every_required_gpu_has_a_sourced_price_and_power() -> None:
    presets = load_presets()
    for name in REQUIRED:
        gpu = presets.gpus[name]
        assert 0.1 < gpu.usd_per_gpu_hour < 20, name
        assert gpu.price_source and gpu.price_date[:2] == "20", name
        assert 50 <= gpu.power_w <= 1000 and gpu.power_source, name
    assert 0.1 < presets.carbon_kg_per_kwh < 1.0 and presets.carbon_source and presets.carbon_date
    assert presets.pue == 1.0 and presets.pue_source
    assert presets.default_gpu in presets.gpus


@pytest.mark.parametrize(
    "logged, preset",
    [
        ("NVIDIA A100-SXM4-80GB", "A100 80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100 40GB"),
        ("NVIDIA A100-PCIE-40GB", "A100 40GB"),
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H200", "H200"),
        ("Tesla T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100"),
        ("NVIDIA A10G", "A10G"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("a100 80gb", "A100 80GB"),
    ],
)
def test_logged_gpu_names_match_a_preset(logged: str, preset: str) -> None:
    assert match_gpu(logged).name == preset


def test_unknown_gpu_matches_nothing() -> None:
    assert match_gpu("AMD Instinct MI300X") is None
    assert match_gpu("") is None


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d["gpus"][0].pop("price_source"), "price_source"),
        (lambda d: d["gpus"][0].update(usd_per_gpu_hour=-1), "must be > 0"),
        (lambda d: d.update(default_gpu="TPU v5"), "default_gpu"),
        (lambda d: d["pue"].update(value=0.5), "pue"),
        (lambda d: d["gpus"].append(dict(d["gpus"][0])), "duplicate"),
    ],
)
def test_malformed_presets_are_rejected_with_a_message(damage, message: str) -> None:
    data = _raw()
    damage(data)
    with pytest.raises(PresetError, match=message):
        parse_presets(data)
