#!/usr/bin/env python3
"""docs/example-picture.png: the picture the screenshots read (a red circle left of a blue square on a gray
background, 64x64), drawn here rather than generated, so that what the reading shows is the model's attention
on a picture it did not make. Pure Python (zlib), no imaging library.

    python3 tools/make_example_picture.py docs/example-picture.png
"""
import struct
import sys
import zlib

SIZE = 64


def pixel(x, y):
    cx, cy = x + 0.5, y + 0.5
    if (cx - 18) ** 2 + (cy - 32) ** 2 <= 10 ** 2:
        return (220, 30, 30)
    if 36 <= cx < 56 and 22 <= cy < 42:
        return (30, 60, 220)
    return (128, 128, 128)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    rows = b"".join(b"\x00" + bytes(c for x in range(SIZE) for c in pixel(x, y)) for y in range(SIZE))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
    with open(sys.argv[1], "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main()
