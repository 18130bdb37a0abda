"""Tasks and history (R13) at 10 and at 10,000 plans of one auditor, in one run.

One throwaway database holds three auditors: 10 plans, 45 plans (its first two history
pages are full, 20 rows each, as the large one's: the same rows to render) and 10,000 plans
(each number configurable). Each has the same 5 plans not yet ended (under way today, then
one a week ahead) and the rest ended, one every 8 hours back from two days ago (10,000
plans reach nine years back). Each plan has a colleague on its team, one of 300 enterprises,
one of four projects and one site; three ended plans of each auditor are at one more
enterprise and three of one more project, so searching for either lists the same 3 rows
for everyone. The requests go through Flask's test client one at a time, so the numbers are
the server's work without HTTP: the full pages a link opens, the htmx results a filter
swaps in, and page 2 of history. It prints each auditor's median CPU (and wall)
milliseconds per request, the SQL statements per request, the records found and the
ratios of CPU time.

    .venv/bin/python benchmarks/bench_lists.py [--plans 10000] [--requests 60]

`--root PATH` measures the app of another checkout the same way (e.g. a `git worktree`
of an older commit). The data goes in with bulk inserts of the app's own models (the
import service would take minutes for 10,000 plans and is not what is measured).
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import re
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, migrate, say, throwaway, timed  # noqa: E402

PASSWORD = "Bench#pass1"
UTC = dt.timezone.utc
_FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_COUNT = re.compile(r'class="record-count">([^<]+)<')
LEVELS = (["管理体系认证", "质量管理体系认证", "ISO9001"], ["管理体系认证", "环境管理体系认证", "ISO14001"],
          ["管理体系认证", "职业健康安全管理体系认证", "ISO45001"], ["产品认证", "强制性产品认证", "CCC"])
# Three ended plans of each auditor are at this enterprise, three others of this project:
# a search for either lists the same rows for every auditor.
RARE_COMPANY, RARE_LEVELS = "大连港口集团有限公司", ["服务认证", "绿色产品认证", "GP"]
OPEN = 5  # plans not ended, the same for both auditors


def seed(sizes: dict[str, int]) -> None:
    from werkzeug.security import generate_password_hash

    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Agency, AuditPlan, Auditor, Enterprise, PlanSite, TeamMember

    app = create_app()
    with app.app_context():
        agency = Agency(code="CNCA-R-2002-117", name="北京某某认证中心有限公司")
        db.session.add(agency)
        db.session.flush()
        password = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        people = {}
        for n, phone in enumerate([*sizes, "colleague"]):  # 13900000000, 13900000001, ... in this order
            person = Auditor(phone=f"1390000{n:04d}", name=f"审核员{phone}", id_number=f"1101011980010100{n:02d}",
                             agency_id=agency.id, password_hash=password, must_change_password=False)
            db.session.add(person)
            people[phone] = person
        companies = [Enterprise(agency_id=agency.id, name=f"吉林省某某{n:03d}股份有限公司") for n in range(300)]
        companies.append(Enterprise(agency_id=agency.id, name=RARE_COMPANY))
        db.session.add_all(companies)
        db.session.flush()
        now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        copies = hasattr(TeamMember, "plan_end_utc")  # team rows carry copies of their plan (as the ORM writes them)
        number = 0
        for who, count in sizes.items():
            plans, team, sites = [], [], []
            for k in range(count):
                number += 1
                if k < OPEN:  # under way today, then one a week ahead
                    start = now - dt.timedelta(hours=2) + dt.timedelta(days=7 * k)
                else:  # ended two days ago or before, one every 8 hours
                    start = now - dt.timedelta(days=3, hours=8 * (k - OPEN))
                end = start + dt.timedelta(hours=30)
                levels = RARE_LEVELS if OPEN + 3 <= k < OPEN + 6 else LEVELS[k % len(LEVELS)]
                company = companies[-1] if OPEN <= k < OPEN + 3 else companies[k % 300]
                plans.append(dict(id=number, agency_id=agency.id, enterprise_id=company.id,
                                  plan_no=f"BENCH-{number:06d}", project_code=levels[-1], project_levels=levels,
                                  required=True, activity="监督审核", start_utc=start, end_utc=end,
                                  utc_offset_minutes=480, timezone="Asia/Shanghai", mode="onsite", status="valid"))
                times = dict(plan_start_utc=start, plan_end_utc=end, plan_enterprise_id=company.id,
                             plan_levels=json.dumps(levels)) if copies else {}
                team += [dict(plan_id=number, auditor_id=people[who].id, role="leader", position=0, **times),
                         dict(plan_id=number, auditor_id=people["colleague"].id, role="member", position=1, **times)]
                sites.append(dict(plan_id=number, position=0, address="吉林省集安市工业园区1号", lat=41.1256, lon=126.1865))
            for model, rows in ((AuditPlan, plans), (TeamMember, team), (PlanSite, sites)):
                for start in range(0, len(rows), 2000):
                    db.session.execute(db.insert(model), rows[start: start + 2000])
        db.session.commit()
        db.engine.dispose()


def login(client, phone: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = _FORM_TOKEN.search(page).group(1)
    response = client.post("/login", data={"phone": phone, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, f"login of {phone}: {response.status_code}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=10_000, help="plans of the large auditor")
    parser.add_argument("--small", type=int, default=10, help="plans of the small auditor")
    parser.add_argument("--medium", type=int, default=45,
                        help="plans of an auditor whose first two history pages are full, as the large one's")
    parser.add_argument("--requests", type=int, default=60, help="measured requests per row")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app is measured")
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))

    workdir, _ = throwaway("checkin-lists-", LOGIN_LIMIT_PER_ADDRESS="100000 per minute")
    try:
        say("migrating and seeding")
        migrate(args.root.resolve())
        sizes = {"small": args.small, "medium": args.medium, "large": args.plans}
        seed(sizes)

        from sqlalchemy import event

        from checkin_pwa import create_app
        from checkin_pwa.extensions import db

        app = create_app()
        statements = [0]
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        clients = {}
        for n, who in enumerate(sizes):
            clients[who] = app.test_client()
            login(clients[who], f"1390000{n:04d}")

        htmx = {"HX-Request": "true"}
        rows = [("tasks", "/tasks", {}), ("tasks, htmx: enterprise typed", "/tasks?enterprise=某某001", htmx),
                ("history", "/history", {}), ("history, htmx: enterprise typed", "/history?enterprise=港口", htmx),
                ("history, htmx: project levels", f"/history?l1={RARE_LEVELS[0]}&l2={RARE_LEVELS[1]}", htmx),
                ("history, htmx: a word every plan has", "/history?enterprise=股份", htmx),
                ("history page 2", "/history?page=2", htmx)]
        names = list(sizes)
        print("| request | " + " | ".join(f"{sizes[who]:,} plans: CPU ms (wall)" for who in names)
              + f" | statements | records | CPU {sizes[names[-1]]:,} / {sizes[names[0]]:,} | CPU {sizes[names[-1]]:,} / {sizes[names[1]]:,} |")
        print("|---|" + "---:|" * len(names) + "---|---|---:|---:|")
        for name, path, headers in rows:
            measured = {}
            for who, client in clients.items():
                walls, cpus, counts = [], [], []
                for response, wall, cpu in timed(lambda _n: client.get(path, headers=headers), args.requests,
                                                 warmup=10, before_each=lambda: statements.__setitem__(0, 0)):
                    walls.append(wall)
                    cpus.append(cpu)
                    counts.append(statements[0])
                found = _COUNT.search(response.get_data(as_text=True))
                measured[who] = (statistics.median(cpus), statistics.median(walls), max(counts),
                                 re.sub(r"\D", "", html.unescape(found.group(1))) if found else "?")
            cpu = {who: measured[who][0] for who in names}
            print(f"| {name} | " + " | ".join(f"{measured[who][0]:.1f} ({measured[who][1]:.1f})" for who in names)
                  + " | " + " / ".join(str(measured[who][2]) for who in names)
                  + " | " + " / ".join(measured[who][3] for who in names)
                  + f" | {cpu[names[-1]] / cpu[names[0]]:.2f}× | {cpu[names[-1]] / cpu[names[1]]:.2f}× |", flush=True)
        with app.app_context():
            db.engine.dispose()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
