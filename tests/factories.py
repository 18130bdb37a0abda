"""Small helpers that make real rows for tests (CTFd style), times relative to now."""
from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from werkzeug.security import generate_password_hash

from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, AuditPlan, Auditor, Enterprise, PlanSite, TeamMember

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "Good#pass1"
# Jilin, the example site of the import contract.
SITE = (41.1256, 126.1865)

_counter = itertools.count(1)
# Hashing with the default scrypt costs ~50 ms; tests make many accounts.
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def to_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc)


def local_today(days: int = 0, hour: int = 8, minute: int = 30) -> dt.datetime:
    """A wall-clock time in Shanghai, `days` from today."""
    base = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime(base.year, base.month, base.day, hour, minute, tzinfo=SHANGHAI)


def agency(code: str = "CNCA-R-2002-117", name: str = "北京某某认证中心有限公司") -> Agency:
    found = db.session.scalar(db.select(Agency).filter_by(code=code))
    if found:
        return found
    found = Agency(code=code, name=name)
    db.session.add(found)
    db.session.flush()
    return found


def auditor(name: str | None = None, phone: str | None = None, must_change: bool = False,
            password_hash: str | None = None) -> Auditor:
    n = next(_counter)
    person = Auditor(
        phone=phone or f"139{n:08d}",
        name=name or f"审核员{n}",
        id_type="id_card",
        id_number=f"11010119800101{n:04d}",
        agency_id=agency().id,
        password_hash=password_hash or _HASH,
        must_change_password=must_change,
    )
    db.session.add(person)
    db.session.flush()
    return person


def enterprise(name: str | None = None) -> Enterprise:
    name = name or f"吉林省某某股份有限公司{next(_counter)}"
    found = db.session.scalar(db.select(Enterprise).filter_by(name=name))
    if found:
        return found
    company = Enterprise(agency_id=agency().id, name=name, contact="张某", phone="0435-1234567")
    db.session.add(company)
    db.session.flush()
    return company


def plan(team, *, company: Enterprise | None = None, code: str = "ISO9001", required: bool = True,
         start: dt.datetime | None = None, end: dt.datetime | None = None,
         sites=(SITE,), mode: str = "onsite", status: str = "valid",
         levels=("管理体系认证", "质量管理体系认证", "ISO9001")) -> AuditPlan:
    """A plan whose team is `team` (auditors, the first as leader); today by default."""
    start = start or local_today(0, 8, 30)
    end = end or local_today(1, 17, 0)
    company = company or enterprise()
    audit = AuditPlan(
        agency_id=agency().id,
        enterprise_id=company.id,
        plan_no=f"P-TEST-{next(_counter):06d}",
        project_code=code,
        project_levels=list(levels),
        required=required,
        certificate_no="11721Q0123R1M",
        activity="监督审核",
        start_utc=to_utc(start),
        end_utc=to_utc(end),
        utc_offset_minutes=480,
        timezone="Asia/Shanghai",
        region="吉林省通化市",
        mode=mode,
        status=status,
        remarks="审核方式: 现场审核",
    )
    for i, site in enumerate(sites):
        lat, lon = site if site else (None, None)
        audit.sites.append(PlanSite(position=i, address=f"吉林省集安市工业园区{i + 1}号", lat=lat, lon=lon))
    roles = ["leader"] + ["member"] * (len(team) - 1)
    for i, (person, role) in enumerate(zip(team, roles)):
        audit.team.append(TeamMember(auditor_id=person.id, role=role, position=i))
    db.session.add(audit)
    db.session.flush()
    return audit


# --- the management end --------------------------------------------------------------------
STAFF_PASSWORD = "Staff#pass1"
STAFF_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_STAFF_HASH = generate_password_hash(STAFF_PASSWORD, method="pbkdf2:sha256:1000")


def staff(agency_row=None, *, phone: str | None = None, name: str = "王管理", role: str = "admin",
          must_change: bool = False, totp_secret: str | None = STAFF_SECRET,
          disabled: bool = False):
    """A staff member of the management end, ready to log in by default (password set,
    second factor set up with a fixed secret)."""
    from checkin_pwa.models import Staff

    agency_row = agency_row or agency()
    if phone is None:
        count = db.session.scalar(db.select(db.func.count()).select_from(Staff)) or 0
        phone = f"139{count + 1:08d}"
    person = Staff(agency_id=agency_row.id, phone=phone, name=name, role=role,
                   password_hash=_STAFF_HASH, must_change_password=must_change,
                   totp_secret=totp_secret, disabled=disabled)
    db.session.add(person)
    db.session.flush()
    return person


def regulator(*, phone: str = "13800000999", name: str = "刘监管"):
    """The regulator's account (no body), ready to log in like staff()'s."""
    from checkin_pwa.models import Staff

    person = Staff(agency_id=None, phone=phone, name=name, role="regulator", password_hash=_STAFF_HASH,
                   must_change_password=False, totp_secret=STAFF_SECRET)
    db.session.add(person)
    db.session.flush()
    return person
