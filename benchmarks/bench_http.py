"""HTTP benchmark: the today page and the check-in POST against a static file, under gunicorn.

Serves the app with gunicorn (the `make run` shape: 2 workers x 4 threads, no access log) on
127.0.0.1 and a free port, over a throwaway SQLite database built by the real migrations and
filled through the real plan import. From this process (the second one) it loads, at 1, 8
and 32 concurrent clients:

- static:  GET /static/css/app.css, anonymous: the ceiling of this server stack;
- today:   GET / as a logged-in auditor with three plans today (QMS + EMS + OHSMS);
- checkin: POST /plans/<id>/checkin as the page's htmx form sends it, a fresh plan for every
           request: the real write path, answered with the re-rendered form partial.

Each client logs in once and reuses its session cookie and keep-alive connection. It
prints a Markdown table: requests/s, p50/p95 latency, and requests/s as a ratio of the
static ceiling at the same concurrency, all taken in one run. Absolute numbers depend on the
machine; read the ratios. Nothing here is a test: no timing is ever asserted.

With --databases sqlite,postgresql the same rows are taken once per database in the same
run, each on its own server: SQLite in a temporary folder, then a PostgreSQL server of the
run's own (tests/servers/postgres.py: initdb in a temporary folder, a private port; its
fsync is off, as the tests run it: reads the cost of the SQL, not of a disk). PostgreSQL
needs requirements-postgres.txt and Debian's postgresql (`make test` installs both).

    .venv/bin/python benchmarks/bench_http.py [--requests 480] [--clients 1,8,32]
                                              [--databases sqlite,postgresql] [--help]
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import http.client
import json
import os
import platform
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HOST, ROOT, VENV_BIN, clean_up, migrate, throwaway  # noqa: E402
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "Bench#pass1"
SITE = (41.1256, 126.1865)  # the planned site, and where the benchmark's phones stand
USER_AGENT = "checkin-bench/1"
SCENARIOS = ("static", "today", "checkin")

_FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_HEADER_TOKEN = re.compile(r'"X-CSRFToken"\s*:\s*"([^"]+)"')
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


# --- the data -------------------------------------------------------------------------

def plan_times() -> tuple[str, str]:
    """A three-day audit whose middle day is today (Shanghai): today's page lists it and
    check-in is open whatever the hour the benchmark runs at."""
    today = dt.datetime.now(SHANGHAI).date()
    start = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(8, 30), SHANGHAI)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(17, 0), SHANGHAI)
    return start.isoformat(), end.isoformat()


def reader_phone(i: int) -> str:
    return f"1370000{i:04d}"


def writer_phone(i: int) -> str:
    return f"1380000{i:04d}"


WARMUP_WRITER = "13900000000"
EXPERT = "13900000001"


def writer_plan_counts(levels: list[int], requests: int, warmup_checkins: int) -> dict[str, int]:
    """Client j at concurrency c signs requests // c plans as writer j: one plan each."""
    counts = {writer_phone(j): 0 for j in range(max(levels))}
    for clients in levels:
        for j in range(clients):
            counts[writer_phone(j)] += requests // clients
    counts[WARMUP_WRITER] = warmup_checkins
    return counts


