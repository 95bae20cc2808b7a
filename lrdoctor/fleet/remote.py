"""Logs where they live: run units under an fsspec URL (``s3://``, ``gs://``, ``az://``, ``memory://`` ...).

The readers know local files (they sniff bytes, look at sibling folders, stream large files), so a
worker copies its own unit's files from the bucket into a private temporary folder laid out as in
the bucket, reads them there with the ordinary readers, and maps every path in the result back to
its URL before anything else sees it. Only that unit's files are fetched, by the worker that reads
them; nothing is written next to the logs. ``pip install "lrdoctor[cloud]"`` brings s3fs, gcsfs
and adlfs; ``memory://`` and ``file://`` need nothing more.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Iterator

from parsers import LoadWarning
from parsers.loader import SKIP_DIRS
from parsers.units import Unit, split_units

if TYPE_CHECKING:
    from .tasks import Stamp, TaskResult

# Size of the chunks a staged file is copied in: large enough for object stores' per-request cost.
COPY_CHUNK_BYTES = 8 << 20


def is_url(path: str) -> bool:
    """Whether ``path`` is an fsspec URL (``proto://...``) rather than a local path."""
    head, sep, _ = str(path).partition("://")
    return bool(sep) and head.replace("+", "").replace("-", "").isalnum() and len(head) > 1


def describe(exc: BaseException) -> str:
    """One line for a storage error (a missing backend names the extra to install)."""
    if isinstance(exc, ImportError):
        return f"{exc} (install the storage backends: pip install \"lrdoctor[cloud]\")"
    return f"{type(exc).__name__}: {exc}"


def _fs(url: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url, **storage_options)


@dataclass
class Listing:
    """A URL walked like :func:`parsers.loader.iter_files` walks a folder."""

    units: list[Unit]
    given_directly: bool
    stamps: dict[str, Stamp]


def _walk_key(rel: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    # os.walk top-down with sorted names: a folder's files first, then its subfolders in name order.
    return tuple((1, d) for d in rel[:-1]) + ((0, rel[-1]),)


def _stamp(url: str, info: dict[str, Any]) -> Stamp:
    mark = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime") \
        or info.get("last_modified") or info.get("created") or ""
    return (url, int(info.get("size") or 0), str(mark))


def walk(url: str, storage_options: dict[str, Any]) -> Listing:
    """The run units under ``url`` (a folder or one file), files in the loader's walk order."""
    fs, root = _fs(url, storage_options)
    root = root.rstrip("/")
    base = url.rstrip("/")  # paths keep the form the user wrote
    if fs.isfile(root):
        info = fs.info(root)
        full = base
        unit = Unit(full.rsplit("/", 1)[0], (full,), (0,))
        return Listing([unit], True, {full: _stamp(full, info)})
    found = fs.find(root, detail=True)
    if not found and not fs.isdir(root):
        raise FileNotFoundError(f"no such file or folder: {url}")
    rows = []
    for key, info in found.items():
        if info.get("type", "file") != "file":
            continue
        rel = tuple(PurePosixPath(key).relative_to(PurePosixPath(root)).parts)
        if any(p in SKIP_DIRS or p.startswith(".") for p in rel):
            continue
        rows.append((_walk_key(rel), rel, info))
    rows.sort(key=lambda r: r[0])
    # PurePosixPath folds "s3://b" into "s3:/b": units are computed on paths relative to the root.
    rel_paths = [PurePosixPath("/", *rel) for _, rel, _ in rows]
    units = []
    for u in split_units(rel_paths, PurePosixPath("/")):
        units.append(Unit(_join(base, u.folder), tuple(_join(base, f) for f in u.files), u.indices))
    stamps = {_join(base, str(p)): _stamp(_join(base, str(p)), info) for p, (_, _, info) in zip(rel_paths, rows)}
    return Listing(units, False, stamps)


def _join(base: str, rel: str) -> str:
    rel = rel.lstrip("/")
    return base if not rel else base.rstrip("/") + "/" + rel


@contextmanager
def staged(
    root_url: str, files: tuple[str, ...], storage_options: dict[str, Any]
) -> Iterator[tuple[list[str], Callable[[str], str]]]:
    """Copy ``files`` (URLs under ``root_url``) into a private temporary folder laid out as in the bucket.

    Yields the local paths (same order) and a function mapping any text naming a local path back
    to the URL. The folder is removed afterwards. Modification times are carried over when the
    store has them, so readers that record a file's time see the bucket's.
    """
    fs, _ = _fs(root_url, storage_options)
    base = root_url.rstrip("/")
    single = len(files) == 1 and files[0].rstrip("/") == base
    parent = base.rsplit("/", 1)[0] if single else base
    tmp = tempfile.mkdtemp(prefix="lrdoctor-stage-")
    # The root keeps its own name so runs named after their folder are named as in the bucket.
    local_root = os.path.join(tmp, PurePosixPath(parent).name or "root")
    try:
        local = []
        for url in files:
            rel = url[len(parent):].lstrip("/")
            dest = os.path.join(local_root, *rel.split("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            _, key = _fs(url, storage_options)
            with fs.open(key, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, COPY_CHUNK_BYTES)
            _copy_mtime(fs, key, dest)
            local.append(dest)

        def to_url(text: str) -> str:
            return text.replace(local_root, parent)

        yield local, to_url
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _copy_mtime(fs: Any, key: str, dest: str) -> None:
    try:
        when = fs.modified(key).timestamp()
    except (NotImplementedError, AttributeError, OSError, ValueError, TypeError):
        return
    os.utime(dest, (when, when))


def relocate(result: TaskResult, to_url: Callable[[str], str]) -> None:
    """Rewrite every local staging path in ``result`` (runs, their files, meta, warnings) to its URL."""
    for _, run in result.runs:
        run.path = to_url(run.path)
        run.files = [to_url(f) for f in run.files]
        run.warnings = [to_url(w) for w in run.warnings]
        run.meta = _map_strings(run.meta, to_url)
        for overlap in run.overlaps:
            overlap.source = to_url(overlap.source)
            overlap.superseded_by = to_url(overlap.superseded_by)
    result.warnings = [(i, LoadWarning(to_url(str(w.path)), to_url(str(w.message)))) for i, w in result.warnings]



def _map_strings(obj: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _map_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_strings(v, fn) for v in obj)
    return obj
