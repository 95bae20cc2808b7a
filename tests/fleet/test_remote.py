"""Logs in a bucket: a real S3 API on loopback (moto's server) and fsspec's memory filesystem,
read with the ordinary readers and compared with reading the same files from disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lrdoctor.fleet import analyze_paths, load_paths
from lrdoctor.fleet.summary import contract_dict

from .writers import write_fleet

fsspec = pytest.importorskip("fsspec", reason="fsspec is not installed (pip install 'lrdoctor[cloud]')")


def _logs(real_logs: Path, tmp_path: Path) -> Path:
    """Real logs of several trackers (a sweep among them) plus runs written by tensorboard's writer."""
    root = tmp_path / "logs"
    for name in ("keras_csv", "lightning_csv", "tensorboard"):
        shutil.copytree(real_logs / name, root / name)
    write_fleet(root / "tb", 3, steps=200)
    return root


def _as_url(payload: dict, local: Path, url: str) -> str:
    return json.dumps(payload).replace(str(local), url)


def test_s3_bucket_on_loopback_reads_like_disk(real_logs: Path, tmp_path: Path) -> None:
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install 'lrdoctor[cloud]')")
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = {"key": "testing", "secret": "testing",
                   "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"}}
        local = _logs(real_logs, tmp_path)
        import boto3

        boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket="fleet-bucket")
        fs = fsspec.filesystem("s3", **options)
        fs.put(str(local), "fleet-bucket/team/logs", recursive=True)
        url = "s3://fleet-bucket/team/logs"

        from_disk = analyze_paths([local], jobs=1, cache=False)
        # two worker processes, each fetching its own run folders from the bucket
        from_bucket = analyze_paths([url], jobs=2, cache=False, storage_options=options)
        assert len(from_bucket.runs) == len(from_disk.runs) >= 10 and from_disk.sweeps
        assert all(ra.run.path.startswith(url) for ra in from_bucket.runs)
        assert json.dumps(contract_dict(from_bucket)) == _as_url(contract_dict(from_disk), local, url)

        # a file given directly, and a missing prefix said in one line
        one = next(ra.run for ra in from_bucket.runs if "keras_csv/braincnn" in ra.run.path)
        runs = load_paths([one.files[0], url + "/nope"], jobs=1, cache=False, storage_options=options)
        assert [r.name for r in runs] == [one.name]
        assert [w.path for w in runs.warnings] == [url + "/nope"]
    finally:
        server.stop()


def test_memory_filesystem(real_logs: Path, tmp_path: Path) -> None:
    local = _logs(real_logs, tmp_path)
    mem = fsspec.filesystem("memory")
    mem.put(str(local), "/mem-fleet/logs", recursive=True)
    url = "memory://mem-fleet/logs"
    try:
        from_disk = analyze_paths([local], jobs=1, cache=False)
        from_memory = analyze_paths([url], jobs=1, cache=False)
        assert json.dumps(contract_dict(from_memory)) == _as_url(contract_dict(from_disk), local, url)
    finally:
        mem.rm("/mem-fleet", recursive=True)
