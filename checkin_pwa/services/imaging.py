"""Every decode of an uploaded picture (photo, avatar), in a separate process with hard limits.

A picture's bytes come from a phone and may be made to be expensive: a JPEG of thousands of
scans, a PNG that inflates to gigabytes, a HEIC whose decoder misbehaves. Nothing of them is
decoded in the web worker. `make` hands the bytes to a decoder process of this web worker
(`serve`: a fresh interpreter with Pillow and pillow-heif and none of the web app, started on
the first upload, never a fork of the threaded web worker) and waits at most Limits.wall_s
for the answer, then kills it. The decoder sets, for its whole life,
  RLIMIT_AS   Limits.memory_mb of address space (an allocation past it fails: MemoryError),
  RLIMIT_CORE 0, and a lower priority (nice), so pages keep the CPU while a photo decodes;
and before each picture RLIMIT_CPU's soft limit Limits.cpu_s seconds on from the CPU it has
used (the kernel stops it at the limit: SIGXCPU). It is kept for the next picture, so a
picture costs no process start; it is replaced after Limits.recycle_after pictures, after a
picture that left it above Limits.recycle_mb resident or out of memory, and whenever it
ended without answering (a crash, a limit, the wall-time kill: the upload is refused with
the matching words and the next picture gets a fresh process); it is closed after
Limits.idle_s without work. At most Limits.workers decoders run at once per web worker
process; an upload that finds them all busy for Limits.wall_s is asked to try again.

In the decoder, for each picture, in order: the EXIF evidence (domain.evidence.read_exif: the one EXIF parse;
the decoder is given the JPEG without its EXIF segment so Pillow never parses it as well),
the size from the header alone, the shape checks (domain.image_format.shape_problem), then
the decode (every byte of the picture read: a truncated or corrupt file is refused; a JPEG
scaled by the decoder itself to what the largest copy needs) and the JPEG copies asked for.
A display copy of a JPEG that already fits (a phone's shrunk copy) is that JPEG itself, its
metadata left out; only the smaller copies are then made, from its pixels.
Warnings of the decoders are ignored there (the decoder is single-threaded, so a process-wide
filter is safe): a hostile file cannot fill the log.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import io
import logging
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
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
# A decoder process answers this many pictures, then a fresh one takes over (its memory's
# fragmentation, and whatever one hostile picture could have left in it, last that long);
# it also retires after a picture that left it above DEFAULT_RECYCLE_MB resident, and is
# closed after DEFAULT_IDLE_S without work, so an idle server holds none. Starting one costs
# about 0.13 s of CPU, so the photos a team sends within minutes of each other share one.
DEFAULT_RECYCLE_AFTER = 50
DEFAULT_RECYCLE_MB = 160
DEFAULT_IDLE_S = 300
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
    recycle_after: int = DEFAULT_RECYCLE_AFTER
    recycle_mb: int = DEFAULT_RECYCLE_MB
    idle_s: float = DEFAULT_IDLE_S

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
            recycle_after=max(1, int(config.get("PHOTO_DECODE_RECYCLE_AFTER", DEFAULT_RECYCLE_AFTER))),
            recycle_mb=int(config.get("PHOTO_DECODE_RECYCLE_MB", DEFAULT_RECYCLE_MB)),
            idle_s=float(config.get("PHOTO_DECODE_IDLE_S", DEFAULT_IDLE_S)),
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
        return _decoded(data, fmt, limits, copies)
    finally:
        _slots(limits.workers).release()


# --- the web worker's side -------------------------------------------------------------

_lock = threading.Lock()
_semaphores: dict[int, threading.BoundedSemaphore] = {}


def _slots(workers: int) -> threading.BoundedSemaphore:
    with _lock:
        if workers not in _semaphores:
            _semaphores[workers] = threading.BoundedSemaphore(max(1, workers))
        return _semaphores[workers]


class _Gone(Exception):
    """The decoder process ended, or did not answer in time; it has been killed."""

    def __init__(self, code: Optional[int], started: bool) -> None:
        super().__init__(code)
        self.code, self.started = code, started


class _Decoder:
    """One decoder process (`serve` below, a fresh interpreter that never imports the web
    app) and the pipes to it: a request and its answer are pickles, each after its length."""

    def __init__(self, limits: Limits) -> None:
        self.key = (limits.cpu_s, limits.memory_mb, limits.recycle_after, limits.recycle_mb)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _PACKAGE, *map(str, self.key)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True,
            env={name: os.environ[name] for name in _DECODER_ENVIRONMENT if name in os.environ})
        os.set_blocking(self.process.stdin.fileno(), False)  # writes wait in select, bounded
        self.idle_since = time.monotonic()
        self.retiring = False

    def decode(self, data: bytes, task: tuple, wall_s: float) -> tuple:
        """The decoder's answer: (Made or Refusal, CPU s, peak MB, retiring). Raises _Gone.
        The picture's bytes go as they are after the pickled task (no copy of them is made)."""
        blob = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        deadline = time.monotonic() + wall_s
        try:
            self._write(struct.pack(">QQ", len(blob), len(data)), deadline)
        except (BrokenPipeError, OSError):  # it ended while idle: the request was never read
            raise _Gone(self.close(), started=False)
        try:
            self._write(blob, deadline)
            self._write(data, deadline)
            size = struct.unpack(">Q", self._read(8, deadline))[0]
            if size > _MAX_ANSWER_BYTES:
                raise EOFError("answer too big")
            answer = _Answer(io.BytesIO(self._read(size, deadline))).load()
        except (EOFError, OSError, pickle.UnpicklingError, TimeoutError):
            raise _Gone(self.close(), started=True)
        if not (isinstance(answer, tuple) and len(answer) == 4 and isinstance(answer[0], (Made, Refusal))):
            raise _Gone(self.close(), started=True)
        self.retiring = bool(answer[3])
        return answer

    def _write(self, data: bytes, deadline: float) -> None:
        view, fd = memoryview(data).cast("B"), self.process.stdin.fileno()
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not _ready(fd, select.POLLOUT, left):
                raise TimeoutError
            try:
                view = view[os.write(fd, view[:1 << 16]):]
            except BlockingIOError:
                continue

    def _read(self, count: int, deadline: float) -> bytes:
        out, fd = bytearray(), self.process.stdout.fileno()
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not _ready(fd, select.POLLIN, left):
                raise TimeoutError
            chunk = os.read(fd, min(count - len(out), 1 << 20))
            if not chunk:
                raise EOFError
            out += chunk
        return bytes(out)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, wait_s: float = 0.0) -> Optional[int]:
        """Ends the process (its input closed; killed if it has not ended within wait_s) and
        answers its exit code."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode


def _ready(fd: int, event: int, timeout_s: float) -> bool:
    """Whether fd is ready (or closed at the other end) within timeout_s. poll, not select: a
    busy web worker's descriptors may be numbered past select's 1024."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(timeout_s * 1000))


