#!/usr/bin/env python3
"""Writes the colormap lookup tables the visualizer uses: assets/colormaps/NAME.txt, 256 lines of "r g b"
in [0, 1], sampled from matplotlib's definitions. Needs Debian's python3-matplotlib (apt-get install
python3-matplotlib; run it with /usr/bin/python3). Gray is computed in the program itself."""
import pathlib
import sys

from matplotlib import colormaps

NAMES = ["viridis", "magma", "jet"]
ENTRIES = 256


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "assets/colormaps")
    out.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        cmap = colormaps[name].resampled(ENTRIES)
        lines = [f"# {name}: {ENTRIES} entries r g b in [0, 1], made by tools/make_colormaps.py from matplotlib"]
        for i in range(ENTRIES):
            r, g, b, _ = cmap(i)
            lines.append(f"{r:.6f} {g:.6f} {b:.6f}")
        (out / f"{name}.txt").write_text("\n".join(lines) + "\n")
        print(f"wrote {out / (name + '.txt')}")


if __name__ == "__main__":
    main()
