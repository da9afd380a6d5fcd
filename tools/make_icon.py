#!/usr/bin/env python3
"""Draws attnscope's application icon: an attention map as the visualizer shows one, a grid of cells in
viridis with two peaks (a token attending to two places), on a dark rounded square.

Writes assets/desktop/icons/attnscope-N.png for the hicolor sizes and assets/desktop/icons/attnscope.svg,
with nothing but the standard library (zlib + struct for PNG). Run it again after changing the drawing:
    python3 tools/make_icon.py
"""

import math
import os
import struct
import zlib

SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "desktop", "icons")

# assets/colormaps/viridis.txt at 0, 1/4, 1/2, 3/4, 1: enough stops for a smooth ramp at icon sizes.
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
BACKGROUND = (24, 26, 33)
MARGIN = 0.08  # of the side, around the rounded square
RADIUS = 0.18  # the square's corner radius, of the side
PEAKS = ((0.34, 0.38, 0.20, 1.0), (0.70, 0.66, 0.14, 0.75))  # x, y, width, height, in the map's unit square


def viridis(t):
    t = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    f = t - i
    return tuple(a + (b - a) * f for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1]))


def attention(x, y):
    """The map's value at a cell centre, in [0, 1]."""
    v = sum(h * math.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * w * w)) for px, py, w, h in PEAKS)
    return min(v, 1.0)


def cells_for(size):
    """Fewer, larger cells at small sizes, so each stays at least a few pixels wide."""
    return 4 if size < 32 else 6 if size < 64 else 8


def inside_rounded_square(x, y):
    """Whether a point of the unit square lies on the icon's rounded square."""
    lo, hi = MARGIN, 1 - MARGIN
    if not (lo <= x <= hi and lo <= y <= hi):
        return False
    cx = min(max(x, lo + RADIUS), hi - RADIUS)
    cy = min(max(y, lo + RADIUS), hi - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS * RADIUS


def map_geometry(size):
    """The map's square inside the background, its cell count, and the gap between cells, in unit units."""
    inset = MARGIN + 0.09
    n = cells_for(size)
    gap = max(1.0 / size, 0.012)
    return inset, 1 - inset, n, gap


def colour_at(x, y, size):
    """RGBA of a point of the unit square (y down)."""
    if not inside_rounded_square(x, y):
        return (0, 0, 0, 0)
    lo, hi, n, gap = map_geometry(size)
    if lo <= x < hi and lo <= y < hi:
        cell = (hi - lo) / n
        i, j = int((x - lo) / cell), int((y - lo) / cell)
        fx, fy = (x - lo) / cell - i, (y - lo) / cell - j
        half_gap = gap / 2 / cell
        if half_gap <= fx <= 1 - half_gap and half_gap <= fy <= 1 - half_gap:
            return viridis(attention((i + 0.5) / n, (j + 0.5) / n)) + (255,)
    return BACKGROUND + (255,)


def render(size, supersample=4):
    """Rows of RGBA bytes, each pixel the average of supersample^2 points (smooth corners and gaps)."""
    rows = []
    k = supersample
    for py in range(size):
        row = bytearray()
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(k):
                for sx in range(k):
                    r, g, b, a = colour_at((px + (sx + 0.5) / k) / size, (py + (sy + 0.5) / k) / size, size)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            alpha = acc[3] / (k * k)
            rgb = [c / acc[3] if acc[3] else 0 for c in acc[:3]]  # straight, not premultiplied, alpha
            row += bytes(int(round(c)) for c in rgb) + bytes([int(round(alpha))])
        rows.append(bytes(row))
    return rows


def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    raw = b"".join(b"\x00" + r for r in rows)  # filter type 0 on every row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def svg():
    """The same drawing at the largest cell count, as vectors (share/icons/hicolor/scalable)."""
    side = 256
    lo, hi, n, gap = map_geometry(side)
    m, r = MARGIN * side, RADIUS * side
    cell = (hi - lo) / n * side
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" viewBox="0 0 {side} {side}">',
        f'<rect x="{m:.2f}" y="{m:.2f}" width="{side - 2 * m:.2f}" height="{side - 2 * m:.2f}" rx="{r:.2f}" '
        f'fill="#{"%02x%02x%02x" % BACKGROUND}"/>',
    ]
    for j in range(n):
        for i in range(n):
            c = viridis(attention((i + 0.5) / n, (j + 0.5) / n))
            g = gap * side / 2
            parts.append(
                f'<rect x="{lo * side + i * cell + g:.2f}" y="{lo * side + j * cell + g:.2f}" '
                f'width="{cell - 2 * g:.2f}" height="{cell - 2 * g:.2f}" '
                f'fill="#{"%02x%02x%02x" % tuple(int(round(v)) for v in c)}"/>'
            )
    parts.append("</svg>\n")
    return "\n".join(parts)


def main():
    os.makedirs(OUT, exist_ok=True)
    for size in SIZES:
        with open(os.path.join(OUT, f"attnscope-{size}.png"), "wb") as f:
            f.write(png(size, size, render(size)))
    with open(os.path.join(OUT, "attnscope.svg"), "w") as f:
        f.write(svg())


if __name__ == "__main__":
    main()