def plan_document(readers: int, writer_counts: dict[str, int]) -> dict:
    """The import contract (shared/docs/plan-import.md): readers get a realistic day (one
    enterprise, three must-sign plans, a leader and an expert); writers get one plan per
    check-in request, each at its own enterprise so no sign-together offer applies."""
    start, end = plan_times()
    auditors = [{"phone": EXPERT, "name": "技术专家", "id_type": "id_card",
                 "id_number": "110101198001019999", "initial_password": PASSWORD}]
    plans = []

    def plan(plan_no, company, code, levels, team):
        return {
            "plan_no": plan_no,
            "enterprise": {"name": company, "contact": "张某", "phone": "0435-1234567"},
            "project": {"code": code, "levels": levels},
            "required": True,
            "certificate_no": "11721Q0123R1M",
            "activity": "监督审核",
            "start": start,
            "end": end,
            "region": "吉林省通化市",
            "sites": [{"address": "吉林省集安市工业园区1号", "lat": SITE[0], "lon": SITE[1]}],
            "team": team,
            "mode": "onsite",
            "confidential": False,
            "remarks": "审核方式: 现场审核",
            "status": "valid",
        }

    systems = [
        ("ISO9001", ["管理体系认证", "质量管理体系认证", "ISO9001"]),
        ("ISO14001", ["管理体系认证", "环境管理体系认证", "ISO14001"]),
        ("ISO45001", ["管理体系认证", "职业健康安全管理体系认证", "ISO45001"]),
    ]
    for i in range(readers):
        phone = reader_phone(i)
        auditors.append({"phone": phone, "name": f"读者{i}", "id_type": "id_card",
                         "id_number": f"1101011980010{i:05d}", "initial_password": PASSWORD})
        for code, levels in systems:
            plans.append(plan(f"BENCH-R{i:03d}-{code}", f"吉林省读者企业{i}有限公司", code, levels,
                              [{"phone": phone, "role": "leader"}, {"phone": EXPERT, "role": "expert"}]))
    for n, (phone, count) in enumerate(writer_counts.items()):
        auditors.append({"phone": phone, "name": f"签到者{n}", "id_type": "id_card",
                         "id_number": f"2201011980010{n:05d}", "initial_password": PASSWORD})
        for k in range(count):
            plans.append(plan(f"BENCH-W{n:03d}-{k:05d}", f"吉林省签到企业{n}-{k}有限公司", *systems[0],
                              [{"phone": phone, "role": "leader"}]))
    return {"agency": {"code": "CNCA-R-BENCH", "name": "基准测试认证中心"},
            "auditors": auditors, "plans": plans}


