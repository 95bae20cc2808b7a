"""Fuzzers: one target per reader, bytes mutated from real seed files (issue #15, "keep it that way").

Each example writes a mutated copy of a real log (with its folder layout) and loads the folder:
no exception may escape, no load may hang, every run must keep the schema, and no warning may
be a boundary catching a reader's exception. The default run is a smoke run; see fuzzing.py.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import parsers

from tests.paths import REAL_LOGS, SAMPLE_LOGS

from .fuzzing import FUZZ_SETTINGS, SEED_BYTES, check_loaded, mutated, no_hang

# target -> (folder copied as the run's layout, the files inside it that may be mutated)
TARGETS: dict[str, tuple[Path, list[str]]] = {
    "tensorboard": (SAMPLE_LOGS / "corpus_runs" / "digits_mlp-f351", ["events.out.tfevents.1795687367.vm.27236.0"]),
    "lightning_csv": (SAMPLE_LOGS / "corpus_runs" / "digits_mlp-7922",
                      ["lightning_logs/version_0/metrics.csv", "lightning_logs/version_0/hparams.yaml"]),
    "keras_csv": (SAMPLE_LOGS / "transcribed" / "keras_csv" / "digits_mlp-f2da", ["training.log"]),
    "long_csv": (SAMPLE_LOGS / "transcribed" / "long_csv", ["digits_mlp-f351_metrics_long.csv"]),
    "wandb_panel": (SAMPLE_LOGS / "range_test" / "lr_find_digits_mlp_adam",
                    ["wandb_export_2026-11-26T11_14_38.968+01_00.csv"]),
    "wandb_history": (SAMPLE_LOGS / "transcribed" / "wandb_history", ["synth_clf_mlp-ecc8_history.jsonl"]),
    "wandb_offline": (SAMPLE_LOGS / "transcribed" / "wandb_offline",
                      ["wandb/offline-run-20261126_095553-66f5ae86/files/wandb-history.jsonl",
                       "wandb/offline-run-20261126_095553-66f5ae86/files/config.yaml",
                       "wandb/offline-run-20261126_095553-66f5ae86/files/wandb-summary.json",
                       "wandb/offline-run-20261126_095553-66f5ae86/files/wandb-metadata.json"]),
    "hf_trainer_state": (SAMPLE_LOGS / "corpus_runs" / "synth_clf_mlp-c5d5", ["trainer_state.json"]),
    "mlflow": (SAMPLE_LOGS / "transcribed" / "mlflow",
               ["mlruns/1/c30fd78ac33b524aa3bdfbfcf89cfccc/meta.yaml",
                "mlruns/1/c30fd78ac33b524aa3bdfbfcf89cfccc/metrics/train/loss",
                "mlruns/1/meta.yaml"]),
    "text_log": (SAMPLE_LOGS / "transcribed" / "nanogpt_console" / "digits_cnn-6220", ["train.log"]),
    "jsonl_metrics": (SAMPLE_LOGS / "real" / "medical-waste-detectron2", ["metrics.json"]),
    "generic_csv": (REAL_LOGS / "generic_csv" / "char-rnn-lr-sweep", []),  # files picked at run time
}


def _files(target: str) -> list[str]:
    folder, files = TARGETS[target]
    if files:
        return files
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.csv"))[:3]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_reader_survives_mutated_real_files(target: str) -> None:
    folder, _ = TARGETS[target]
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    files = _files(target)

    @FUZZ_SETTINGS
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        rel = data.draw(st.sampled_from(files), label="file")
        seed = (folder / rel).read_bytes()[:SEED_BYTES]
        blob = data.draw(mutated(seed), label="bytes")
        with tempfile.TemporaryDirectory(prefix="lrdoctor-fuzz-") as tmp:
            copy = Path(tmp) / "run"
            shutil.copytree(folder, copy)
            (copy / rel).write_bytes(blob)
            with no_hang():
                runs = parsers.load(copy)
                check_loaded(runs)
                parsers.load(copy / rel)  # the file given directly, too

    one()
