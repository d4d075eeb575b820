"""Bytes packed to cross a shuffle come back as they were, in fewer bytes."""
from transforms.packed import packed, unpacked


def test_bytes_come_back_whole_and_packed_smaller():
    plates = "".join(f"琼C{n * 7919 % 100_000:05d}\n" for n in range(2000)).encode()
    assert unpacked(packed(plates)) == plates
    assert len(packed(plates)) < 0.7 * len(plates)
    assert unpacked(packed(b"")) == b""
