"""Photos made at test (and benchmark) time from the real fixtures in shared/fixtures/photos:
what a phone camera writes, without committing megabytes of it."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops

FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/photos"


def detailed_12mp(target: Path, source: Path = FIXTURES / "HMD_Nokia_8.3_5G.jpg", sigma: float = 8) -> Path:
    """A 4000 x 3000 phone JPEG as a camera writes it in a dim factory: the middle of a real
    photo cut to 4:3 and resized, with sensor noise on each channel (the detail a resized photo
    lacks; it is what makes a camera file big), saved at quality 92 (4:2:0) with the source's
    EXIF segment as it is (time, GPS). About 4 MB; without noise (sigma=0) 1.7 MB."""
    with Image.open(source) as image:
        exif = image.info["exif"]
        width, height = image.size
        crop = round(height * 4 / 3)
        left = (width - crop) // 2
        big = image.crop((left, 0, left + crop, height)).resize((4000, 3000), Image.Resampling.LANCZOS)
    if sigma:
        noise = Image.merge("RGB", [Image.effect_noise(big.size, sigma) for _ in range(3)])
        big = ImageChops.add(big.convert("RGB"), noise, scale=1.0, offset=-128)
    big.save(target, "JPEG", quality=92, subsampling="4:2:0", exif=exif)
    return target
