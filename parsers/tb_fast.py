"""Bulk decoding of scalar events (placeholder: protobuf path until the fast path lands)."""

from __future__ import annotations

from .tb_decode import Decoded, decode_protobuf
from .tb_records import Framing


def decode_fast(buf: bytes, framing: Framing) -> Decoded:
    """Decode scalar points of one file."""
    return decode_protobuf(buf, framing)
