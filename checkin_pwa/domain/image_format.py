"""What a photo's bytes are, from their magic numbers alone (never the name or the
Content-Type): one answer for the upload check and for the EXIF reader."""
from __future__ import annotations

from typing import Optional

# ISO-BMFF brands of HEIF stills (HEVC-coded, as iPhones and Android phones write them).
# AVIF (AV1) is left out: no phone camera writes it, and it is one more decoder exposed.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}


def sniff_format(data: bytes) -> Optional[str]:
    """jpeg / png / webp / heif from the magic numbers, or None for anything else
    (GIF, SVG, text, PDF, AVIF ...)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        box_size = int.from_bytes(data[:4], "big")
        if 16 <= box_size <= min(len(data), 4096):
            major = data[8:12]
            compatible = {data[i:i + 4] for i in range(16, box_size - 3, 4)}
            if major in HEIF_BRANDS or (compatible & HEIF_BRANDS and b"avif" != major):
                return "heif"
    return None
