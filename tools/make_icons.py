"""Draw the app icons (the login page's mark: a white map pin with a check on blue).

    .venv/bin/python tools/make_icons.py

Writes checkin_pwa/static/icons/: icon-192.png and icon-512.png (purpose "any": a rounded
blue square), maskable-192.png and maskable-512.png (purpose "maskable": blue to the
edges, the mark inside the central 80 % safe zone a launcher's mask never cuts), and
apple-touch-icon.png (180 px, opaque: iOS draws its own rounded corners). Drawn at 4x and
shrunk, so the edges are smooth. Deterministic: running it again gives the same files.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BLUE = (0x1F, 0x6F, 0xEB, 255)  # --blue in app.css, theme_color in manifest.json
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).resolve().parent.parent / "checkin_pwa" / "static" / "icons"
SCALE = 4


def _mark(draw: ImageDraw.ImageDraw, size: int, box: float) -> None:
    """The pin and check of auth/login.html's SVG (viewBox 24), drawn into a centred square
    `box` pixels wide."""
    unit = box / 24
    left = (size - box) / 2
    top = (size - box) / 2

    def p(x: float, y: float) -> tuple[float, float]:
        return (left + x * unit, top + y * unit)

    # Pin: a circle of radius 7 at (12, 9.5) and the tangents from its point at (12, 22).
    cx, cy, r, tip = 12, 9.5, 7, 22
    d = tip - cy
    dx, dy = r * (d * d - r * r) ** 0.5 / d, r * r / d
    draw.ellipse([p(cx - r, cy - r), p(cx + r, cy + r)], fill=WHITE)
    draw.polygon([p(cx - dx, cy + dy), p(cx, tip), p(cx + dx, cy + dy)], fill=WHITE)
    # The check, in blue on the pin's head.
    width = max(1, round(2.1 * unit))
    points = [p(9, 9.6), p(11.1, 11.7), p(15.1, 7.6)]
    draw.line(points, fill=BLUE, width=width, joint="curve")
    for x, y in points[::2]:
        draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=BLUE)


def draw_icon(size: int, maskable: bool, opaque: bool = False) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable or opaque:
        draw.rectangle([0, 0, big, big], fill=BLUE)
        # Safe zone: a circle of 40 % radius; the mark stays well inside it.
        box = big * 0.56
    else:
        draw.rounded_rectangle([0, 0, big - 1, big - 1], radius=big * 0.22, fill=BLUE)
        box = big * 0.72
    _mark(draw, big, box)
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image.convert("RGB") if opaque else image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw_icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        draw_icon(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)
    draw_icon(180, maskable=False, opaque=True).save(OUT / "apple-touch-icon.png", optimize=True)
    for path in sorted(OUT.glob("*.png")):
        print(path.relative_to(OUT.parent.parent.parent), path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