def seed(document: dict) -> dict[str, list[int]]:
    """Import through the app's own service; returns each writer's plan ids in order.

    The import gives new accounts their initial password and the forced change of R1;
    the benchmark's accounts skip that step (a direct update, the only shortcut here)."""
    sys.path.insert(0, str(ROOT))
    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.models import AuditPlan, Auditor, TeamMember
    from checkin_pwa.services.plan_import import import_plans

    # The URL of this round's database (Config read the environment once, at import).
    app = create_app(SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"])
    with app.app_context():
        summary = import_plans(document)
        if not summary.accepted:
            raise SystemExit(f"the import refused the benchmark's document: {summary.as_dict()['refused'][:5]}")
        db.session.execute(db.update(Auditor).values(must_change_password=False))
        db.session.commit()
        rows = db.session.execute(
            db.select(Auditor.phone, AuditPlan.id)
            .join(TeamMember, TeamMember.auditor_id == Auditor.id)
            .join(AuditPlan, AuditPlan.id == TeamMember.plan_id)
            .where(AuditPlan.plan_no.like("BENCH-W%"))
            .order_by(AuditPlan.plan_no)
        ).all()
        db.engine.dispose()
    plans: dict[str, list[int]] = {}
    for phone, plan_id in rows:
        plans.setdefault(phone, []).append(plan_id)
    return plans


# --- the server -----------------------------------------------------------------------

class Gunicorn:
    """gunicorn on 127.0.0.1, port chosen by the kernel and read from its log."""

    def __init__(self, env: dict, workers: int, threads: int, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--bind", f"{HOST}:0", "--workers", str(workers),
             "--threads", str(threads), "--log-level", "info", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.port = self._wait_for_port(timeout=30)
        self._wait_ready(timeout=30)

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: see {self.log_path}\n{self.log_path.read_text()}")
            found = _LISTENING.search(self.log_path.read_text())
            if found:
                return int(found.group(1))
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not start within {timeout} s: see {self.log_path}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _, _ = Session(self.port).request("GET", "/static/css/app.css")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not answer within {timeout} s: see {self.log_path}")

    def cpu_seconds(self) -> float:
        """CPU (user + system) used so far by the master and its workers, from /proc."""
        return process_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: workers finish and exit
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def process_cpu_seconds(parent: int) -> float:
    """CPU (user + system) used so far by process `parent` and its children, from /proc:
    the live children's own, and the parent's count of those it has reaped (gunicorn
    replaces a worker after max_requests: its CPU must not drop out of the sum)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # After "(comm)": state, ppid, ..., utime, stime, cutime and cstime are the
            # 12th to the 15th.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == parent:
            total += sum(int(value) for value in fields[11:15])
        elif int(fields[1]) == parent:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float:
    """CPU used so far by this round's PostgreSQL server (its postmaster and backends); 0 on
    SQLite, which works inside the gunicorn workers (their CPU counts it already)."""
    pid_file = os.environ.get("BENCH_POSTMASTER_PID")
    if not pid_file:
        return 0.0
    return process_cpu_seconds(int(Path(pid_file).read_text().split()[0]))


# --- the clients ----------------------------------------------------------------------

class Session:
    """One phone: a keep-alive connection and its cookies (no redirects followed)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""

    def request(self, method: str, path: str, form: dict | None = None, send_cookies: bool = True,
                htmx: bool = False) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"User-Agent": USER_AGENT}
        if htmx:  # what htmx adds to a request (base.html's hx-headers carry the token)
            headers.update({"HX-Request": "true", "X-CSRFToken": self.csrf_token})
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if send_cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request reconnects
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
        return response.status, response.headers, data

    def reconnect(self) -> None:
        self.conn.close()

    def login(self, phone: str) -> None:
        status, _, page = self.request("GET", "/login")
        token = _FORM_TOKEN.search(page.decode())
        if status != 200 or not token:
            raise SystemExit(f"GET /login answered {status} without a CSRF token")
        status, headers, _ = self.request(
            "POST", "/login", {"phone": phone, "password": PASSWORD, "csrf_token": token.group(1)})
        if status != 303 or urlsplit(headers.get("Location", "")).path != "/":
            raise SystemExit(f"login of {phone} answered {status} -> {headers.get('Location')}")
        # Logging in starts a new session, so the token comes from a page seen after it.
        status, _, page = self.request("GET", "/")
        token = _HEADER_TOKEN.search(html.unescape(page.decode()))
        if status != 200 or not token:
            raise SystemExit(f"GET / after login answered {status} without a CSRF token")
        self.csrf_token = token.group(1)


def checkin_form(csrf_token: str) -> dict:
    """What the check-in page posts: the phone stands on the site with a fresh good fix,
    the pin where the phone is, a new idempotency key."""
    now_ms = str(int(time.time() * 1000))
    return {
        "device_lat": SITE[0], "device_lon": SITE[1], "device_accuracy": "12",
        "device_position_time": now_ms, "device_time": now_ms, "device_time_sent": now_ms,
        "lat": SITE[0], "lon": SITE[1], "idempotency_key": uuid.uuid4().hex,
        "csrf_token": csrf_token,
    }


@dataclass
class Result:
    scenario: str
    clients: int
    database: str = "sqlite"
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu_s: float = 0.0
    database_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def cpu_ms_per_request(self, seconds: float) -> float:
        return 1000 * seconds / self.requests if self.requests else float("nan")

    def percentile(self, p: int) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]


