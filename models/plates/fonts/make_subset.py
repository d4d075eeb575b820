"""Rebuild the committed font subset: ``python -m models.plates.fonts.make_subset``.

Noto Sans CJK SC (SIL OFL 1.1, see OFL.txt) is 20 MB a weight; the renderer
needs only the ~70 plate characters, so we ship a subset of each weight
(a few tens of kB). Needs the Debian package fonts-noto-cjk.
"""
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

from models.plates.charset import CHARS

HERE = Path(__file__).resolve().parent
SYSTEM = Path("/usr/share/fonts/opentype/noto")
SC_INDEX = 2  # "Noto Sans CJK SC" inside the .ttc collections


def build(weight: str) -> Path:
    font = TTCollection(str(SYSTEM / f"NotoSansCJK-{weight}.ttc")).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]  # keep copyright and licence records (OFL condition 2)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=CHARS + "·")
    subsetter.subset(font)
    out = HERE / f"NotoSansCJKsc-{weight}-plates.otf"
    font.save(str(out))
    return out


if __name__ == "__main__":
    for w in ("Regular", "Bold"):
        p = build(w)
        print(p, p.stat().st_size)
