"""Results cached per run unit in the user's cache folder, so re-analysing a fleet redoes only what changed.

An entry is keyed by everything that changes a unit's result: its files' paths, sizes and
modification stamps, the lrdoctor version, the readers registered, the role overrides and whether
it was analysed or only read. Cost settings are not part of it: the cost is priced afterwards.
Entries live under the platform's user cache folder (``platformdirs``), never next to the logs.
An entry that is unreadable, truncated, from another key or not a result is ignored, and the
fresh result is written over it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path

import lrdoctor
from parsers.registry import readers

from .tasks import Task, TaskResult

# Bump when the pickled result's shape changes in a way the version number would not catch.
CACHE_FORMAT = 2  # 2: findings typed (Mode, waste_from_step), cost held beside the analysis, sweeps hold run keys
# First bytes of an entry: the format, then the SHA-256 of the payload that follows it.
MAGIC = b"LRDOCTOR-RUN-CACHE\x00"
DIGEST_BYTES = 32
# Overrides the folder (tests, shared CI caches); default: the user cache folder.
CACHE_DIR_ENV = "LRDOCTOR_CACHE_DIR"


def default_cache_dir() -> Path:
    """Where results are cached: ``$LRDOCTOR_CACHE_DIR`` or the user cache folder + ``runs``."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lrdoctor", appauthor=False)) / "runs"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of the readers' and the analyzer's source files (names, sizes, modification stamps):
    an edited or upgraded install never serves results computed by other code under the same
    version number (editable installs, patched packages)."""
    import parsers

    stamps = []
    for package in (parsers, lrdoctor):
        root = Path(package.__file__).parent
        for path in sorted(root.rglob("*.py")):
            st = path.stat()
            stamps.append((str(path.relative_to(root.parent)), st.st_size, st.st_mtime_ns))
    return hashlib.sha256(json.dumps(stamps).encode()).hexdigest()


def task_key(task: Task) -> str:
    """The cache key of a task: a hash of everything its result depends on."""
    payload = {
        "format": CACHE_FORMAT,
        "version": lrdoctor.__version__,
        "code": code_fingerprint(),
        "readers": [r.format for r in readers()],
        "roles": [list(p) for p in task.roles],
        "analyze": task.analyze,
        "given_directly": task.given_directly,
        "root": task.root,
        "files": [list(s) for s in task.stamps],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class ResultCache:
    """Per-unit results on disk under ``folder``."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pkl"

    def get(self, task: Task) -> TaskResult | None:
        """The cached result of ``task``, or None (missing, stale or damaged: never trusted)."""
        if any(size < 0 for _, size, _ in task.stamps):
            return None  # a file could not be stat-ed: read it again so its problem is reported
        key = task_key(task)
        try:
            blob = self._entry(key).read_bytes()
        except OSError:
            return None
        head = len(MAGIC) + DIGEST_BYTES
        if len(blob) <= head or not blob.startswith(MAGIC):
            return None
        payload = blob[head:]
        if hashlib.sha256(payload).digest() != blob[len(MAGIC):head]:
            return None
        try:
            stored_key, result = pickle.loads(payload)
        except Exception:  # a damaged or foreign entry: recomputed and overwritten
            return None
        if stored_key != key or not isinstance(result, TaskResult):
            return None
        return result

    def put(self, task: Task, result: TaskResult) -> None:
        """Store ``result`` for ``task`` atomically (a crash leaves the old entry or none)."""
        if any(size < 0 for _, size, _ in task.stamps):
            return
        key = task_key(task)
        payload = pickle.dumps((key, result), protocol=pickle.HIGHEST_PROTOCOL)
        path = self._entry(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, path)
        except OSError:
            return  # a cache that cannot be written only costs speed
