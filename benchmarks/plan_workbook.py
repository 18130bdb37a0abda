"""The Excel workbook form of the plan import against the JSON form, for the same plans.

For 1,000 and 10,000 realistic plans (docs/performance.md, "Plan import: workbook and
JSON"), each step runs in a child process of its own, so its time and its peak memory (the
child's maximum resident set, minus what it held once everything was imported) are its own:

- check:   read the bytes (`parse_document` / `read_workbook`) and `validate` the document
           (what the dry run must do before it can say anything);
- dry run: read, then `import_plans(dry_run=True)`: the console's dry run (every check, the
           database's too, and the would-be changes; nothing written);
- commit:  read, then `import_plans`: everything written in one transaction, into a fresh
           copy of a database that already has the body and its auditors' accounts.

Prints a Markdown table (progress on stderr): seconds and MB for each step and form, and
the workbook's as a ratio to the JSON's.

    .venv/bin/python benchmarks/plan_workbook.py [--sizes 1000,10000] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, clean_up, migrate, say, throwaway  # noqa: E402

sys.path.insert(0, str(ROOT))

AGENCY = {"code": "CNCA-R-BENCH", "name": "基准测试认证中心"}
AUDITORS = 1_000
STEPS = ("check", "dry run", "commit")
FORMS = ("json", "xlsx")

_PROVINCES = ("吉林省通化市", "吉林省长春市", "辽宁省沈阳市", "河北省石家庄市", "山东省济南市", "江苏省苏州市",
              "浙江省宁波市", "广东省东莞市", "四川省成都市", "湖北省武汉市")
_TRADES = ("机械制造", "食品", "化工", "电子科技", "建材", "物流", "医疗器械", "纺织", "汽车零部件", "环保设备")
_SYSTEMS = (("ISO9001", ["管理体系认证", "质量管理体系认证", "ISO9001"], True),
            ("ISO14001", ["管理体系认证", "环境管理体系认证", "ISO14001"], True),
            ("ISO45001", ["管理体系认证", "职业健康安全管理体系认证", "ISO45001"], True),
            ("HACCP", ["食品农产品认证", "危害分析与关键控制点", "HACCP"], False),
            ("GB/T27922", ["服务认证", "商品售后服务评价", "GB/T27922"], False))
_ACTIVITIES = ("初次认证审核(一阶段)", "初次认证审核(二阶段)", "监督审核(第一次)", "监督审核(第二次)",
               "再认证审核(二阶段)")
_ROLES = ("member", "member", "expert", "intern", "remote")


def auditor_pool() -> list[dict]:
    return [{"phone": f"139{n:08d}", "name": f"审核员{n:04d}", "id_type": "id_card",
             "id_number": f"2201011980{n:08d}"} for n in range(AUDITORS)]


def document(count: int) -> dict:
    """`count` plans as a body's month might have them: one to three sites (most located),
    a team of two to five from the body's auditors, the three-level project, remarks."""
    rng = random.Random(count)
    pool = auditor_pool()
    plans = []
    for n in range(count):
        place = rng.choice(_PROVINCES)
        code, levels, required = rng.choice(_SYSTEMS)
        day = 1 + n % 28
        month = 1 + (n // 28) % 12
        sites = []
        for k in range(rng.choice((1, 1, 1, 2, 3))):
            site = {"address": f"{place}{rng.choice(_TRADES)}产业园{n % 97 + 1}号路{k + 1}号"}
            if rng.random() < 0.8:
                site["lat"] = round(rng.uniform(30, 45), 6)
                site["lon"] = round(rng.uniform(105, 128), 6)
            sites.append(site)
        members = rng.sample(pool, rng.randint(2, 5))
        team = [{"phone": person["phone"], "role": "leader" if k == 0 else rng.choice(_ROLES)}
                for k, person in enumerate(members)]
        plan = {
            "plan_no": f"P-2027-{n:06d}",
            "enterprise": {"name": f"{place[:3]}某某{rng.choice(_TRADES)}有限公司{n % 3000:04d}",
                           "contact": f"联系人{n % 500}", "phone": f"0435-{1000000 + n % 9000000:07d}"},
            "project": {"code": code, "levels": levels},
            "required": required,
            "certificate_no": f"117{n % 100:02d}Q{n:05d}R1M",
            "activity": rng.choice(_ACTIVITIES),
            "start": f"2027-{month:02d}-{day:02d}T08:30:00+08:00",
            "end": f"2027-{month:02d}-{day:02d}T17:30:00+08:00",
            "region": place,
            "sites": sites,
            "team": team,
            "mode": rng.choice(("onsite", "onsite", "onsite", "combined", "remote")),
            "confidential": False,
            "status": "valid",
        }
        if rng.random() < 0.3:
            plan["remarks"] = "审核方式: 现场审核；请提前一天到达"
        plans.append(plan)
    return {"agency": AGENCY, "auditors": pool, "plans": plans}


def seed_accounts(database: Path) -> None:
    """The body and its auditors' accounts, already there (an import creating 1,000 accounts
    would time password hashing, not the import): one hash shared by all, written directly."""
    from werkzeug.security import generate_password_hash

    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Agency, Auditor

    app = create_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    with app.app_context():
        agency = Agency(code=AGENCY["code"], name=AGENCY["name"])
        db.session.add(agency)
        db.session.flush()
        hashed = generate_password_hash("Bench#2027a")
        db.session.add_all(Auditor(phone=person["phone"], name=person["name"], id_type="id_card",
                                   id_number=person["id_number"], agency_id=agency.id, password_hash=hashed,
                                   must_change_password=False) for person in auditor_pool())
        db.session.commit()
        db.engine.dispose()


# --- one step, in a child process -------------------------------------------------------------

def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Start the peak resident set (VmHWM) again from the current one (Linux 4.0+), so
    the peak is the step's, not that of importing the app."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def child(step: str, form: str, path: str, database: str) -> None:
    """Run one step on one file against `database`; print its numbers as JSON."""
    from checkin_pwa import create_app
    from checkin_pwa.domain.plan_import import parse_document, validate
    from checkin_pwa.domain.plan_workbook import read_workbook
    from checkin_pwa.extensions import db
    from checkin_pwa.models import AuditPlan
    from checkin_pwa.services.plan_import import import_plans, import_workbook

    app = create_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    with app.app_context():
        db.session.execute(db.select(AuditPlan.id).limit(1)).all()  # the connection is open
        data = Path(path).read_bytes()
        _reset_peak()
        baseline = _status_mb("VmRSS")
        began = time.perf_counter()
        cpu_began = time.process_time()
        if form == "json":
            document = parse_document(data)
            result = None
        else:
            result = read_workbook(data)
            document = result.document
        del data
        if step == "check":
            problems = validate(document)
            if result is not None:
                problems = result.with_validation(problems)
            accepted, plans = not problems, len(document["plans"])
        elif step == "dry run":
            summary = import_plans(document, dry_run=True)
            accepted, plans = summary.accepted, len(summary.created) + len(summary.updated)
        else:
            summary = import_workbook(result) if result is not None else import_plans(document)
            accepted, plans = summary.accepted, len(summary.created) + len(summary.updated)
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
        stored = db.session.scalar(db.select(db.func.count()).select_from(AuditPlan))
        peak = _status_mb("VmHWM")
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak, "baseline_mb": baseline,
                      "accepted": accepted, "plans": plans, "stored": stored}))