def run_phase(server: Gunicorn, scenario: str, sessions: list[Session], per_client: int,
              max_seconds: float, plans: dict[int, list[int]] | None = None) -> Result:
    """`per_client` requests from each session at once; ends early at `max_seconds`."""
    result = Result(scenario, len(sessions))
    lock = threading.Lock()
    start_line = threading.Barrier(len(sessions) + 1)

    def client(index: int, session: Session) -> None:
        session.reconnect()  # a fresh connection: idle keep-alives may have been closed
        latencies, errors, samples = [], 0, []
        start_line.wait()
        deadline = time.perf_counter() + max_seconds
        for n in range(per_client):
            if time.perf_counter() > deadline:
                break
            if scenario == "static":
                args = ("GET", "/static/css/app.css", None, False)
            elif scenario == "today":
                args = ("GET", "/", None, True)
            else:  # as the page's hx-post sends it: the answer is the re-rendered form partial
                args = ("POST", f"/plans/{plans[index][n]}/checkin", checkin_form(session.csrf_token),
                        True, True)
            began = time.perf_counter()
            try:
                status, _, body = session.request(*args)
            except (OSError, http.client.HTTPException) as error:
                errors += 1
                samples.append(f"{type(error).__name__}: {error}")
                continue
            elapsed = (time.perf_counter() - began) * 1000
            if status == 200:
                latencies.append(elapsed)
            else:
                errors += 1
                samples.append(f"{status} {args[1]}: {body[:200]!r}")
        with lock:
            result.latencies_ms.extend(latencies)
            result.errors += errors
            result.error_samples.extend(samples[:3])

    threads = [threading.Thread(target=client, args=(i, s)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    server_cpu, database_cpu, client_cpu = server.cpu_seconds(), database_cpu_seconds(), time.process_time()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    result.server_cpu_s = server.cpu_seconds() - server_cpu
    result.database_cpu_s = database_cpu_seconds() - database_cpu
    result.client_cpu_s = time.process_time() - client_cpu
    return result


# --- the report -----------------------------------------------------------------------

def markdown_table(results: list[Result]) -> str:
    """One row per scenario and concurrency (and database, when there are several); each
    ratio is to the static row of the same server and concurrency."""
    ceiling = {(r.database, r.clients): r.rate for r in results if r.scenario == "static"}
    several = len({r.database for r in results}) > 1
    lines = [
        ("| database " if several else "") + "| scenario | clients | requests | errors | req/s | p50 ms | p95 ms "
        "| req/s vs static | server CPU ms/req | PostgreSQL CPU ms/req | load CPU ms/req |",
        ("|---" if several else "") + "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = r.rate / ceiling[r.database, r.clients] if ceiling.get((r.database, r.clients)) else float("nan")
        lines.append((f"| {r.database} " if several else "") +
                     f"| {r.scenario} | {r.clients} | {r.requests} | {r.errors} | {r.rate:.0f} | "
                     f"{r.percentile(50):.1f} | {r.percentile(95):.1f} | {ratio:.2f} | "
                     f"{r.cpu_ms_per_request(r.server_cpu_s):.2f} | {r.cpu_ms_per_request(r.database_cpu_s):.2f} | "
                     f"{r.cpu_ms_per_request(r.client_cpu_s):.2f} |")
    return "\n".join(lines)


def machine(workers: int, threads: int, db_path: Path, postgres_url: str | None = None) -> dict:
    extra = {}
    if db_path.exists():
        with sqlite3.connect(db_path) as conn:
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
            synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
                conn.execute("PRAGMA synchronous").fetchone()[0]]
        extra["sqlite"] = f"SQLite {sqlite3.sqlite_version}, journal_mode={journal}, synchronous={synchronous} (default)"
    if postgres_url is not None:
        from sqlalchemy import create_engine, text

        engine = create_engine(postgres_url)
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        extra["postgresql"] = (f"PostgreSQL {version} on a Unix socket, fsync=off, synchronous_commit=off "
                               "(the test server's settings)")
    gunicorn = subprocess.run([str(VENV_BIN / "gunicorn"), "--version"], capture_output=True,
                              text=True).stdout.strip()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "server": f"{gunicorn}, gthread, {workers} workers x {threads} threads, no access log",
        **extra,
    }


# --- main -----------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=480,
                        help="today and checkin requests per concurrency (split evenly between "
                             "clients); static gets --static-factor times as many")
    parser.add_argument("--static-factor", type=int, default=4,
                        help="static answers fast: more requests keep its row from being a blip")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma separated")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit of one phase")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--readers", type=int, default=None,
                        help="auditors viewing today's page (default: the highest concurrency)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json",
                        help="where to write the raw numbers")
    parser.add_argument("--databases", default="sqlite",
                        help="sqlite, postgresql, or both (comma separated): one round each, in this order")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and log")
    args = parser.parse_args()

    levels = sorted({int(c) for c in args.clients.split(",")})
    if any(args.requests < c for c in levels):
        parser.error("--requests must be at least the highest concurrency")
    readers = args.readers or max(levels)
    warmup_checkins = 2 * max(levels)

    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    if not databases or set(databases) - {"sqlite", "postgresql"}:
        parser.error("--databases: sqlite, postgresql or both, comma separated")

    # Every benchmark phone logs in from 127.0.0.1: lift the per-address throttle.
    workdir, _ = throwaway("checkin-bench-", LOGIN_LIMIT_PER_ADDRESS="100000 per minute",
                           LOGIN_LIMIT_PER_ACCOUNT="100000 per minute", PYTHONDONTWRITEBYTECODE="1")
    db_path = workdir / "bench.sqlite3"
    postgres = None
    rounds: dict[str, dict] = {}
    try:
        for database in databases:
            if database == "postgresql":
                sys.path.insert(0, str(ROOT))
                from tests.servers import postgres as postgres_servers

                postgres = postgres_servers.start()
                os.environ["DATABASE_URL"] = postgres.url(postgres.create(name="bench"))
                os.environ["BENCH_POSTMASTER_PID"] = str(postgres.data / "postmaster.pid")
            else:
                os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
                os.environ.pop("BENCH_POSTMASTER_PID", None)
            print(f"database: {os.environ['DATABASE_URL']}", file=sys.stderr)
            rounds[database] = measure(database, args, levels, readers, warmup_checkins, workdir)
    finally:
        if postgres is not None:
            postgres.stop()
        clean_up(workdir, args.keep)

    results = [r for one in rounds.values() for r in one["results"]]
    info = rounds[databases[0]]["machine"]
    if "postgresql" in rounds:
        info = {**info, "postgresql": rounds["postgresql"]["machine"]["postgresql"]}
    print(f"Run {info['date']}; {info['cpus']} CPUs; Python {info['python']}; {info['platform']}")
    print(f"Server: {info['server']}; " + "; ".join(info[name] for name in ("sqlite", "postgresql") if name in info))
    print(f"Load: this process, {'/'.join(map(str, levels))} threads with keep-alive; "
          f"{args.requests} requests per today/checkin row, {args.requests * args.static_factor} "
          f"per static row (fewer if a row hit {args.max_seconds:.0f} s); load average (1 min) "
          + ", ".join(f"{name} {one['load_before'][0]:.1f} before, {one['load_after'][0]:.1f} after"
                      for name, one in rounds.items()))
    for name, one in rounds.items():
        print(f"{name}: login (GET /login, POST /login, GET /), one at a time: {one['login_ms']:.0f} ms, "
              f"server CPU {one['login_cpu_ms']:.0f} ms each; check-in records written: {one['written']}, "
              f"successful check-in requests: {one['answered']} (both include {one['warmed']} warm-up)")
    print()
    print(markdown_table(results))

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "machine": info, "requests": args.requests, "static_factor": args.static_factor, "levels": levels,
        "rounds": {name: {"loadavg_before": one["load_before"], "loadavg_after": one["load_after"],
                          "login_ms": round(one["login_ms"], 1), "login_server_cpu_ms": round(one["login_cpu_ms"], 1),
                          "checkin_records_written": one["written"], "checkin_requests_answered": one["answered"]}
                   for name, one in rounds.items()},
        "results": [{"database": r.database, "scenario": r.scenario, "clients": r.clients, "requests": r.requests,
                     "errors": r.errors, "seconds": round(r.seconds, 3), "req_per_s": round(r.rate, 1),
                     "p50_ms": round(r.percentile(50), 2), "p95_ms": round(r.percentile(95), 2),
                     "server_cpu_s": round(r.server_cpu_s, 2),
                     "database_cpu_s": round(r.database_cpu_s, 2), "client_cpu_s": round(r.client_cpu_s, 2),
                     "error_samples": r.error_samples[:3]} for r in results],
    }, indent=2, ensure_ascii=False))
    print(f"\nraw numbers: {args.json}", file=sys.stderr)
    ok = all(one["written"] == one["answered"] for one in rounds.values()) and not any(r.errors for r in results)
    return 0 if ok else 1


