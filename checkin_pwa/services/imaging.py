"""Every decode of an uploaded picture (photo, avatar), in a child process with hard limits.

A picture's bytes come from a phone and may be made to be expensive: a JPEG of thousands of
scans, a PNG that inflates to gigabytes, a HEIC whose decoder misbehaves. Nothing of them is
decoded in the web worker. `make` hands the bytes to a fresh process forked from a small
forkserver (multiprocessing's "forkserver" context: one per web worker process, started on
the first upload with Pillow and pillow-heif already imported, so a decode costs a fork, not
an interpreter start; no fork of the threaded web worker itself). Before it touches the
bytes the child sets
  RLIMIT_CPU  Limits.cpu_s seconds (the kernel stops it at the limit: SIGXCPU, then SIGKILL),
  RLIMIT_AS   Limits.memory_mb of address space (an allocation past it fails: MemoryError),
  RLIMIT_CORE 0, and a lower priority (nice), so pages keep the CPU while a photo decodes;
and the web worker waits at most Limits.wall_s for the answer, then kills it. At most
Limits.workers children run at once per web worker process; an upload that finds them all
busy for that long is asked to try again.

In the child, in order: the EXIF evidence (domain.evidence.read_exif: the one EXIF parse;
the decoder is given the JPEG without its EXIF segment so Pillow never parses it as well),
the size from the header alone, the shape checks (domain.image_format.shape_problem), then
the decode (every byte of the picture read: a truncated or corrupt file is refused; a JPEG
scaled by the decoder itself to what the largest copy needs) and the JPEG copies asked for.
A display copy of a JPEG that already fits (a phone's shrunk copy) is that JPEG itself, its
metadata left out; only the smaller copies are then made, from its pixels.
Warnings of the decoders are ignored there (the child is single-threaded, so a process-wide
filter is safe): a hostile file cannot fill the log.
"""
from __future__ import annotations

import io
import logging
import multiprocessing
import os
import resource
import signal
import threading
import warnings
from dataclasses import dataclass
from typing import Optional, Union

import pillow_heif
from PIL import Image, ImageOps

from ..domain import evidence as exif_evidence
from ..domain import image_format
from .outcomes import Refusal

log = logging.getLogger(__name__)

DEFAULT_CPU_S = 6
DEFAULT_MEMORY_MB = 1024
DEFAULT_WORKERS = 2
NICE = 10
JPEG_QUALITY = 85
# A phone's colour profile is a few kB; a bigger one is not copied into the display copies.
MAX_ICC_BYTES = 64 * 1024
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}


@dataclass(frozen=True)
class Limits:
    """What one picture may be and cost (config: PHOTO_MAX_PIXELS, PHOTO_MAX_SIDE,
    PHOTO_MAX_ASPECT, PHOTO_DECODE_CPU_S, PHOTO_DECODE_MEMORY_MB, PHOTO_DECODE_WORKERS)."""

    max_pixels: int
    max_side: int = image_format.MAX_SIDE
    max_aspect: float = image_format.MAX_ASPECT
    cpu_s: int = DEFAULT_CPU_S
    memory_mb: int = DEFAULT_MEMORY_MB
    workers: int = DEFAULT_WORKERS

    @property
    def wall_s(self) -> float:
        # CPU time runs slower than the clock when the machine is busy (and the child is
        # niced): room for that, and a hard end all the same.
        return 4.0 * self.cpu_s + 5.0

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(
            max_pixels=int(config["PHOTO_MAX_PIXELS"]),
            max_side=int(config.get("PHOTO_MAX_SIDE", image_format.MAX_SIDE)),
            max_aspect=float(config.get("PHOTO_MAX_ASPECT", image_format.MAX_ASPECT)),
            cpu_s=int(config.get("PHOTO_DECODE_CPU_S", DEFAULT_CPU_S)),
            memory_mb=int(config.get("PHOTO_DECODE_MEMORY_MB", DEFAULT_MEMORY_MB)),
            workers=int(config.get("PHOTO_DECODE_WORKERS", DEFAULT_WORKERS)),
        )


@dataclass(frozen=True)
class Made:
    """What the child made: the size, the EXIF evidence and the JPEG copies asked for; the
    size the pixels were decoded at, and whether the display copy is the JPEG as sent."""

    width: int
    height: int
    evidence: exif_evidence.PhotoEvidence
    copies: tuple[bytes, ...]
    decoded: tuple[int, int] = (0, 0)
    kept_as_sent: bool = False


