"""Synthetic Chinese plates, clean and camera-degraded, and synthetic road frames.

Training data for the reader is rendered here because the real plates we hold
are few, and half of them are kept for testing. A plate is drawn on the GA 36
layout (in mm: a 440x140 plate with 45x90 characters; new-energy plates are
480x140 with 8 narrower characters), then degraded the way road cameras degrade it:
perspective, blur, low resolution, noise, JPEG, night, glare, colour casts,
dirt, occlusion and loose crops with surroundings, as in the EasyPR crops.

Everything takes a ``numpy.random.Generator`` so that a seed fixes the output.

    rng = np.random.default_rng(0)
    text, color = random_plate(rng)
    crop = render_crop(text, color, rng)             # BGR uint8, camera-like crop
    frame, box = render_frame(text, color, rng)      # 1280x720 BGR frame + plate box
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.plate_rules import DIGITS, LETTERS, OFFICE_LETTERS, PROVINCES, SUFFIXES
from models.plates.training.glyphs import random_style, stroke_glyph, with_flagged_one

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# Four 黑体 designs for the Chinese characters, each drawn as often as the others: Noto Sans CJK
# (one of four weights), Droid Sans Fallback, WenQuanYi Zen Hei, and the narrow Smiley Sans.
NOTO_CJK = tuple(FONT_DIR / f"NotoSansCJKsc-{w}-plates.otf" for w in ("Regular", "Medium", "Bold", "Black"))
DROID_CJK = FONT_DIR / "DroidSansFallback-plates.ttf"
ZENHEI_CJK = FONT_DIR / "WenQuanYiZenHei-plates.ttf"
SMILEY_CJK = FONT_DIR / "SmileySans-Oblique-plates.ttf"
_SMILEY_SLANT = np.tan(np.deg2rad(8.0))  # its italic angle, undone when drawn
# Optional Latin/digit faces (Debian fonts-dejavu-core); skipped when absent.
LATIN_FONTS = tuple(
    p
    for p in (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"),
    )
    if p.exists()
) + NOTO_CJK
_LATIN_FONT_WEIGHTS = np.array([0.5 if "Bold" in p.name else 1.0 for p in LATIN_FONTS])
_LATIN_FONT_WEIGHTS /= _LATIN_FONT_WEIGHTS.sum()

# Province weights: Hainan plates dominate locally, but visitors from every
# province pass, and our validation plates are all from elsewhere.
_PROVINCE_WEIGHTS = np.array([3.0 if p == "琼" else 1.0 for p in PROVINCES])
_PROVINCE_WEIGHTS /= _PROVINCE_WEIGHTS.sum()
_ALNUM = LETTERS + DIGITS

# Plate colours, BGR: (background, text).
_BLUE = ((150, 60, 10), (245, 245, 245))
_YELLOW = ((20, 180, 235), (20, 20, 20))
_WHITE = ((235, 235, 235), (20, 20, 20))
_GREEN_TOP, _GREEN_BOTTOM = (225, 245, 230), (90, 200, 70)
_RED = (30, 30, 210)

PX_PER_MM = 0.5  # a clean plate is 220x70 (7 chars) or 240x70 (8 chars) pixels


# ---------------------------------------------------------------- plate text
def random_plate(rng: np.random.Generator) -> tuple[str, str]:
    """A plausible plate string and its colour (blue, yellow, green or white)."""
    color = str(rng.choice(["blue", "yellow", "green", "white"], p=[0.55, 0.2, 0.17, 0.08]))
    province = PROVINCES[rng.choice(len(PROVINCES), p=_PROVINCE_WEIGHTS)]
    letter = (OFFICE_LETTERS[rng.integers(len(OFFICE_LETTERS))] if rng.random() < 0.03
              else LETTERS[rng.integers(len(LETTERS))])
    if rng.random() < 0.5:  # many series start with A/B: bias a little as on real roads
        letter = "AB"[rng.integers(2)]

    def serial(n: int, max_letters: int = 2) -> str:
        chars = [DIGITS[rng.integers(10)] for _ in range(n)]
        for i in rng.choice(n, size=rng.integers(0, max_letters + 1), replace=False):
            chars[i] = _ALNUM[rng.integers(len(_ALNUM))]
        return "".join(chars)

    if color == "green":  # new energy: D/F + 5 (small car) or 5 digits + D/F (large)
        kind = "DF"[rng.integers(2)]
        if rng.random() < 0.8:
            return province + letter + kind + serial(5, 1), color
        return province + letter + "".join(DIGITS[rng.integers(10)] for _ in range(5)) + kind, color
    if color == "white":  # police: 4 digits + red 警
        return province + letter + "".join(DIGITS[rng.integers(10)] for _ in range(4)) + "警", color
    if color == "yellow" and rng.random() < 0.3:  # coach (学) or trailer (挂)
        return province + letter + serial(4, 1) + "学挂"[rng.integers(2)], color
    return province + letter + serial(5), color


# ---------------------------------------------------------------- glyphs
@cache
def _glyph(char: str, font_path: str) -> np.ndarray:
    """Tight float mask (0..1) of one character, drawn at 96 px."""
    font = ImageFont.truetype(font_path, 96)
    img = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(img).text((20, 10), char, font=font, fill=255)
    mask: np.ndarray = np.asarray(img, np.float32) / 255.0
    if font_path == str(SMILEY_CJK):  # set upright: shift each row left by its height above the baseline
        upright = np.array([[1, _SMILEY_SLANT, -_SMILEY_SLANT * 120], [0, 1, 0]], np.float32)
        mask = cv2.warpAffine(mask, upright, (160, 160), flags=cv2.INTER_LINEAR)
    ys, xs = np.nonzero(mask > 0.1)
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _reproportion(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move the split between a character's parts (氵|折, 粤's top and bottom) a little.

    Plate printers' Chinese designs differ from any font mostly in how wide or
    tall each component is; a reader trained on one font's proportions reads
    浙 on a real plate as 湘. Each axis is remapped piecewise-linearly through
    one inner knot, so strokes stay straight and the glyph keeps its box."""
    h, w = mask.shape

    def axis(n: int) -> np.ndarray:
        knot = rng.uniform(0.3, 0.7)
        moved = np.clip(knot + rng.uniform(-0.1, 0.1), 0.2, 0.8)
        return np.interp(np.arange(n, dtype=np.float32) / max(n - 1, 1), [0, moved, 1], [0, knot, 1]) * (n - 1)

    map_x = np.broadcast_to(axis(w)[None, :], (h, w)).astype(np.float32)
    map_y = np.broadcast_to(axis(h)[:, None], (h, w)).astype(np.float32)
    return cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR)