def checkins_written(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(
                "SELECT count(*) FROM check_event e JOIN audit_plan p ON p.id = e.plan_id "
                "WHERE p.plan_no LIKE 'BENCH-W%' AND e.kind = 'in' AND e.counts_for_team")).scalar_one()
    finally:
        engine.dispose()


def measure(database: str, args, levels: list[int], readers: int, warmup_checkins: int, workdir: Path) -> dict:
    """One round on the database of os.environ's DATABASE_URL: migrate, import, serve, load."""
    # gunicorn's: its workers are never replaced during a run (gunicorn.conf.py replaces one
    # after GUNICORN_MAX_REQUESTS): a new worker's start-up would land in whichever row it
    # fell in.
    env = {**os.environ, "GUNICORN_MAX_REQUESTS": "0"}
    server = None
    try:
        migrate()
        counts = writer_plan_counts(levels, args.requests, warmup_checkins)
        began = time.perf_counter()
        plans = seed(plan_document(readers, counts))
        print(f"imported {sum(counts.values()) + 3 * readers} plans in "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr)

        server = Gunicorn(env, args.workers, args.threads, workdir / f"gunicorn-{database}.log")
        print(f"gunicorn on {HOST}:{server.port}", file=sys.stderr)

        top = max(levels)
        static_sessions = [Session(server.port) for _ in range(top)]
        reader_sessions = [Session(server.port) for _ in range(top)]
        writer_sessions = [Session(server.port) for _ in range(top)]
        # Logging in checks a scrypt password hash: costly on purpose, so worth a number.
        login_cpu, login_began = server.cpu_seconds(), time.perf_counter()
        for i, session in enumerate(reader_sessions):
            session.login(reader_phone(i % readers))
        login_cpu_ms = 1000 * (server.cpu_seconds() - login_cpu) / len(reader_sessions)
        login_wall_ms = 1000 * (time.perf_counter() - login_began) / len(reader_sessions)
        for j, session in enumerate(writer_sessions):
            session.login(writer_phone(j))
        warm_clients = min(top, 8)
        warm_sessions = [Session(server.port) for _ in range(warm_clients)]
        warm_sessions[0].login(WARMUP_WRITER)
        for session in warm_sessions[1:]:  # the same phone on several connections
            session.cookies = dict(warm_sessions[0].cookies)
            session.csrf_token = warm_sessions[0].csrf_token

        # Warm both workers (imports, templates, connections) before anything is timed.
        run_phase(server, "static", static_sessions[:warm_clients], 20, args.max_seconds)
        run_phase(server, "today", reader_sessions[:warm_clients], 10, args.max_seconds)
        share = warmup_checkins // warm_clients
        warm_plans = plans[WARMUP_WRITER]
        warmed = run_phase(server, "checkin", warm_sessions, share, args.max_seconds,
                           {i: warm_plans[i * share:(i + 1) * share] for i in range(warm_clients)})
        load_before = os.getloadavg()

        # Interleaved by concurrency, so each ratio compares numbers taken minutes apart at most.
        cursor = {writer_phone(j): 0 for j in range(top)}
        results: list[Result] = []
        for clients in levels:
            per_client = args.requests // clients
            for scenario in SCENARIOS:
                if scenario == "static":
                    result = run_phase(server, scenario, static_sessions[:clients],
                                       per_client * args.static_factor, args.max_seconds)
                elif scenario == "today":
                    result = run_phase(server, scenario, reader_sessions[:clients], per_client, args.max_seconds)
                else:
                    mine = {}
                    for j in range(clients):
                        phone = writer_phone(j)
                        mine[j] = plans[phone][cursor[phone]:cursor[phone] + per_client]
                        cursor[phone] += per_client
                    result = run_phase(server, scenario, writer_sessions[:clients], per_client,
                                       args.max_seconds, mine)
                result.database = database
                results.append(result)
                print(f"{database:10} {scenario:8} {clients:3} clients: {result.rate:8.1f} req/s, "
                      f"{result.errors} errors", file=sys.stderr)
                for sample in result.error_samples[:3]:
                    print(f"    {sample}", file=sys.stderr)

        written = checkins_written(os.environ["DATABASE_URL"])
        load_after = os.getloadavg()
        answered = sum(len(r.latencies_ms) for r in results + [warmed] if r.scenario == "checkin")
        return {"results": results, "login_ms": login_wall_ms, "login_cpu_ms": login_cpu_ms,
                "written": written, "answered": answered, "warmed": len(warmed.latencies_ms),
                "load_before": load_before, "load_after": load_after,
                "machine": machine(args.workers, args.threads, workdir / "bench.sqlite3",
                                   os.environ["DATABASE_URL"] if database == "postgresql" else None)}
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
