"""Cost settings persist in the config dir (LRDOCTOR_CONFIG_DIR), atomically; hardware precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrdoctor.cost import CostSettings, SettingsError, load_settings, resolve_hardware, save_settings, settings_path


def test_round_trip_keeps_hardware_and_drops_the_step_time(config_dir: Path) -> None:
    assert load_settings() == (CostSettings(), None)
    path = save_settings(CostSettings(gpu="H100 SXM", gpu_count=8, usd_per_gpu_hour=2.5, step_time_s=0.3))
    assert path == settings_path() == config_dir / "cost.json"
    saved, problem = load_settings()
    assert problem is None
    assert (saved.gpu, saved.gpu_count, saved.usd_per_gpu_hour, saved.step_time_s) == ("H100 SXM", 8, 2.5, None)
    assert [p.name for p in config_dir.iterdir()] == ["cost.json"]  # no temp file left behind


def test_a_broken_file_gives_defaults_and_a_message(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "cost.json").write_text("{not json")
    settings, problem = load_settings()
    assert settings == CostSettings() and "cost.json" in problem
    (config_dir / "cost.json").write_text(json.dumps({"gpu_count": 0}))
    assert "GPU count" in load_settings()[1]


def test_impossible_values_are_refused() -> None:
    with pytest.raises(SettingsError):
        save_settings(CostSettings(gpu_count=0))
    with pytest.raises(SettingsError):
        CostSettings(pue=0.9).validate()


def test_precedence_user_then_metadata_then_saved_then_default() -> None:
    meta = {"gpu": "NVIDIA A100-SXM4-40GB", "gpu_count": 4}
    saved = CostSettings(gpu="T4", gpu_count=2, usd_per_gpu_hour=0.1, carbon_kg_per_kwh=0.2)
    from_meta = resolve_hardware(None, meta, saved)
    assert (from_meta.gpu, from_meta.gpu_count) == ("A100 40GB", 4)
    assert from_meta.sources["gpu"] == "run metadata"
    # the saved price belongs to the saved T4, not to the A100 the run used; the carbon figure carries over
    assert from_meta.usd_per_gpu_hour != 0.1 and from_meta.carbon_kg_per_kwh == 0.2
    user = resolve_hardware(CostSettings(gpu="L4", usd_per_gpu_hour=0.5), meta, saved)
    assert (user.gpu, user.gpu_count, user.usd_per_gpu_hour) == ("L4", 4, 0.5)
    from_saved = resolve_hardware(None, {}, saved)
    assert (from_saved.gpu, from_saved.gpu_count, from_saved.usd_per_gpu_hour) == ("T4", 2, 0.1)
    default = resolve_hardware()
    assert default.sources["gpu"] == "default" and default.notes


def test_unknown_gpu_has_no_invented_price() -> None:
    hw = resolve_hardware(CostSettings(gpu="MI300X"))
    assert hw.usd_per_gpu_hour is None and hw.power_w is None and "MI300X" in hw.notes[0]