# Copies: ("fit", n) the upright picture within n x n; ("square", n) cropped to n x n;
# ("display", n) as "fit", but a JPEG that is already within n x n, upright, in colour or grey
# and of at most KEEP_BYTES_PER_PIXEL is kept as it is (without its metadata) instead of being
# decoded and encoded again. Only as the first copy; the copies after it are made from it.
Copy = tuple[str, int]
# A kept JPEG of more bytes than this a pixel is a very high quality one: encoded again at
# JPEG_QUALITY, as a camera original would be (a phone's shrunk copy has about 0.1).
KEEP_BYTES_PER_PIXEL = 0.5


def make(data: bytes, fmt: str, limits: Limits, copies: tuple[Copy, ...]) -> Union[Made, Refusal]:
    """The picture's copies, or a refusal: too_costly (too many scans, the CPU or memory
    limit, no answer in time), too_many_pixels / bad_shape, unreadable_image, try_again
    (every decoding slot busy)."""
    if fmt == "jpeg" and image_format.jpeg_scans(data) > image_format.MAX_JPEG_SCANS:
        return Refusal("too_costly")
    if fmt == "heif" and image_format.heif_cut_short(data):
        return Refusal("unreadable_image")
    if not _slots(limits.workers).acquire(timeout=limits.wall_s):
        return Refusal("try_again")
    try:
        return _in_child(data, fmt, limits, copies)
    finally:
        _slots(limits.workers).release()


# --- the web worker's side -------------------------------------------------------------

_lock = threading.Lock()
_semaphores: dict[int, threading.BoundedSemaphore] = {}
_context = None


def _slots(workers: int) -> threading.BoundedSemaphore:
    with _lock:
        if workers not in _semaphores:
            _semaphores[workers] = threading.BoundedSemaphore(max(1, workers))
        return _semaphores[workers]


def _forkserver():
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # "__main__" too: the server imports the main script once (as multiprocessing
            # does for every child otherwise; gunicorn's and flask's guard their entry points).
            context.set_forkserver_preload(["__main__", __name__])
            _context = context
        return _context


def _in_child(data: bytes, fmt: str, limits: Limits, copies: tuple[Copy, ...]) -> Union[Made, Refusal]:
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, data, fmt, limits, copies), daemon=True,
                            name="picture-decoder")
    try:
        with _lock:  # multiprocessing's bookkeeping of children is not meant for threads
            child.start()
    except Exception:  # no process could be made (out of processes or memory): not the file's fault
        log.exception("picture decoder not started")
        receiver.close()
        sender.close()
        return Refusal("try_again")
    sender.close()
    try:
        answer = receiver.recv() if receiver.poll(limits.wall_s) else None
    except (EOFError, OSError):  # the child ended without answering
        answer = None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    code = child.exitcode
    child.close()
    if isinstance(answer, tuple) and len(answer) == 3 and isinstance(answer[0], (Made, Refusal)):
        log.info("picture decoder: %s, %.2f s CPU, %d MB peak (%s, %d bytes)",
                 type(answer[0]).__name__, answer[1], answer[2], fmt, len(data))
        return answer[0]
    if code in (-signal.SIGXCPU, -signal.SIGKILL, None):
        log.warning("picture decoder stopped at its limit (exit %s, %s, %d bytes)", code, fmt, len(data))
        return Refusal("too_costly")
    log.warning("picture decoder failed (exit %s, %s, %d bytes)", code, fmt, len(data))
    return Refusal("unreadable_image")


# --- the child's side ------------------------------------------------------------------------

def _child(sender, data: bytes, fmt: str, limits: Limits, copies: tuple[Copy, ...]) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    os.nice(NICE)
    warnings.simplefilter("ignore")
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        answer = _work(data, fmt, limits, copies)
    except MemoryError:
        answer = Refusal("too_costly")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    sender.send((answer, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024))
    sender.close()


