"""R10: every note and exception has plain Chinese words with its numbers (no code, no
placeholder left), times on the plan's clock."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest

from checkin_pwa.blueprints.plans import words
from checkin_pwa.domain import audit_exceptions as rules10
from checkin_pwa.domain import notes
from checkin_pwa.services.plans import ExceptionView

pytestmark = pytest.mark.usefixtures("app_context")

SHANGHAI = ZoneInfo("Asia/Shanghai")
CJK = re.compile(r"[\u4e00-\u9fff]")

# Each event flag as domain.signals, domain.offline, domain.rules and services.checkin write it.
FLAGS = {
    "offline_sent_later": {"action_time": "2026-11-10T00:40:00Z", "receipt_time": "2026-11-10T02:05:00Z"},
    "action_in_future": {"corrected_time": "2026-11-10T03:00:00Z", "ahead_s": 600},
    "action_before_plan": {"corrected_time": "2026-11-01T03:00:00Z", "plan_start": "2026-11-09T16:00:00Z"},
    "clock_skew": {"skew_s": -900, "limit_s": 300.0},
    "late_check_in": {"minutes": 95},
    "early_check_in": {},
    "early_check_out": {"minutes": 40},
    "late_check_out": {"minutes": 150},
    "site_not_located": {},
    "pin_moved": {"offset_m": 812.4},
    "stale_position": {"age_s": 300, "limit_s": 120.0},
    "poor_accuracy": {"accuracy_m": 900.0, "limit_m": 500.0},
    "late_offline_copy": {"team_event_id": 3, "team_signer": "李四"},
}
EXPECTED = {
    "offline_sent_later": "签到为离线记录，稍后发送（操作时间 2026-11-10 08:40，服务器接收时间 2026-11-10 10:05）。",
    "clock_skew": "签到：手机时钟与服务器时间相差 15 分钟。",
    "late_check_in": "签到晚于计划开始时间 95 分钟（超过 30 分钟）。",
    "pin_moved": "签到：签到点由手机位置移动了 812 米。",
    "stale_position": "签到：手机定位已是 5 分钟前的结果。",
    "poor_accuracy": "签到：手机定位精度仅约 900 米。",
    "late_offline_copy": "张三 的签到在审核组已签后才发送，作为 张三 本人的记录保留。",
}


def plain(sentence: str) -> bool:
    return bool(CJK.search(sentence)) and "…" not in sentence and "%(" not in sentence and "_" not in sentence


def test_r10_every_event_note_reads_in_chinese_with_its_numbers(app):
    assert set(FLAGS) == set(notes.EVENT_NOTE_CODES)
    for code, params in FLAGS.items():
        [note] = notes.event_notes([notes.EventFacts("in", ({"code": code, **params},), code != "late_offline_copy",
                                                     "张三")])[-1:]
        sentence = words.note_text(note, SHANGHAI)
        assert plain(sentence), (code, sentence)
        if code in EXPECTED:
            assert sentence == EXPECTED[code]


def test_r10_a_note_on_a_members_kept_copy_says_whose_record_it_is(app):
    found = notes.event_notes([notes.EventFacts("in", ({"code": "late_check_in", "minutes": 95},), False, "崔组员")])
    sentences = [words.note_text(note, SHANGHAI) for note in found]
    assert sentences == ["崔组员 本人的记录：签到晚于计划开始时间 95 分钟（超过 30 分钟）。",
                         "崔组员 的签到在审核组已签后才发送，作为 崔组员 本人的记录保留。"]


def test_r10_every_photo_note_reads_in_chinese_with_the_group_and_count(app):
    for code in notes.PHOTO_NOTE_CODES:
        sentence = words.note_text(notes.Note(code, group="first", params={"count": 2}), SHANGHAI)
        assert plain(sentence) and sentence.startswith("首次会议照片：") and "2 张" in sentence, sentence


def test_r10_every_exception_reads_in_chinese(app):
    cases = [
        (rules10.PlanException(rules10.NOT_SIGNED, missing=("out",)), None, "缺少：签退"),
        (rules10.PlanException(rules10.PHOTOS_MISSING, missing=("first", "last")), None, "缺少：首次会议照片、末次会议照片"),
        (rules10.PlanException(rules10.DEVIATION, kind="out", distance_m=12345.0), "长春市某路1号",
         "签退位置距最近的审核地址（长春市某路1号）12.35 公里，超过 5 公里。"),
        (rules10.PlanException(rules10.DEVIATION, kind="in", distance_m=6000.0), None, "签到位置距审核地址 6.00 公里，超过 5 公里。"),
    ]
    for exception, address, expected in cases:
        assert words.exception_text(ExceptionView(exception, address)) == expected
        assert str(words.EXCEPTION_TITLES[exception.code]) in ("未签到", "地点偏差", "未上传照片")


def test_r10_explanation_refusals_read_in_chinese(app):
    assert words.refusal_text("empty") == "请先填写异常说明（内容为空）。"
    assert words.refusal_text("too_long", {"max": 2000, "length": 10000}) == \
        "异常说明过长：共 10000 字，最多 2000 字。未保存，请删减后重新提交。"