class _Pool:
    """The decoder processes of this web worker process: at most one per decoding slot, each
    kept for the next picture once it answered, replaced when it ended (a crash, a limit, a
    wall-time kill) or retired itself (after Limits.recycle_after pictures, or above
    Limits.recycle_mb of memory), and closed after Limits.idle_s without work."""

    def __init__(self) -> None:
        self.idle: list[_Decoder] = []
        self.reaper: Optional[threading.Thread] = None
        self.idle_s = float(DEFAULT_IDLE_S)

    def take(self, limits: Limits) -> _Decoder:
        key = (limits.cpu_s, limits.memory_mb, limits.recycle_after, limits.recycle_mb)
        with _lock:
            self.idle_s = limits.idle_s
            while self.idle:
                decoder = self.idle.pop()
                if decoder.key == key and decoder.alive():
                    return decoder
                decoder.close()
        return _Decoder(limits)

    def give(self, decoder: _Decoder) -> None:
        if decoder.retiring or not decoder.alive():
            decoder.close(wait_s=5.0)
            return
        decoder.idle_since = time.monotonic()
        with _lock:
            self.idle.append(decoder)
            if self.reaper is None:
                self.reaper = threading.Thread(target=self._reap, name="picture-decoder-reaper", daemon=True)
                self.reaper.start()

    def _reap(self) -> None:
        while True:
            time.sleep(max(0.05, min(self.idle_s / 2, 5.0)))
            now, done = time.monotonic(), []
            with _lock:
                for decoder in list(self.idle):
                    if now - decoder.idle_since >= self.idle_s:
                        self.idle.remove(decoder)
                        done.append(decoder)
            for decoder in done:
                decoder.close(wait_s=5.0)

    def pids(self) -> list[int]:
        with _lock:
            return [decoder.process.pid for decoder in self.idle]


_pools: dict[int, _Pool] = {}


def _pool() -> _Pool:
    """This process's pool (a forked web worker starts with none of its parent's)."""
    with _lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            _pools.clear()
            pool = _pools[os.getpid()] = _Pool()
        return pool


def idle_decoders() -> list[int]:
    """Process ids of this web worker's decoders waiting for work."""
    return _pool().pids()


def _decoded(data: bytes, fmt: str, limits: Limits, copies: tuple[Copy, ...]) -> Union[Made, Refusal]:
    pool = _pool()
    for _attempt in range(2):
        try:
            decoder = pool.take(limits)
        except Exception:  # no process could be made (out of processes or memory): not the file's fault
            log.exception("picture decoder not started")
            return Refusal("try_again")
        try:
            answer, cpu_s, peak_mb, _retiring = decoder.decode(data, (fmt, limits, copies), limits.wall_s)
        except _Gone as gone:
            if not gone.started:
                continue  # it had ended before the picture reached it: a fresh one takes it
            return _failed(gone.code, fmt, len(data))
        pool.give(decoder)
        log.info("picture decoder: %s, %.2f s CPU, %d MB peak (%s, %d bytes)",
                 type(answer).__name__, cpu_s, peak_mb, fmt, len(data))
        return answer
    return Refusal("try_again")