def run_child(step: str, form: str, path: Path, template_db: Path, workdir: Path) -> dict:
    database = workdir / f"step-{os.getpid()}-{time.monotonic_ns()}.sqlite3"
    shutil.copy(template_db, database)
    try:
        answer = subprocess.run([sys.executable, __file__, "--child", step, form, str(path), str(database)],
                                cwd=ROOT, env={**os.environ}, check=True, capture_output=True, text=True)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    numbers = json.loads(answer.stdout.strip().splitlines()[-1])
    if not numbers["accepted"]:
        raise SystemExit(f"{step} of {path.name} was refused")
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="plan counts, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    from checkin_pwa.domain.plan_workbook import write_workbook

    workdir, _env = throwaway("bench-workbook-")
    try:
        migrate()
        template_db = workdir / "bench.sqlite3"
        seed_accounts(template_db)
        rows = []
        load_before = os.getloadavg()[0]
        for count in (int(size) for size in args.sizes.split(",")):
            plans = document(count)
            files = {"json": workdir / f"plans-{count}.json", "xlsx": workdir / f"plans-{count}.xlsx"}
            files["json"].write_bytes(json.dumps(plans, ensure_ascii=False).encode())
            files["xlsx"].write_bytes(write_workbook(plans))
            rows_of = sum(len(plan["sites"]) + len(plan["team"]) + 1 for plan in plans["plans"]) + AUDITORS
            say(f"{count} plans: JSON {files['json'].stat().st_size / 1e6:.1f} MB, "
                f"workbook {files['xlsx'].stat().st_size / 1e6:.1f} MB ({rows_of} rows)")
            for step in STEPS:
                measured = {}
                for form in FORMS:
                    say(f"  {step} {form}…")
                    measured[form] = run_child(step, form, files[form], template_db, workdir)
                    say(f"    {measured[form]['seconds']:.1f} s, peak {measured[form]['peak_mb']:.0f} MB "
                        f"(from {measured[form]['baseline_mb']:.0f} MB)")
                rows.append((count, step, measured, {form: files[form].stat().st_size for form in FORMS}))
        load_after = os.getloadavg()[0]
    finally:
        clean_up(workdir, args.keep)

    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load_before:.1f} → {load_after:.1f}\n")
    print("| plans | step | JSON s (CPU s) | workbook s (CPU s) | time ratio (CPU) | JSON peak MB | "
          "workbook peak MB | memory ratio |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for count, step, measured, _sizes in rows:
        json_, xlsx = measured["json"], measured["xlsx"]
        above = {form: measured[form]["peak_mb"] - measured[form]["baseline_mb"] for form in FORMS}
        print(f"| {count:,} | {step} | {json_['seconds']:.2f} ({json_['cpu']:.2f}) | "
              f"{xlsx['seconds']:.2f} ({xlsx['cpu']:.2f}) | {xlsx['seconds'] / json_['seconds']:.2f} "
              f"({xlsx['cpu'] / json_['cpu']:.2f}) | {above['json']:.0f} | {above['xlsx']:.0f} | "
              f"{above['xlsx'] / max(above['json'], 1):.2f} |")
    print("\nPeak MB: the step's highest resident set above the process's before it began "
          "(the app, its libraries and the file's bytes already loaded).")

if __name__ == "__main__":
    main()
