"""A broken settings file or an impossible flag: one line naming the file or the flag (issue #15 items 7, 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrdoctor.cli import main

RUN = "runs/digits_mlp-c152"


@pytest.mark.parametrize("content", [
    '{"gpu_count": 1e400}',                        # int(inf)
    '{"usd_per_gpu_hour": ' + "[" * 5000 + "]" * 5000 + "}",  # nested past the recursion limit
    '{"usd_per_gpu_hour": NaN}',
    '{"pue": "high"}',
    "[1, 2, 3]",
    "\xff\xfe not text",
])
def test_a_bad_settings_file_gives_defaults_and_names_the_file(content: str, corpus: Path, tmp_path: Path,
                                                               capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "cost.json").write_bytes(content.encode("utf-8", errors="surrogateescape")
                                       if not content.startswith("\xff") else b"\xff\xfe not text")
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(config))
    assert main(["analyze", str(corpus / RUN)]) == 0
    assert main(["report", str(corpus / RUN), "-o", str(tmp_path / "r.json")]) == 0
    err = capsys.readouterr().err
    assert f"{config / 'cost.json'}: ignored, using the defaults" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("flags, words", [
    (["--price", "-3"], "--price: price per GPU-hour (USD) must be >= 0"),
    (["--price", "nan"], "--price: price per GPU-hour (USD) must be a finite number"),
    (["--gpus", "0"], "--gpus: GPU count"),
    (["--step-time", "inf"], "--step-time: step time (s) must be a finite number"),
])
def test_bad_cost_flags_are_named_as_typed(flags: list[str], words: str, corpus: Path, tmp_path: Path,
                                           capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))
    with pytest.raises(SystemExit) as exc:
        main(["analyze", str(corpus / RUN), *flags])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "usd_per_gpu_hour" not in err and "step_time_s" not in err
