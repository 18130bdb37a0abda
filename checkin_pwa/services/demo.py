"""Demo data for today, built as a plan import document and imported the ordinary way
(one code path: what the demo shows is what a body's import would give).

Idempotent for a day: plan numbers carry the date, so seeding twice on one day updates
the same rows; seeding on another day adds that day's plans and leaves earlier ones as
history.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Optional

from flask import current_app
from PIL import Image
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import clock
from ..extensions import db
from ..models import AuditPlan, Auditor, Photo
from . import checkin, notices, photos
from .plan_import import ImportSummary, import_plans

DEMO_ZONE = clock.DEFAULT_ZONE
AGENCY = {"code": "CNCA-R-2002-117", "name": "北京某某认证中心有限公司"}
DEMO_AUDITOR = "13800000001"  # ready to log in: on QMS, EMS and the remote plan, not OHSMS
DEMO_PASSWORD = "Demo#2026a"
SECOND_AUDITOR = "13800000002"  # on all three; keeps the initial password (shows R1)
THIRD_AUDITOR = "13800000003"
# The body's admin on the management end (/admin): password and second factor ready, its
# TOTP secret printed by seed-demo, the current code by `flask --app wsgi staff-totp`.
DEMO_STAFF = "13900000001"
DEMO_STAFF_NAME = "王管理"
# The regulator's account (监管端, of no body), made ready the same way.
DEMO_REGULATOR = "13900000002"
DEMO_REGULATOR_NAME = "刘监管"
ENTERPRISE = {"name": "吉林省某某股份有限公司", "contact": "张某", "phone": "0435-1234567"}
REMOTE_ENTERPRISE = {"name": "长春某某科技有限公司", "contact": "刘某", "phone": "0431-7654321"}
# The contract's example site (Jilin), and a second plant about 3 km away.
MAIN_SITE = {"address": "吉林省集安市工业园区1号", "lat": 41.1256, "lon": 126.1865}
SECOND_SITE = {"address": "吉林省集安市滨江路2号（二厂区）", "lat": 41.1480, "lon": 126.2080}
REMOTE_SITE = {"address": "吉林省长春市高新区硅谷大街100号", "lat": 43.8171, "lon": 125.3235}


def demo_today() -> dt.date:
    return clock.local_date(clock.now(), DEMO_ZONE)


def _at(day: dt.date, days: int, hour: int, minute: int = 0) -> str:
    moment = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute), DEMO_ZONE)
    return moment.isoformat()


TODAY_KEYS = ("QMS", "EMS", "OHSMS", "ISMS")
# Around today, for the calendar, tasks and history: an audit that went well, one
# with exceptions (far check-in, no check-out, no photos), and two still to come.
AROUND_KEYS = ("PAST-OK", "PAST-EXC", "NEXT-PM", "NEXT")
DALIAN = {"name": "大连某某电子有限公司", "contact": "毕某", "phone": "0411-82345678"}
DALIAN_SITE = {"address": "辽宁省大连市中山区人民路9号", "lat": 38.915325, "lon": 121.638794}
REGIONS = {ENTERPRISE["name"]: "吉林省通化市", REMOTE_ENTERPRISE["name"]: "吉林省长春市",
           DALIAN["name"]: "辽宁省大连市中山区"}
# Where the check-in of the audit with exceptions was made: Beijing, far from the plant (§3.2).
FAR_POINT = (39.922679, 116.447314)


def plan_numbers(day: dt.date) -> dict[str, str]:
    stamp = day.strftime("%Y%m%d")
    return {key: f"DEMO-{stamp}-{key}" for key in TODAY_KEYS + AROUND_KEYS}


def demo_document(day: dt.date) -> dict:
    """The import document for `day`: three must-sign plans of one enterprise whose teams
    differ by one member, one of them multi-site, one ending today, one remote plan."""
    numbers = plan_numbers(day)

    def plan(key, *, project, levels, start, end, sites, team, activity, certificate,
             mode="onsite", required=True, company=ENTERPRISE, remarks="审核方式: 现场审核"):
        return {
            "plan_no": numbers[key],
            "enterprise": company,
            "project": {"code": project, "levels": ["管理体系认证", levels, project]},
            "required": required,
            "certificate_no": certificate,
            "activity": activity,
            "start": start,
            "end": end,
            "timezone": clock.DEFAULT_ZONE_NAME,
            "region": REGIONS[company["name"]],
            "sites": sites,
            "team": [{"phone": phone, "role": role} for phone, role in team],
            "mode": mode,
            "confidential": False,
            "remarks": remarks,
            "status": "valid",
        }

    return {
        "agency": AGENCY,
        "auditors": [
            {"phone": DEMO_AUDITOR, "name": "张三", "id_type": "id_card", "id_number": "110101198001010011"},
            {"phone": SECOND_AUDITOR, "name": "李四", "id_type": "other", "id_number": "P1234567"},
            {"phone": THIRD_AUDITOR, "name": "王五", "id_type": "id_card", "id_number": "220502198505050033"},
        ],
        "plans": [
            plan("QMS", project="ISO9001", levels="质量管理体系认证",
                 start=_at(day, 0, 8, 30), end=_at(day, 1, 17), sites=[MAIN_SITE, SECOND_SITE],
                 team=[(DEMO_AUDITOR, "leader"), (SECOND_AUDITOR, "member")],
                 activity="再认证审核(二阶段)", certificate="11721Q0123R1M"),
            plan("EMS", project="ISO14001", levels="环境管理体系认证",
                 start=_at(day, 0, 8, 30), end=_at(day, 0, 17, 30), sites=[MAIN_SITE],
                 team=[(DEMO_AUDITOR, "leader"), (SECOND_AUDITOR, "member")],
                 activity="监督审核", certificate="11721E0456R1M", mode="combined",
                 remarks="审核方式: 现场+远程"),
            plan("OHSMS", project="ISO45001", levels="职业健康安全管理体系认证",
                 start=_at(day, 0, 8, 30), end=_at(day, 2, 12), sites=[MAIN_SITE],
                 team=[(SECOND_AUDITOR, "leader"), (THIRD_AUDITOR, "expert")],
                 activity="初次审核(二阶段)", certificate="11721S0789R0M"),
            plan("ISMS", project="ISO/IEC27001", levels="信息安全管理体系认证",
                 start=_at(day, 0, 9), end=_at(day, 1, 12), sites=[REMOTE_SITE],
                 team=[(DEMO_AUDITOR, "leader"), (SECOND_AUDITOR, "member")],
                 activity="监督审核", certificate="11721I0321R1M", mode="remote", required=False,
                 company=REMOTE_ENTERPRISE, remarks="审核方式: 远程审核"),
            plan("PAST-OK", project="ISO9001", levels="质量管理体系认证",
                 start=_at(day, -9, 8, 30), end=_at(day, -8, 16), sites=[DALIAN_SITE],
                 team=[(DEMO_AUDITOR, "leader"), (THIRD_AUDITOR, "member")],
                 activity="监督审核", certificate="11721Q0999R2M", company=DALIAN),
            plan("PAST-EXC", project="ISO14001", levels="环境管理体系认证",
                 start=_at(day, -4, 9), end=_at(day, -4, 17), sites=[DALIAN_SITE],
                 team=[(DEMO_AUDITOR, "leader"), (SECOND_AUDITOR, "member")],
                 activity="初次审核(二阶段)", certificate="11721E0998R0M", company=DALIAN),
            plan("NEXT-PM", project="ISO45001", levels="职业健康安全管理体系认证",
                 start=_at(day, 2, 13, 30), end=_at(day, 2, 17, 30), sites=[DALIAN_SITE],
                 team=[(DEMO_AUDITOR, "member"), (THIRD_AUDITOR, "leader")],
                 activity="监督审核", certificate="11721S0997R1M", company=DALIAN),
            plan("NEXT", project="ISO9001", levels="质量管理体系认证",
                 start=_at(day, 6, 8, 30), end=_at(day, 7, 12), sites=[REMOTE_SITE],
                 team=[(DEMO_AUDITOR, "leader"), (SECOND_AUDITOR, "member")],
                 activity="再认证审核(一阶段)", certificate="11721Q0996R1M", company=REMOTE_ENTERPRISE),
        ],
    }


def _moment(day: dt.date, days: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(_at(day, days, hour, minute)).astimezone(clock.UTC)


def _demo_photo(shade: int) -> bytes:
    """A small plain JPEG standing in for a meeting photo (no EXIF: the page says so)."""
    image = Image.new("RGB", (640, 480), (90, 120, shade))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _record_history(day: dt.date) -> None:
    """The past audits' records, made through the ordinary services at their own times, so
    they are judged like real ones (a second seeding the same day is refused by the rules
    and changes nothing)."""
    numbers = plan_numbers(day)
    plans = {plan.plan_no: plan for plan in db.session.scalars(
        select(AuditPlan).where(AuditPlan.plan_no.in_(list(numbers.values()))))}
    leader = _account(DEMO_AUDITOR)
    site = (str(DALIAN_SITE["lat"]), str(DALIAN_SITE["lon"]))
    ok, exc = plans[numbers["PAST-OK"]], plans[numbers["PAST-EXC"]]
    for kind, moment in (("in", _moment(day, -9, 8, 40)), ("out", _moment(day, -8, 15, 40))):
        checkin.check(leader, ok.id, kind, {"device_lat": site[0], "device_lon": site[1], "device_accuracy": "15",
                                            "confirm": "1"}, moment)
    checkin.check(leader, exc.id, "in", {"device_lat": str(FAR_POINT[0]), "device_lon": str(FAR_POINT[1]),
                                         "device_accuracy": "20", "confirm": "1"}, _moment(day, -4, 9, 5))
    store, limits = current_app.extensions["photo_store"], photos.Limits.from_config(current_app.config)
    taken = db.session.scalar(select(func.count()).select_from(Photo).where(Photo.plan_id == ok.id))
    if not taken:
        for shade, (group, moment) in enumerate((("first", _moment(day, -9, 8, 50)),
                                                  ("last", _moment(day, -8, 15, 50)))):
            photos.upload(leader, ok.id, group, _demo_photo(160 + 40 * shade), store=store, limits=limits,
                          original_name=f"{group}.jpg", now=moment)


@dataclass(frozen=True)
class DemoLogin:
    phone: str
    name: str
    password: Optional[str]  # None: changed by its owner since seeding, not known here
    must_change: bool


@dataclass(frozen=True)
class DemoStaff:
    phone: str
    name: str
    password: Optional[str]  # None: changed by its owner since seeding
    totp_secret: Optional[str]


@dataclass(frozen=True)
class DemoSeed:
    day: dt.date
    summary: ImportSummary
    plan_numbers: dict[str, str]
    logins: list[DemoLogin]
    staff: Optional[DemoStaff] = None
    regulator: Optional[DemoStaff] = None


def seed_demo(day: Optional[dt.date] = None) -> DemoSeed:
    """Import the demo document for `day` (today in Shanghai by default) and make the demo
    auditor's login ready (a known password, no forced change) unless its owner has
    already changed it. Raises RuntimeError if the demo document is refused (a bug)."""
    day = day or demo_today()
    summary = import_plans(demo_document(day))
    if not summary.accepted:
        raise RuntimeError(f"demo document refused: {summary.refused}")
    _record_history(day)
    demo = _account(DEMO_AUDITOR)
    notices.add_demo_notices(demo.agency, clock.now())
    if demo.must_change_password:
        # Created now, or never used: give it the known password so `make run` is ready.
        demo.password_hash = generate_password_hash(DEMO_PASSWORD)
        demo.must_change_password = False
        db.session.commit()
    second = _account(SECOND_AUDITOR)
    initial = current_app.config["DEFAULT_INITIAL_PASSWORD"]
    logins = [
        DemoLogin(demo.phone, demo.name,
                  DEMO_PASSWORD if check_password_hash(demo.password_hash, DEMO_PASSWORD) else None,
                  demo.must_change_password),
        DemoLogin(second.phone, second.name,
                  initial if second.must_change_password and check_password_hash(second.password_hash, initial)
                  else None,
                  second.must_change_password),
    ]
    return DemoSeed(day, summary, plan_numbers(day), logins, _demo_staff(demo.agency),
                    _demo_staff(None, DEMO_REGULATOR, DEMO_REGULATOR_NAME, "regulator"))


def _demo_staff(agency, phone: str = DEMO_STAFF, name: str = DEMO_STAFF_NAME, role: str = "admin") -> DemoStaff:
    """The body's demo admin (or, with no agency, the demo regulator), made once (an audit
    log entry says by whom); ready to log in with DEMO_PASSWORD and a TOTP secret, so the
    console can be tried without an app."""
    from ..domain.staff import new_totp_secret
    from . import audit, staff

    person = staff.staff_by_phone(phone)
    if person is None:
        person, _initial = staff.create_staff(agency, phone, name, role,
                                              by=audit.Actor(None, agency.id if agency else None, "flask seed-demo", "cli"))
    if person.must_change_password and not person.totp_secret:
        person.password_hash = generate_password_hash(DEMO_PASSWORD)
        person.must_change_password = False
        person.totp_secret = new_totp_secret()
        db.session.commit()
    password = DEMO_PASSWORD if check_password_hash(person.password_hash, DEMO_PASSWORD) else None
    return DemoStaff(person.phone, person.name, password, person.totp_secret)


def _account(phone: str) -> Auditor:
    person = db.session.scalar(db.select(Auditor).filter_by(phone=phone))
    assert person is not None  # the demo document lists it
    return person
