"""The decoder processes behind photo uploads (R8): a web worker keeps its decoder for the next
photo, replaces it after PHOTO_DECODE_RECYCLE_AFTER photos or above PHOTO_DECODE_RECYCLE_MB,
replaces it whenever it ended without answering (a crash, its CPU limit, the wall-time kill:
that upload gets its refusal in the auditor's language, the next photo is stored), and
closes it after PHOTO_DECODE_IDLE_S without work. Real uploads through the real routes,
real decoder processes, real signals; the processes are found in /proc.
"""
from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from checkin_pwa.domain import image_format
from checkin_pwa.services import imaging

from .test_photos_server import photos_in_db, send, team, text
from .test_r8_hostile_photos import TOO_COSTLY, gunicorn_server, many_scans  # noqa: F401  (a fixture)


UNREADABLE = "照片文件不完整，请重新拍摄。"


def photo(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (shade * 40 % 256, 90, 160)).save(out, "JPEG", comment=b"%d" % shade)
    return out.getvalue()


def decoders() -> set[int]:
    """This process's decoder processes, running or not yet waited for (from /proc)."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for pid in map(int, children):
            try:
                if b"imaging.serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.add(pid)
            except OSError:
                pass
    return found


def until(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture(autouse=True)
def no_decoder_left_from_before(app):
    """Each test starts with no decoder of this process (earlier tests' ones closed)."""
    app.config["PHOTO_DECODE_IDLE_S"] = 0.2
    imaging.make(photo(1), "jpeg", imaging.Limits.from_config(app.config), (("fit", 32),))
    until(lambda: not decoders(), "the idle decoder was closed")
    app.config["PHOTO_DECODE_IDLE_S"] = 600


def test_r8_one_decoder_takes_photo_after_photo_and_is_replaced_after_recycle_after(app_context, app):
    app.config["PHOTO_DECODE_RECYCLE_AFTER"] = 3
    client, plan, _ = team(app)
    seen = []
    for shade in range(6):
        assert send(client, plan.id, photo(shade), group="other").status_code == 201
        seen.append(imaging.idle_decoders())

    assert len(photos_in_db()) == 6
    # Photos 1-2 on the first process; it retired on its 3rd; photos 4-5 on a second one.
    assert seen[0] == seen[1] and len(seen[0]) == 1
    assert seen[2] == [] and seen[5] == []
    assert seen[3] == seen[4] and len(seen[3]) == 1 and seen[3] != seen[0]
    assert gone(seen[0][0]) and gone(seen[3][0])  # ended and waited for: no zombies
    assert decoders() == set()


def test_r8_a_decoder_left_large_by_a_photo_is_replaced(app_context, app):
    app.config["PHOTO_DECODE_RECYCLE_MB"] = 1  # any decoder is larger than this after a photo
    client, plan, _ = team(app)

    assert send(client, plan.id, photo(1), group="other").status_code == 201
    assert imaging.idle_decoders() == [] and decoders() == set()
    assert send(client, plan.id, photo(2), group="other").status_code == 201
    assert len(photos_in_db()) == 2


def test_r8_each_photo_has_its_own_cpu_limit_in_a_decoder_that_has_worked_longer(app_context, app):
    """PHOTO_DECODE_CPU_S is per photo: a decoder that has spent more than that on the photos
    before still decodes the next one."""
    app.config["PHOTO_DECODE_CPU_S"] = 1
    limits = imaging.Limits.from_config(app.config)
    big = io.BytesIO()
    Image.effect_noise((3000, 3000), 60).convert("RGB").save(big, "PNG")  # no scaled decode for a PNG
    first = None
    began = time.monotonic()
    spent = 0.0
    while spent < 3.0:
        answer = imaging.make(big.getvalue(), "png", limits, (("fit", 1600),))
        assert isinstance(answer, imaging.Made), answer
        [pid] = imaging.idle_decoders()
        first = first or pid
        assert pid == first  # the same process all along
        spent = cpu_s(pid)
        assert time.monotonic() - began < 300

    client, plan, _ = team(app)
    assert send(client, plan.id, photo(3), group="other").status_code == 201
    assert imaging.idle_decoders() == [first]


def test_r8_after_a_decoder_is_stopped_at_its_cpu_limit_the_next_photo_gets_a_fresh_one(app_context, app, monkeypatch):
    monkeypatch.setattr(image_format, "MAX_JPEG_SCANS", 10**6)
    app.config["PHOTO_DECODE_CPU_S"] = 1
    client, plan, _ = team(app)
    assert send(client, plan.id, photo(1), group="other").status_code == 201
    [before] = imaging.idle_decoders()

    refused = send(client, plan.id, many_scans(2000), group="other", headers={"X-Requested-With": "XMLHttpRequest"})

    assert refused.status_code == 422 and TOO_COSTLY in text(refused)
    assert gone(before) and imaging.idle_decoders() == []
    assert send(client, plan.id, photo(2), group="other").status_code == 201
    [after] = imaging.idle_decoders()
    assert after != before
    assert len(photos_in_db()) == 2


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slow_upload_hit_by(app, monkeypatch, sig: int):
    """A 2,000-scan JPEG (the scan cap lifted: seconds of decoding) uploaded while a thread
    waits for its decoder to be decoding (past its start, about 0.1 s of CPU) and sends it
    `sig`. (client, plan, the upload's response, the decoder's pid.)"""
    monkeypatch.setattr(image_format, "MAX_JPEG_SCANS", 10**6)
    client, plan, _ = team(app)
    hit: list[int] = []

    def watch():
        pid = until(lambda: (running := decoders() - set(imaging.idle_decoders())) and min(running),
                    "an upload reached its decoder")
        until(lambda: cpu_s(pid) > 0.5, "the decoder is decoding")
        os.kill(pid, sig)
        hit.append(pid)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    response = send(client, plan.id, many_scans(2000), group="other", headers={"X-Requested-With": "XMLHttpRequest"})
    watcher.join(timeout=60)
    [pid] = hit
    return client, plan, response, pid


def test_r8_a_decoder_that_crashes_mid_photo_gets_that_upload_refused_and_the_next_stored(app_context, app, monkeypatch):
    """A decoder that dies in the middle (a decoder bug hit by a hostile file: here a real
    SIGSEGV sent to it) costs only that upload, refused in the auditor's words."""
    client, plan, refused, pid = slow_upload_hit_by(app, monkeypatch, signal.SIGSEGV)

    assert refused.status_code == 422 and UNREADABLE in text(refused)
    assert gone(pid)
    assert send(client, plan.id, photo(4), group="other").status_code == 201
    assert len(photos_in_db()) == 1


def test_r8_a_decoder_that_stops_answering_is_killed_at_the_wall_time_and_replaced(app_context, app, monkeypatch):
    """A decoder that hangs without using CPU (here: stopped with SIGSTOP) is killed when the
    wall time (4 x PHOTO_DECODE_CPU_S + 5 s) is up; the upload gets its answer, nothing hangs."""
    app.config["PHOTO_DECODE_CPU_S"] = 1
    client, plan, refused, pid = slow_upload_hit_by(app, monkeypatch, signal.SIGSTOP)

    assert refused.status_code == 422 and TOO_COSTLY in text(refused)
    assert gone(pid)
    assert send(client, plan.id, photo(5), group="other").status_code == 201


def test_r8_a_decoder_that_died_while_idle_is_replaced_without_refusing_the_photo(app_context, app):
    client, plan, _ = team(app)
    assert send(client, plan.id, photo(1), group="other").status_code == 201
    [idle] = imaging.idle_decoders()
    os.kill(idle, signal.SIGKILL)  # as the kernel's OOM killer would
    until(lambda: Path(f"/proc/{idle}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z", "it died")

    assert send(client, plan.id, photo(2), group="other").status_code == 201

    assert len(photos_in_db()) == 2 and gone(idle)
    assert imaging.idle_decoders() not in ([], [idle])


def test_r8_idle_decoders_are_closed_and_none_is_left_behind(app_context, app):
    app.config["PHOTO_DECODE_IDLE_S"] = 0.5
    client, plan, _ = team(app)
    assert send(client, plan.id, photo(1), group="other").status_code == 201
    [pid] = imaging.idle_decoders()

    until(lambda: gone(pid), "the idle decoder was closed and waited for")
    assert imaging.idle_decoders() == [] and decoders() == set()
    assert send(client, plan.id, photo(2), group="other").status_code == 201  # a fresh one, on demand


def test_r8_a_decoders_answer_is_read_as_an_answer_and_nothing_else():
    """A decoder has read a stranger's bytes: an answer naming anything but its own types
    (here a pickle that would run a command in the web worker) is refused, not built."""
    import pickle
    import subprocess

    class Trap:
        def __reduce__(self):
            return (subprocess.call, (["true"],))

    made = imaging.make(photo(1), "jpeg", imaging.Limits(max_pixels=50_000_000), (("fit", 32),))
    assert isinstance(made, imaging.Made)
    assert imaging._Answer(io.BytesIO(pickle.dumps((made, 0.1, 30, False)))).load()[0] == made
    with pytest.raises(pickle.UnpicklingError):
        imaging._Answer(io.BytesIO(pickle.dumps((Trap(), 0.1, 30, False)))).load()


def test_r8_a_decoder_holds_none_of_the_web_workers_secrets(app_context, app, monkeypatch):
    """The process that reads strangers' bytes has neither the app's secrets in its
    environment nor the web app in its memory."""
    monkeypatch.setenv("SECRET_KEY", "the-web-workers-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://auditor:password@127.0.0.1/checkin")
    client, plan, _ = team(app)
    assert send(client, plan.id, photo(1), group="other").status_code == 201
    [pid] = imaging.idle_decoders()

    environment = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"the-web-workers-secret" not in environment and b"password" not in environment
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "/sqlalchemy/" not in maps and "/markupsafe/" not in maps  # no Flask nor SQLAlchemy loaded


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_r8_a_web_workers_decoder_ends_with_it(gunicorn_server):
    """gunicorn replaces a worker (max_requests, a timeout, a deploy): the decoder it kept
    ends with it (its input closes), never left running alone."""
    from .helpers import HttpPhone

    base, phone_no, plan_id, _log = gunicorn_server
    phone = HttpPhone(base, phone_no)
    token = phone.token(f"/plans/{plan_id}")
    status, _ = phone.request(f"/plans/{plan_id}/photos", fields={"csrf_token": token, "group": "other"},
                              files={"photo": ("a.jpg", photo(1))}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert status == 201

    def servers_decoders() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and b"imaging.serve" in (entry / "cmdline").read_bytes() \
                        and parent_of(parent_of(parent_of(int(entry.name)))) == os.getpid():
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
        return found

    [decoder] = servers_decoders()  # under the worker, under gunicorn's master, under this test
    worker = parent_of(decoder)
    os.kill(worker, signal.SIGKILL)  # no goodbye: the worker cannot close anything itself

    until(lambda: gone(decoder) or Path(f"/proc/{decoder}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z",
          "the decoder ended with its worker")
