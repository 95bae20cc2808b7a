"""Why a file or a folder gave no run, in words a user can act on.

The loader asks these when no reader takes a file (an archive to extract, a first line
longer than any reader looks at) or when a whole folder yields nothing (empty, or only
model checkpoints).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# How far readers look to recognise a file (the sniffers' window, see parsers.csv_table).
SNIFF_BYTES = 64 * 1024
# Leading bytes of archive formats (the name alone can lie, or be missing).
ARCHIVE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty zip
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
ARCHIVE_SUFFIXES: dict[str, str] = {
    ".zip": "zip", ".tar": "tar", ".tgz": "tar.gz", ".gz": "gzip", ".bz2": "bzip2", ".xz": "xz",
    ".7z": "7z", ".rar": "rar", ".zst": "zstd", ".tbz2": "tar.bz2", ".txz": "tar.xz",
}
# Offset and value of the POSIX tar signature.
TAR_MAGIC_OFFSET = 257
TAR_MAGIC = b"ustar"
# What training leaves behind besides its logs: weights, optimizer state, exported models.
CHECKPOINT_SUFFIXES = {
    ".pt", ".pth", ".ckpt", ".safetensors", ".bin", ".h5", ".hdf5", ".keras", ".onnx", ".pkl",
    ".pickle", ".npz", ".npy", ".index", ".pb", ".msgpack", ".gguf", ".joblib", ".tflite",
}


def archive_kind(path: Path) -> str | None:
    """``'zip'``, ``'tar.gz'`` ... when ``path`` is an archive (by content, else by name), or None.

    Checkpoints stored as archives (PyTorch's ``.pt`` and NumPy's ``.npz`` are zip files) are
    not archives of logs: None.
    """
    if path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(TAR_MAGIC_OFFSET + len(TAR_MAGIC))
    except OSError:
        head = b""
    name = path.name.lower()
    for magic, kind in ARCHIVE_MAGIC:
        if head.startswith(magic):
            if kind in ("gzip", "bzip2", "xz") and ".tar." in name:
                return f"tar.{name.rsplit('.', 1)[1]}"
            return kind
    if head[TAR_MAGIC_OFFSET:].startswith(TAR_MAGIC):
        return "tar"
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst"):
        if name.endswith(suffix):
            return suffix[1:]
    return ARCHIVE_SUFFIXES.get(path.suffix.lower())


def headless_reason(path: Path) -> str | None:
    """Why the readers could not even see the file's first line, when that is the case."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return None
    if len(head) >= SNIFF_BYTES and b"\n" not in head and b"\r" not in head:
        return (f"its first line is longer than {SNIFF_BYTES // 1024} KiB (a header of that many columns?), "
                "more than the readers look at to recognise a log")
    return None


def nothing_found(root: Path, files: list[Path]) -> str:
    """The reason a walk of ``root`` over ``files`` found no run."""
    if root.is_file():
        return "not a recognised training log"
    if not files:
        return "no training logs found: the folder is empty (hidden files and folders are skipped)"
    suffixes = Counter(f.suffix.lower() or "(no suffix)" for f in files)
    if all(s in CHECKPOINT_SUFFIXES for s in suffixes):
        kinds = ", ".join(f"{n} {s}" for s, n in suffixes.most_common(4))
        return (f"no training logs found: only model checkpoints ({kinds}); lrdoctor reads the logs written "
                "during training (TensorBoard event files, metrics.csv, trainer_state.json, text logs ...)")
    kinds = ", ".join(f"{n} {s}" for s, n in suffixes.most_common(4))
    return f"no training logs found among {len(files):,} file(s) ({kinds})"