def _work(data: bytes, fmt: str, limits: Limits, copies: tuple[Copy, ...]) -> Union[Made, Refusal]:
    found = exif_evidence.read_exif(data)
    pixels = image_format.jpeg_without_metadata_blocks(data) if fmt == "jpeg" else data
    name = PILLOW_FORMATS[fmt]
    try:
        # The format's own opener reads the header only (no pixels, no bomb check), so the
        # size is known, and put in the refusal, before anything decodes.
        header = Image.OPEN[name][0](io.BytesIO(pixels), "")
        width, height = header.size
    except MemoryError:
        raise
    except Exception:  # a hostile header may break a parser in any way
        log.info("picture header unreadable (%s)", fmt, exc_info=True)
        return Refusal("unreadable_image")
    problem = image_format.shape_problem(width, height, max_pixels=limits.max_pixels,
                                         max_side=limits.max_side, max_aspect=limits.max_aspect)
    params = {"width": width, "height": height, "megapixels": round(width * height / 1_000_000, 1),
              "limit": round(limits.max_pixels / 1_000_000), "max_side": limits.max_side,
              "max_aspect": f"{limits.max_aspect:g}"}
    if problem:
        return Refusal(problem, params)
    # libheif turns a HEIC upright itself; other pixels are as the sensor read them.
    orientation = found.orientation.value if found.orientation.read and fmt != "heif" else 1
    kept = _as_sent(pixels, header, fmt, orientation, copies)
    to_make = copies[1:] if kept is not None else copies
    try:
        image = Image.open(io.BytesIO(pixels), formats=[name])
        # A JPEG decodes straight to the scale the largest copy still to make needs (1/2 ..
        # 1/8, libjpeg's DCT scaling): every byte is still read, so a cut file is still refused.
        if to_make:
            largest = _long_side(to_make, width, height)
            image.draft("RGB", (-(-width * largest // max(width, height)), -(-height * largest // max(width, height))))
        else:
            image.draft("RGB", (1, 1))
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return Refusal("too_many_pixels", params)
    except MemoryError:
        raise
    except Exception:
        log.info("picture not decodable (%s)", fmt, exc_info=True)
        return Refusal("unreadable_image")
    decoded = image.size
    try:
        made = _copies(image, orientation, to_make, scaled=decoded != (width, height)) if to_make else ()
    except MemoryError:
        raise
    except Exception:
        log.info("picture could not be converted", exc_info=True)
        return Refusal("unreadable_image")
    if kept is not None:
        made = (kept, *made)
    return Made(width, height, found, made, decoded, kept is not None)


def _as_sent(pixels: bytes, header, fmt: str, orientation: int, copies: tuple[Copy, ...]) -> Optional[bytes]:
    """The display copy as the JPEG was sent (see Copy), or None when it must be made."""
    if not copies or copies[0][0] != "display" or fmt != "jpeg" or orientation != 1:
        return None
    width, height = header.size
    if max(width, height) > copies[0][1] or header.mode not in ("RGB", "L"):
        return None
    if len(pixels) > KEEP_BYTES_PER_PIXEL * width * height:
        return None
    return image_format.jpeg_display_copy(pixels, MAX_ICC_BYTES)


def _copies(image, orientation: int, copies: tuple[Copy, ...], scaled: bool = False) -> tuple[bytes, ...]:
    """Upright JPEG copies without EXIF. Shrinks the decoded image in place to the largest
    copy first, then turns and converts only the small one. `scaled`: the decoder already
    scaled the image down (a JPEG's DCT scaling)."""
    icc = image.info.get("icc_profile")
    if not isinstance(icc, bytes) or len(icc) > MAX_ICC_BYTES:
        icc = None
    largest = _long_side(copies, *image.size)
    # What is left after the decoder's scaling is less than 2x: Hamming's short filter does it
    # in half Lanczos's time (the scaling already filtered the picture; the copies differ by
    # about 1 level in 255). Any other step (PNG, HEIC, an unscaled JPEG) with Lanczos.
    gentle = scaled and max(image.size) < 2 * largest
    image.thumbnail((largest, largest), Image.Resampling.HAMMING if gentle else Image.Resampling.LANCZOS)
    rgb = _rgb(image)
    turn = _UPRIGHT.get(orientation)
    if turn is not None:
        rgb = rgb.transpose(turn)
    out = []
    for kind, size in copies:
        if kind == "square":
            out.append(_jpeg(ImageOps.fit(rgb, (size, size), Image.Resampling.LANCZOS), size, None))
        else:
            out.append(_jpeg(rgb, size, icc))
    return tuple(out)


def _long_side(copies: tuple[Copy, ...], width: int, height: int) -> int:
    """The long side the largest copy needs: a square's short side must still cover it."""
    long, short = max(width, height), max(1, min(width, height))
    return max(size if kind != "square" else -(-size * long // short) for kind, size in copies)


def _rgb(image):
    """RGB for JPEG; transparency over white (a PNG screenshot's alpha must not turn black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _jpeg(image, long_side: int, icc_profile: Optional[bytes]) -> bytes:
    copy = image.copy()
    copy.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    # A fresh info: Pillow would otherwise carry XMP (which may hold GPS) into the JPEG.
    copy.info = {}
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY, "optimize": True}
    if icc_profile:
        options["icc_profile"] = icc_profile  # colours, not personal data
    copy.save(out, "JPEG", **options)
    return out.getvalue()


# EXIF Orientation -> the turn that makes the pixels upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Imported with this module by the forkserver, so each child starts with the decoders ready.
pillow_heif.register_heif_opener()
pillow_heif.options.DECODE_THREADS = 1  # one core per decode: the limits are per process
Image.init()
