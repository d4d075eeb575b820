"""Bytes that cross a shuffle compressed: Zstandard at its fastest level.

A runner that keeps its shuffle in memory, as the FnApiRunner does, holds
every value that crosses it, often in several copies: the replay's event_ids
and the metrics' plates cross packed, in a fraction of the bytes."""
import struct

import pyarrow as pa

_CODEC = pa.Codec("zstd", compression_level=1)
_SIZE = struct.Struct("<Q")  # the length before packing, which the codec needs to unpack


def packed(data: bytes) -> bytes:
    return _SIZE.pack(len(data)) + _CODEC.compress(data, asbytes=True)


def unpacked(data: bytes) -> bytes:
    (size,) = _SIZE.unpack_from(data)
    return _CODEC.decompress(memoryview(data)[_SIZE.size:], size, asbytes=True)
