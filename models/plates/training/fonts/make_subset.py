"""Rebuild the committed font subsets: ``python -m models.plates.training.fonts.make_subset``.

The renderer needs only the ~70 plate characters, so we ship a subset of each
face (a few tens of kB) rather than 20 MB fonts. Four 黑体 designs, so that
the reader learns the characters rather than one font's details:

- Noto Sans CJK SC in four weights (SIL OFL 1.1, see OFL.txt), from the
  Debian packages fonts-noto-cjk and fonts-noto-cjk-extra;
- Droid Sans Fallback (Apache License 2.0, see Apache-2.0.txt), from the
  Debian package fonts-droid-fallback;
- WenQuanYi Zen Hei (GPL 2 with a font embedding exception, see
  GPL-2-font-exception.txt), from the Debian package fonts-wqy-zenhei;
- Smiley Sans, a narrow oblique 黑体 (SIL OFL 1.1, see OFL-SmileySans.txt),
  from the Debian package fonts-smiley-sans; the renderer sets it upright.
"""
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

from models.plates.charset import CHARS

HERE = Path(__file__).resolve().parent
NOTO = Path("/usr/share/fonts/opentype/noto")
SC_INDEX = 2  # "Noto Sans CJK SC" inside the .ttc collections
WEIGHTS = ("Regular", "Medium", "Bold", "Black")
DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
ZENHEI = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # face 0: WenQuanYi Zen Hei
SMILEY = Path("/usr/share/fonts/truetype/smiley-sans/SmileySans-Oblique.ttf")


def save_subset(font, out: Path) -> Path:
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]  # keep copyright and licence records (a condition of both licences)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=CHARS + "·")
    subsetter.subset(font)
    font.save(str(out))
    return out


if __name__ == "__main__":
    outs = [save_subset(TTCollection(str(NOTO / f"NotoSansCJK-{w}.ttc")).fonts[SC_INDEX],
                        HERE / f"NotoSansCJKsc-{w}-plates.otf") for w in WEIGHTS]
    outs.append(save_subset(TTFont(str(DROID)), HERE / "DroidSansFallback-plates.ttf"))
    outs.append(save_subset(TTCollection(str(ZENHEI)).fonts[0], HERE / "WenQuanYiZenHei-plates.ttf"))
    outs.append(save_subset(TTFont(str(SMILEY)), HERE / "SmileySans-Oblique-plates.ttf"))
    for p in outs:
        print(p, p.stat().st_size)
