"""Logs in a bucket: a real S3 API on loopback (moto's server) and fsspec's memory filesystem,
read with the ordinary readers and compared with reading the same files from disk."""

from __future__ import annotations

import json
import os
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


def _assert_reads_like_disk(local: Path, url: str, options: dict, jobs: int = 1):
    """The runs analysed from ``url`` are those of ``local`` with the URL for the folder, in the same
    JSON; returns the bucket's analysis."""
    from_disk = analyze_paths([local], jobs=1, cache=False)
    from_bucket = analyze_paths([url], jobs=jobs, cache=False, storage_options=options)
    assert len(from_bucket.runs) == len(from_disk.runs) >= 10 and from_disk.sweeps
    assert all(ra.run.path.startswith(url) for ra in from_bucket.runs)
    assert json.dumps(contract_dict(from_bucket)) == _as_url(contract_dict(from_disk), local, url)
    return from_bucket


def _assert_missing_prefix_said(url: str, options: dict) -> None:
    """A prefix with nothing under it loads nothing and says so in one warning."""
    missing = load_paths([url + "/nope"], jobs=1, cache=False, storage_options=options)
    assert not missing and [w.path for w in missing.warnings] == [url + "/nope"]


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

        # two worker processes, each fetching its own run folders from the bucket
        from_bucket = _assert_reads_like_disk(local, url, options, jobs=2)

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


def test_gcs_bucket_on_loopback_reads_like_disk(real_logs: Path, tmp_path: Path) -> None:
    """gs:// against a real GCS JSON API on loopback (gcp-storage-emulator's server, started here)."""
    gcsfs_core = pytest.importorskip("gcsfs.core", reason="gcsfs is not installed (pip install 'lrdoctor[cloud]')")
    emulator = pytest.importorskip("gcp_storage_emulator.server", reason="gcp-storage-emulator is not installed")
    import socket

    with socket.socket() as probe:  # the emulator takes a port number, not 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket="fleet-bucket")
    server.start()
    # gcsfs's default class first asks a gRPC control API for the bucket's layout, which no emulator
    # serves (a minute's timeout per bucket); the plain class speaks only the JSON API, as GCS does too
    previous = fsspec.get_filesystem_class("gs")
    fsspec.register_implementation("gs", gcsfs_core.GCSFileSystem, clobber=True)
    try:
        options = {"endpoint_url": f"http://127.0.0.1:{port}", "token": "anon", "project": "lrdoctor-test"}
        local = _logs(real_logs, tmp_path)
        # uploaded with the JSON API's media upload: the emulator's multipart parser drops a file's
        # last byte when it is a carriage return (a TensorBoard file here ends in one)
        from urllib.parse import quote
        from urllib.request import Request, urlopen

        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            name = quote("team/logs/" + file.relative_to(local).as_posix(), safe="")
            request = Request(f"{options['endpoint_url']}/upload/storage/v1/b/fleet-bucket/o?uploadType=media&name={name}",
                              data=file.read_bytes(), method="POST",
                              headers={"Content-Type": "application/octet-stream"})
            urlopen(request).close()
        url = "gs://fleet-bucket/team/logs"
        _assert_reads_like_disk(local, url, options)
        _assert_missing_prefix_said(url, options)
    finally:
        fsspec.register_implementation("gs", previous, clobber=True)
        server.stop()


# Azurite's well-known development account (public: the same in every Azurite and Azure SDK doc).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Where .ci/run installs Azurite (an npm package: no Python Azure Blob emulator exists); or on PATH.
AZURITE_CI = Path(__file__).resolve().parents[2] / ".ci" / ".azurite" / "node_modules" / ".bin" / "azurite-blob"


def _azurite() -> str | None:
    found = os.environ.get("LRDOCTOR_AZURITE") or shutil.which("azurite-blob")
    return found or (str(AZURITE_CI) if AZURITE_CI.exists() else None)


def test_azure_blob_container_on_loopback_reads_like_disk(real_logs: Path, tmp_path: Path) -> None:
    """az:// against a real Azure Blob API on loopback (Azurite, started here)."""
    pytest.importorskip("adlfs", reason="adlfs is not installed (pip install 'lrdoctor[cloud]')")
    binary = _azurite()
    if binary is None:
        pytest.skip("Azurite is not installed (npm install azurite; .ci/run installs it)")
    import socket
    import subprocess
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    work = tmp_path / "azurite"
    work.mkdir()
    server = subprocess.Popen([binary, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
                               "--skipApiVersionCheck", "--silent"], cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "Azurite did not start"
                time.sleep(0.1)
        options = {"connection_string": (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};")}
        local = _logs(real_logs, tmp_path)
        fs = fsspec.filesystem("az", **options)
        fs.mkdir("fleet")
        fs.put(str(local), "fleet/team/logs", recursive=True)
        url = "az://fleet/team/logs"
        _assert_reads_like_disk(local, url, options)
        _assert_missing_prefix_said(url, options)
    finally:
        server.terminate()
        server.wait(timeout=30)
