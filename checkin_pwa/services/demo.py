"""Demo data for today, built as a plan import document and imported the ordinary way
(one code path: what the demo shows is what a body's import would give).

Idempotent for a day: plan numbers carry the date, so seeding twice on one day updates
the same rows; seeding on another day adds that day's plans and leaves earlier ones as
history.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Auditor
from .plan_import import ImportSummary, import_plans

DEMO_ZONE = ZoneInfo("Asia/Shanghai")
AGENCY = {"code": "CNCA-R-2002-117", "name": "北京某某认证中心有限公司"}
DEMO_AUDITOR = "13800000001"  # ready to log in: on QMS, EMS and the remote plan, not OHSMS
DEMO_PASSWORD = "Demo#2026a"
SECOND_AUDITOR = "13800000002"  # on all three; keeps the initial password (shows R1)
THIRD_AUDITOR = "13800000003"
ENTERPRISE = {"name": "吉林省某某股份有限公司", "contact": "张某", "phone": "0435-1234567"}
REMOTE_ENTERPRISE = {"name": "长春某某科技有限公司", "contact": "刘某", "phone": "0431-7654321"}
# The contract's example site (Jilin), and a second plant about 3 km away.
MAIN_SITE = {"address": "吉林省集安市工业园区1号", "lat": 41.1256, "lon": 126.1865}
SECOND_SITE = {"address": "吉林省集安市滨江路2号（二厂区）", "lat": 41.1480, "lon": 126.2080}
REMOTE_SITE = {"address": "吉林省长春市高新区硅谷大街100号", "lat": 43.8171, "lon": 125.3235}


def demo_today() -> dt.date:
    return dt.datetime.now(DEMO_ZONE).date()


def _at(day: dt.date, days: int, hour: int, minute: int = 0) -> str:
    moment = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(hour, minute), DEMO_ZONE)
    return moment.isoformat()


def plan_numbers(day: dt.date) -> dict[str, str]:
    stamp = day.strftime("%Y%m%d")
    return {key: f"DEMO-{stamp}-{key}" for key in ("QMS", "EMS", "OHSMS", "ISMS")}


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
            "timezone": "Asia/Shanghai",
            "region": "吉林省通化市" if company is ENTERPRISE else "吉林省长春市",
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
        ],
    }


@dataclass(frozen=True)
class DemoLogin:
    phone: str
    name: str
    password: Optional[str]  # None: changed by its owner since seeding, not known here
    must_change: bool


@dataclass(frozen=True)
class DemoSeed:
    day: dt.date
    summary: ImportSummary
    plan_numbers: dict[str, str]
    logins: list[DemoLogin]


def seed_demo(day: Optional[dt.date] = None) -> DemoSeed:
    """Import the demo document for `day` (today in Shanghai by default) and make the demo
    auditor's login ready (a known password, no forced change) unless its owner has
    already changed it. Raises RuntimeError if the demo document is refused (a bug)."""
    day = day or demo_today()
    summary = import_plans(demo_document(day))
    if not summary.accepted:
        raise RuntimeError(f"demo document refused: {summary.refused}")
    demo = _account(DEMO_AUDITOR)
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
    return DemoSeed(day, summary, plan_numbers(day), logins)


def _account(phone: str) -> Auditor:
    person = db.session.scalar(db.select(Auditor).filter_by(phone=phone))
    assert person is not None  # the demo document lists it
    return person