def _elastic(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bend a character's strokes a little with a smooth random displacement field:
    no two printers' dies draw a stroke's curve or a dot's angle quite alike."""
    h, w = mask.shape
    amplitude = rng.uniform(0.005, 0.02) * max(h, w)
    field = [cv2.resize(rng.normal(0, 1, (4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
             for _ in range(2)]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(mask, xs + amplitude * field[0], ys + amplitude * field[1], cv2.INTER_LINEAR)


def _chinese_font(rng: np.random.Generator) -> Path:
    """One of the four designs, each as likely (a Noto weight is drawn either way)."""
    design, weight = rng.integers(4), rng.integers(len(NOTO_CJK))
    return (NOTO_CJK[weight], DROID_CJK, ZENHEI_CJK, SMILEY_CJK)[design]


def _latin_face(rng: np.random.Generator):
    """One plate's face for letters and digits: mostly the stroke-drawn plate face,
    sometimes a shipped sans font, so the reader does not learn a single design."""
    if rng.random() < 0.7:
        return random_style(rng)
    return LATIN_FONTS[rng.choice(len(LATIN_FONTS), p=_LATIN_FONT_WEIGHTS)]


def _glyph_mask(char: str, w: int, h: int, face, rng: np.random.Generator, plain_one: bool = True) -> np.ndarray:
    """The character stretched into its w x h slot, as plate fonts are narrow and tall."""
    if char in PROVINCES or char in SUFFIXES:
        mask = _glyph(char, str(_chinese_font(rng)))
        pen = rng.random()  # printers' weights differ from any font's: thin or thicken the strokes a little
        if pen < 0.4:
            mask = (cv2.dilate if pen < 0.2 else cv2.erode)(mask, np.ones((3, 3), np.uint8))
        if rng.random() < 0.7:
            mask = _reproportion(mask, rng)
        if rng.random() < 0.5:
            mask = _elastic(mask, rng)
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA)
    elif isinstance(face, dict):
        mask = stroke_glyph(char, w, h, face, rng)
    elif char == "1" and plain_one:  # the plate "1" is a plain vertical bar, one stroke wide
        mask = np.zeros((h, w), np.float32)
        bar = max(2, int(round(w * rng.uniform(0.16, 0.26))))
        x0 = (w - bar) // 2 + int(rng.integers(-1, 2))
        mask[:, max(0, x0) : x0 + bar] = 1.0
    else:
        mask = cv2.resize(_glyph(char, str(face)), (w, h), interpolation=cv2.INTER_AREA)
    # per-glyph shear, shrink and shift: print and mounting vary a little
    shear, sx, sy = rng.normal(0, 0.03), rng.uniform(0.88, 1.0), rng.uniform(0.92, 1.0)
    dx = w * (1 - sx) * rng.uniform(0.2, 0.8)
    m = np.array([[sx, shear, dx - shear * h / 2], [0, sy, h * (1 - sy) / 2]], np.float32)
    return cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_LINEAR)


# ---------------------------------------------------------------- clean plate
def _layout(n_chars: int) -> tuple[int, int, list[tuple[float, float, float, float]], tuple[float, float]]:
    """Plate size in mm; each character's box as x and width in mm, the height of its
    centre as a fraction of the plate's and its height in mm; the separator dot's
    centre as x in mm and height as a fraction."""
    if n_chars == 8:
        width, cw, gap, big = 480, 43, 9, 51
    else:
        width, cw, gap, big = 440, 45, 12, 34
    x = 15.5
    boxes: list[tuple[float, float, float, float]] = []
    for i in range(n_chars):
        boxes.append((x, 0.5, cw, 90.0))
        x += cw + (big if i == 1 else gap)
    return width, 140, boxes, (boxes[1][0] + cw + 17, 0.5)


def _double_row_layout() -> tuple[int, int, list[tuple[float, float, float, float]], tuple[float, float]]:
    """The 440x220 double-row plate of lorries, coaches and trailers: province and letter
    small on the top row, the five serial characters large below."""
    boxes = [(110.0, 45 / 220, 45.0, 60.0), (285.0, 45 / 220, 45.0, 60.0)]
    boxes += [(27.5 + 80 * i, 150 / 220, 65.0, 110.0) for i in range(5)]
    return 440, 220, boxes, (220.0, 45 / 220)


def render_plate(text: str, color: str, rng: np.random.Generator, rows: int = 1) -> np.ndarray:
    """A clean, front-on plate (BGR uint8), with small variations of print.

    ``rows=2``: the double-row layout, for 7-character yellow plates."""
    if rows == 2 and (len(text) != 7 or color != "yellow"):
        raise ValueError(f"double-row plates are yellow with 7 characters, not {color} {text!r}")
    width_mm, height_mm, boxes, dot = _double_row_layout() if rows == 2 else _layout(len(text))
    k = PX_PER_MM * rng.uniform(0.9, 1.1)
    w, h = int(width_mm * k), int(height_mm * k)
    if color == "green":
        t = np.linspace(0, 1, h)[:, None, None]
        bg = np.broadcast_to((1 - t) * np.array(_GREEN_TOP) + t * np.array(_GREEN_BOTTOM), (h, w, 3))
        fg = (20, 20, 20)
    else:
        bg_color, fg = {"blue": _BLUE, "yellow": _YELLOW, "white": _WHITE}[color]
        jitter = rng.normal(0, 12, 3)
        bg = np.broadcast_to(np.clip(np.array(bg_color) + jitter, 0, 255), (h, w, 3))
    img = np.empty((h, w, 3), np.float32)
    img[:] = bg

    # border line just inside the edge
    inset = max(1, int(round(rng.uniform(1.0, 2.5) * k * 2)))
    cv2.rectangle(img, (inset, inset), (w - 1 - inset, h - 1 - inset), fg, max(1, int(k * 2)))

    size = rng.uniform(0.9, 1.04)
    shift = rng.uniform(-2, 2) * k
    scale_w = rng.uniform(0.85, 1.05)
    face = _latin_face(rng)
    new_energy = color == "green"  # its "1" carries a flag: the stroke face draws one, as the fonts' "1" does
    if new_energy and isinstance(face, dict):
        face = with_flagged_one(face, rng)
    stroke = 0 if isinstance(face, dict) else rng.choice([-1, -1, 0, 0, 1])  # fonts: thinner / as drawn / bolder
    for ch, (bx, by, bw, bh) in zip(text, boxes):
        ch_h = bh * k * size
        cw = max(3, int(round(bw * k * scale_w)))
        cx = int(round((bx + bw / 2) * k + rng.uniform(-1.5, 1.5)))
        m = _glyph_mask(ch, cw, int(round(ch_h)), face, rng, plain_one=not new_energy)
        if stroke:
            kern = np.ones((2, 2), np.uint8)
            m = cv2.dilate(m, kern) if stroke > 0 else cv2.erode(m, kern)
        ys, xs = int(round(h * by - ch_h / 2 + shift)), cx - cw // 2
        color_i = _RED if ch == "警" else fg
        region = img[ys : ys + m.shape[0], xs : xs + m.shape[1]]
        m = m[: region.shape[0], : region.shape[1], None]
        region[:] = region * (1 - m) + np.array(color_i, np.float32) * m
    if len(text) == 7:  # the separator dot
        cv2.circle(img, (int(dot[0] * k), int(h * dot[1])), max(1, int(5 * k)), fg, -1)
    if rng.random() < 0.6:  # rivets
        for fx in (0.25, 0.75):
            shade = tuple(float(c) * 0.8 for c in bg[0, 0])
            cv2.circle(img, (int(w * fx), int(h * 0.12)), max(1, int(4 * k)), shade, -1)
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- camera effects
def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Car-body / bumper-like surroundings: a flat colour, gradient and texture."""
    base = rng.uniform(0, 255, 3) if rng.random() < 0.6 else np.full(3, rng.uniform(10, 240))
    img = np.empty((h, w, 3), np.float32)
    img[:] = base
    img += np.linspace(-1, 1, h)[:, None, None] * rng.uniform(-40, 40)
    noise = cv2.resize(rng.normal(0, 25, (max(2, h // 8), max(2, w // 8), 3)).astype(np.float32), (w, h))
    img += noise
    for _ in range(rng.integers(0, 4)):  # grille bars / bumper edges
        y = int(rng.integers(0, h))
        cv2.line(img, (0, y), (w, y + int(rng.integers(-5, 6))), tuple(rng.uniform(0, 255, 3)), int(rng.integers(1, 5)))
    return img


def _motion_kernel(length: int, angle: float) -> np.ndarray:
    k: np.ndarray = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return k / max(k.sum(), 1e-6)


def degrade(img: np.ndarray, rng: np.random.Generator, harsh: bool) -> np.ndarray:
    """Photometric camera effects on a float BGR image (0..255).

    Most checkpoint crops are taken in fair light: only ``harsh`` crops get
    dirt, occlusion, night, overexposure, glare and strong contrast loss."""
    h, w = img.shape[:2]
    if harsh and rng.random() < 0.25:  # dirt and smudges
        for _ in range(rng.integers(1, 6)):
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(img, c, int(rng.integers(1, max(2, h // 6))), tuple(rng.uniform(40, 120, 3)), -1)
    if harsh and rng.random() < 0.1:  # partial occlusion (a bar, a tow hook, a leaf)
        x = int(rng.integers(0, w))
        cv2.rectangle(img, (x, 0), (x + int(rng.integers(2, max(3, w // 12))), h), tuple(rng.uniform(0, 255, 3)), -1)
    img = img * rng.uniform(0.85, 1.15, 3)  # colour cast / white balance
    lighting = rng.random() if harsh else 1.0
    if lighting < 0.3:  # night: dark, gain noise
        img = img * rng.uniform(0.15, 0.5)
    elif lighting < 0.45:  # overexposed
        img = img * rng.uniform(1.3, 1.8) + rng.uniform(0, 40)
    contrast = rng.uniform(0.5, 1.2) if harsh else rng.uniform(0.8, 1.15)
    img = (img - img.mean()) * contrast + img.mean() + rng.uniform(-40, 40)
    if harsh and rng.random() < 0.25:  # glare blob
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w]
        r = rng.uniform(0.2, 0.7) * w
        img = img + rng.uniform(80, 220) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
    img = np.clip(img, 0, 255)
    blur = rng.random()
    if blur < 0.3:
        s = rng.uniform(0.5, 2.0) * h / 60
        img = cv2.GaussianBlur(img, (0, 0), s)
    elif blur < 0.45:
        img = cv2.filter2D(img, -1, _motion_kernel(int(rng.integers(3, 9)), rng.uniform(-30, 30)))
    return img


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None, "a JPEG just encoded decodes"
    return decoded


def render_crop(text: str, color: str, rng: np.random.Generator, rows: int = 1, loose: bool = False) -> np.ndarray:
    """A plate as a road camera and a loose plate cropper deliver it (BGR uint8).

    The plate is warped in perspective onto surroundings, then cut out with a
    random margin (sometimes cutting into the border), blurred, shrunk to a
    random resolution, noised and JPEG-compressed. ``loose``: cut with a wide
    margin of surroundings on every side, as a detector's box around a tilted
    plate, or a box padded before it is shrunk to a fixed size, holds it.
    """
    plate = render_plate(text, color, rng, rows).astype(np.float32)
    ph, pw = plate.shape[:2]
    pad = int(ph * 0.8)
    canvas = _background(ph + 2 * pad, pw + 2 * pad, rng)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    d = rng.normal(0, 0.035, (4, 2)) * np.array([pw, ph]) * rng.uniform(0.3, 1.0)
    angle = np.deg2rad(rng.normal(0, 3))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([pw / 2, ph / 2])
    dst = ((src - centre) @ rot.T + centre + d + pad).astype(np.float32)
    shear = rng.normal(0, 0.08) * ph  # oblique view: vertical shear
    dst[[1, 2], 1] += shear
    m = cv2.getPerspectiveTransform(src, dst)
    cv2.warpPerspective(plate, m, canvas.shape[1::-1], dst=canvas, borderMode=cv2.BORDER_TRANSPARENT)

    # loose crop around the warped plate (real crops: margins, borders, cut edges)
    x1, y1 = dst.min(0)
    x2, y2 = dst.max(0)
    bw, bh = x2 - x1, y2 - y1
    if loose:
        mx, my = rng.uniform(0.0, 0.15, 2) * bw, rng.uniform(0.0, 0.45, 2) * bh
    else:
        mx = rng.uniform(-0.07, 0.06, 2) * bw  # plate croppers often cut at the first and last characters
        # and inside the plate's top and bottom margins, which a double-row plate's top row fills
        my = rng.uniform(-0.2 if rows == 1 else -0.04, 0.12, 2) * bh
    cx1, cx2 = int(max(0, x1 - mx[0])), int(min(canvas.shape[1], x2 + mx[1]))
    cy1, cy2 = int(max(0, y1 - my[0])), int(min(canvas.shape[0], y2 + my[1]))
    harsh = rng.random() < 0.6
    img = degrade(canvas[cy1:cy2, cx1:cx2].copy(), rng, harsh)

    # capture resolution: plates are 40-250 px wide in real crops
    target_w = int(np.clip(rng.lognormal(np.log(120), 0.45), 36, 300))
    target_h = max(8, int(round(img.shape[0] * target_w / img.shape[1])))
    img = cv2.resize(img, (target_w, target_h), interpolation=cv2.INTER_AREA)
    img = img + rng.normal(0, rng.uniform(0, 12 if harsh else 4), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        img = jpeg(img, int(rng.integers(15 if harsh else 50, 95)))
    return img


# ---------------------------------------------------------------- frames
def render_frame(
    plate: str, color: str, rng: np.random.Generator, size: tuple[int, int] = (1280, 720), rows: int = 1
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A 1280x720 road-scene-like frame with the plate on a car; returns (BGR, box).

    The box is (x1, y1, x2, y2) in frame pixels, the extent of the warped plate.
    Used by the simulator's ``--images`` and by localisation tests.
    """
    fw, fh = size
    frame = np.empty((fh, fw, 3), np.float32)
    frame[:] = rng.uniform(60, 140)  # asphalt
    frame += cv2.resize(rng.normal(0, 18, (fh // 16, fw // 16, 1)).astype(np.float32), (fw, fh))[..., None]
    for _ in range(3):  # lane markings
        x = int(rng.integers(0, fw))
        cv2.line(frame, (x, fh), (x + int(rng.integers(-300, 300)), 0), (220, 220, 220), int(rng.integers(4, 12)))
    car_w = int(rng.uniform(0.35, 0.6) * fw)
    car_h = int(car_w * rng.uniform(0.55, 0.8))
    cx = int(rng.integers(0, fw - car_w))
    cy = int(rng.integers(int(fh * 0.05), max(int(fh * 0.05) + 1, fh - car_h)))
    body = rng.uniform(0, 255, 3)
    if color == "blue":  # keep the car from being plate-blue, which no real scene guarantees either
        body = np.array([rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)]) * [0.5, 1, 1]
    cv2.rectangle(frame, (cx, cy), (cx + car_w, cy + car_h), tuple(body), -1)
    cv2.rectangle(frame, (cx + car_w // 8, cy + car_h // 10), (cx + 7 * car_w // 8, cy + car_h // 2), (40, 40, 40), -1)

    img = render_plate(plate, color, rng, rows).astype(np.float32)
    ph, pw = img.shape[:2]
    s = car_w * rng.uniform(0.25, 0.35) / pw
    tw, th = pw * s, ph * s
    px = cx + car_w / 2 - tw / 2 + rng.uniform(-0.1, 0.1) * car_w
    py = cy + car_h * rng.uniform(0.65, 0.8) - th / 2
    dst = np.array([[px, py], [px + tw, py], [px + tw, py + th], [px, py + th]], np.float32)
    dst += rng.normal(0, 0.03, (4, 2)).astype(np.float32) * np.array([tw, th], np.float32)
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    cv2.warpPerspective(img, m, (fw, fh), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    frame = np.clip(frame * rng.uniform(0.8, 1.1, 3) + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)
    x1, y1 = np.floor(dst.min(0)).astype(int)
    x2, y2 = np.ceil(dst.max(0)).astype(int)
    return frame, (int(x1), int(y1), int(x2), int(y2))
