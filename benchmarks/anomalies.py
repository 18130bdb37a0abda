"""The anomalies list of a body with a quarter of a large body's year (100,000 audits a year:
25,000 plans in 92 days), each with a team of two of 1,500 auditors, a check-in and a
check-out, two meeting photos, at random places in China. Run from the repository's root:
`.venv/bin/python benchmarks/anomalies.py` (PLANS=5000 for a smaller body). Prints the
statements of one list request, its p50 and worst of 3 (ms; and its CPU ms, steadier on a
busy machine), the peak memory Python allocates for it, and one plan's anomalies_for_plan.
BEFORE=<commit> also measures that commit's services/anomalies.py on the same database in
the same run (before → after)."""
import datetime as dt, importlib.util, os, random, statistics, subprocess, sys, time, tempfile, tracemalloc
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sqlalchemy import event, insert
from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember, CheckEvent, Photo
from checkin_pwa.services import anomalies

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def service_at(commit: str):
    """services/anomalies.py as it was at `commit`, beside the current one (same package)."""
    source = subprocess.run(["git", "show", f"{commit}:checkin_pwa/services/anomalies.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("checkin_pwa.services._anomalies_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "checkin_pwa.services"
    sys.modules[spec.name] = module
    exec(compile(source, f"{commit}:services/anomalies.py", "exec"), module.__dict__)
    return module


N = int(os.environ.get("PLANS", "25000"))
path = tempfile.mktemp(suffix=".sqlite3")
app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
random.seed(1)
with app.app_context():
    from flask_migrate import upgrade
    upgrade(directory=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations"))
    body = Agency(code="B1", name="大机构"); db.session.add(body); db.session.flush(); body_id = body.id
    auditors = [dict(id=i + 1, phone=f"139{i:08d}", name=f"审核员{i}", password_hash="x", agency_id=body.id) for i in range(1500)]
    db.session.execute(insert(Auditor), auditors)
    db.session.execute(insert(Enterprise), [dict(id=i + 1, agency_id=body.id, name=f"企业{i}") for i in range(N // 3)])
    end_day = dt.datetime(2026, 11, 29)
    plans, sites, team, events, photos = [], [], [], [], []
    for p in range(1, N + 1):
        start = end_day - dt.timedelta(days=random.randrange(92), hours=-random.choice((0, 1)))
        lat, lon = 22 + random.random() * 20, 100 + random.random() * 20
        plans.append(dict(id=p, agency_id=body.id, enterprise_id=random.randrange(1, N // 3 + 1), plan_no=f"P{p}",
                          project_code="ISO9001", project_levels=[], start_utc=start, end_utc=start + dt.timedelta(hours=8)))
        sites.append(dict(plan_id=p, position=0, address="x", lat=lat, lon=lon))
        members = random.sample(range(1, 1501), 2)
        for k, a in enumerate(members):
            team.append(dict(plan_id=p, auditor_id=a, role="leader" if k == 0 else "member", position=k))
        for kind, h in (("in", 0.5), ("out", 7.5)):
            events.append(dict(plan_id=p, kind=kind, signer_id=members[0], counts_for_team=True,
                               server_time=start + dt.timedelta(hours=h), device_lat=lat, device_lon=lon,
                               device_accuracy_m=30, chosen_lat=lat, chosen_lon=lon, flags=[]))
        for g, h in (("first", 0.6), ("last", 7.6)):
            photos.append(dict(plan_id=p, group=g, uploader_id=members[0], uploaded_at=start + dt.timedelta(hours=h),
                               sha256_received=f"{p:032x}{g}".ljust(64, "0"), bytes_received=1, format="jpeg", width=1,
                               height=1, evidence_key=f"e{p}{g}", display_key="d", thumb_key="t",
                               exif={"taken_at": {"status": "read", "value": (start + dt.timedelta(hours=8 + h)).isoformat()}}))
    for model, rows in ((AuditPlan, plans), (PlanSite, sites), (TeamMember, team), (CheckEvent, events), (Photo, photos)):
        db.session.execute(insert(model), rows)
    db.session.commit()

    count = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: count.append(1))
    versions = ([(os.environ["BEFORE"], service_at(os.environ["BEFORE"]))] if os.environ.get("BEFORE") else [])
    for name, service in versions + [("now", anomalies)]:
        times, cpu = [], []
        for _ in range(3):
            db.session.remove()
            count.clear()
            t, c = time.perf_counter(), time.process_time()
            result = service.body_anomalies(body_id, dt.date(2026, 8, 30), dt.date(2026, 11, 29), None, 1)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
        statements = len(count)
        db.session.remove()
        tracemalloc.start()  # one more call, traced: the peak of the memory Python allocates for it
        service.body_anomalies(body_id, dt.date(2026, 8, 30), dt.date(2026, 11, 29), None, 1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t = time.perf_counter()
        one = service.anomalies_for_plan(N // 2)
        one_ms = (time.perf_counter() - t) * 1000
        print(f"[{name}] plans={N} found={result.page.total} counts={result.counts} statements={statements}")
        print(f"[{name}] list ms: p50={statistics.median(times):.0f} max={max(times):.0f}; "
              f"CPU ms p50={statistics.median(cpu):.0f}; "
              f"peak traced memory {peak / 2**20:.0f} MB")
        print(f"[{name}] anomalies_for_plan ms: {one_ms:.0f}; first row: {result.rows[0].anomaly if result.rows else None}")
os.remove(path)