def _failed(code: Optional[int], fmt: str, size: int) -> Refusal:
    if code in (-signal.SIGXCPU, -signal.SIGKILL, None):
        log.warning("picture decoder stopped at its limit (exit %s, %s, %d bytes)", code, fmt, size)
        return Refusal("too_costly")
    log.warning("picture decoder failed (exit %s, %s, %d bytes)", code, fmt, size)
    return Refusal("unreadable_image")


class _Answer(pickle.Unpickler):
    """Reads a decoder's answer: only the types an answer is made of. The decoder has read a
    stranger's bytes; what it sends back is never allowed to name anything else."""

    def find_class(self, module: str, name: str):
        allowed = _ANSWER_TYPES.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of an answer")
        return allowed


# --- the child's side ------------------------------------------------------------------------

# The decoder process's program: the checkin_pwa package is named without running its
# __init__ (the web app: Flask, SQLAlchemy ...), so the process holds Pillow, pillow-heif and
# the few modules a decode needs.
_PACKAGE = str(Path(__file__).resolve().parents[1])
_BOOT = ("import sys, types\n"
         "package = types.ModuleType('checkin_pwa')\n"
         "package.__path__ = [sys.argv[1]]\n"
         "sys.modules['checkin_pwa'] = package\n"
         "from checkin_pwa.services import imaging\n"
         "imaging.serve(*map(int, sys.argv[2:]))\n")
# All a decoder gets of the web worker's environment: none of its secrets (SECRET_KEY, the
# database's and the photo store's credentials) is in a process that reads strangers' bytes.
_DECODER_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH", "MALLOC_ARENA_MAX")
_MAX_ANSWER_BYTES = 64 * 1024 * 1024
_MAX_REQUEST_BYTES = 1 << 31


def serve(cpu_s: int, memory_mb: int, recycle_after: int, recycle_mb: int) -> None:
    """The decoder process: answers pictures read from stdin, one at a time, until its input
    ends, it has answered `recycle_after` of them, or a picture left it above `recycle_mb` of
    resident memory or out of memory. Each picture gets `cpu_s` seconds of CPU of its own
    (RLIMIT_CPU's soft limit, moved on before each one: past it the kernel ends the process
    with SIGXCPU); the address space is capped at `memory_mb` for the process's life."""
    requests = os.fdopen(0, "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to the log, never into the answers
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # The process's whole life, as a backstop of the soft limit set before each picture.
    lifetime = int(_cpu_used()) + 2 + (cpu_s + 2) * (recycle_after + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (lifetime, lifetime))
    os.nice(NICE)
    warnings.simplefilter("ignore")
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    for done in range(1, recycle_after + 1):
        head = _read_all(requests, 16)
        if head is None:
            return
        task_size, data_size = struct.unpack(">QQ", head)
        task = _read_all(requests, task_size) if task_size <= _MAX_REQUEST_BYTES else None
        data = _read_all(requests, data_size) if task is not None and data_size <= _MAX_REQUEST_BYTES else None
        if data is None:
            return
        began = _cpu_used()  # the picture's CPU: from its task's unpickling to its answer's
        fmt, limits, copies = pickle.loads(task)
        resource.setrlimit(resource.RLIMIT_CPU, (min(lifetime, math.ceil(began) + cpu_s), lifetime))
        Path("/proc/self/clear_refs").write_text("5")  # the peak below is this picture's
        retire = done >= recycle_after
        try:
            answer = _work(data, fmt, limits, copies)
        except MemoryError:
            answer, retire = Refusal("too_costly"), True
        del data
        _LIBC.malloc_trim(0)  # the pixels' memory goes back to the system now
        peak_mb, now_mb = _memory_mb("VmHWM"), _memory_mb("VmRSS")
        retire = retire or now_mb > recycle_mb
        blob = pickle.dumps((answer, _cpu_used() - began, peak_mb, retire), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(struct.pack(">Q", len(blob)))
        answers.write(blob)
        answers.flush()
        if retire:
            return


def _read_all(stream, count: int) -> Optional[bytes]:
    out = bytearray(count)
    view, got = memoryview(out), 0
    while got < count:
        read = stream.readinto(view[got:])
        if not read:
            return None
        got += read
    return bytes(out)


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _memory_mb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


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

# The decoders ready when the decoder process starts.
pillow_heif.register_heif_opener()
pillow_heif.options.DECODE_THREADS = 1  # one core per decode: the limits are per process
Image.init()
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
# What a decoder's answer may be made of (_Answer): these classes, by where pickle finds them.
_ANSWER_TYPES = {(kind.__module__, kind.__qualname__): kind for kind in (
    Made, Refusal, exif_evidence.PhotoEvidence, exif_evidence.EvidenceField, exif_evidence.Point,
    dt.datetime, dt.date, dt.time, dt.timedelta, dt.timezone)}
