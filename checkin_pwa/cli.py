"""Flask CLI commands: import-plans, create-token, seed-demo, sweep-photos, add-notice,
remind-verifications, backup.

Output is in Simplified Chinese unless --lang en is given. Failures print one clear line
(no traceback) and exit with status 1.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext as _, ngettext

from .domain import clock
from .domain.plan_import import NotADocument, parse_document
from .services import demo, plan_import, tokens
from .words import plan_import as import_words

LANG_OPTION = click.option(
    "--lang", type=click.Choice(["zh_CN", "en"]), default=None,
    help="Language of the output (default: the app's, Simplified Chinese).",
)


def _locale(lang: Optional[str]) -> str:
    return lang or current_app.config["BABEL_DEFAULT_LOCALE"]


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise click.exceptions.Exit(1)


def _listing(values: list[str]) -> str:
    return ", ".join(values) if values else _("none")


def _echo_summary(summary: plan_import.ImportSummary) -> None:
    click.echo(_("Plans created: %(plans)s", plans=_listing(summary.created)))
    click.echo(_("Plans updated: %(plans)s", plans=_listing(summary.updated)))
    click.echo(_("Auditor accounts created: %(phones)s", phones=_listing(summary.auditors_created)))


@click.command("import-plans")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as the API answers it (JSON).")
@LANG_OPTION
@with_appcontext
def import_plans_command(file: Path, as_json: bool, lang: Optional[str]) -> None:
    """Import a plan document (shared/docs/plan-import.md) from FILE."""
    with force_locale(_locale(lang)):
        try:
            raw = file.read_bytes()
        except OSError as error:
            _fail(_("Cannot read %(path)s: %(reason)s", path=file, reason=error.strerror or error))
        try:
            document = parse_document(raw)
        except NotADocument as error:
            _fail(f"{file}: {import_words.render_not_a_document(error)}")
        summary = plan_import.import_plans(document)
        if as_json:
            click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
        elif summary.accepted:
            _echo_summary(summary)
        if not summary.accepted:
            count = len(summary.refused)
            click.echo(ngettext("Refused, nothing was changed: %(num)d problem.",
                                "Refused, nothing was changed: %(num)d problems.", count), err=True)
            for line in import_words.render_issues(summary.refused):
                click.echo(f"  {line}", err=True)
            raise click.exceptions.Exit(1)


@click.command("create-token")
@click.argument("agency_code")
@click.option("--name", default=None, help="What the token is for (shown in the console's token list).")
@LANG_OPTION
@with_appcontext
def create_token_command(agency_code: str, name: Optional[str], lang: Optional[str]) -> None:
    """Make an API token for the body with AGENCY_CODE and print it once."""
    with force_locale(_locale(lang)):
        try:
            token = tokens.create_token(agency_code, name)
        except tokens.UnknownAgency:
            _fail(_("No certification body with code %(code)s. Import its plans first "
                    "(flask --app wsgi import-plans FILE): the document names the body.", code=agency_code))
        click.echo(_("API token for %(code)s (shown only this once; only its SHA-256 is kept):", code=agency_code))
        click.echo(token)


@click.command("seed-demo")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The demo day (default: today in Asia/Shanghai).")
@LANG_OPTION
@with_appcontext
def seed_demo_command(day: Optional[dt.datetime], lang: Optional[str]) -> None:
    """Demo plans for today, imported like a body's document; prints the demo logins."""
    with force_locale(_locale(lang)):
        seeded = demo.seed_demo(day.date() if day else None)
        numbers = seeded.plan_numbers
        click.echo(_("Demo data for %(day)s (Asia/Shanghai).", day=seeded.day.isoformat()))
        _echo_summary(seeded.summary)
        click.echo(_("QMS %(qms)s has two sites; EMS %(ems)s ends today at 17:30; "
                     "ISMS %(isms)s is a remote audit (no check-in).",
                     qms=numbers["QMS"], ems=numbers["EMS"], isms=numbers["ISMS"]))
        click.echo(_("%(phone)s is not on the team of OHSMS %(ohsms)s: signing together (R7) skips it.",
                     phone=demo.DEMO_AUDITOR, ohsms=numbers["OHSMS"]))
        click.echo(_("Demo logins (the username is the mobile number):"))
        for login in seeded.logins:
            if login.password is None:
                detail = _("password changed by its owner since seeding")
            elif login.must_change:
                detail = _("initial password: must be changed at first login, R1")
            else:
                detail = _("ready to log in")
            click.echo(f"  {login.phone}  {login.password or '********'}  {login.name}  ({detail})")
        for person, heading in ((seeded.staff, _("Management end (the body's console): http://127.0.0.1:8000/admin/")),
                                (seeded.regulator, _("The regulator's view (all bodies, read only): "
                                                     "http://127.0.0.1:8000/admin/regulator"))):
            if person is None:
                continue
            click.echo(heading)
            click.echo(f"  {person.phone}  {person.password or '********'}  {person.name}")
            if person.totp_secret:
                click.echo(_("  Second factor: add the secret %(secret)s to an authenticator app, or print "
                             "the current code with: flask --app wsgi staff-totp %(phone)s",
                             secret=person.totp_secret, phone=person.phone))


@click.command("sweep-photos")
@click.option("--min-age", "min_age", type=click.IntRange(min=0), default=None,
              help="Only files older than this many seconds (default: PHOTO_ORPHAN_MIN_AGE_S, 3600).")
@LANG_OPTION
@with_appcontext
def sweep_photos_command(min_age: Optional[int], lang: Optional[str]) -> None:
    """Remove photo files no photo record points at (left by an upload that crashed between
    its files and its record). Files of deleted photos are kept: they are evidence."""
    from .services import photos

    with force_locale(_locale(lang)):
        seconds = current_app.config["PHOTO_ORPHAN_MIN_AGE_S"] if min_age is None else min_age
        result = photos.sweep_orphans(current_app.extensions["photo_store"], dt.timedelta(seconds=seconds))
        click.echo(_("Orphan photo files removed: %(count)s; younger ones kept for now: %(young)s.",
                     count=len(result.removed), young=result.kept_young))
        for key in result.removed:
            click.echo(f"  {key}")


def _notice_refusal(error) -> str:
    """The sentence for a services.notices.NoticeRefused."""
    params = error.params
    if error.code == "empty_title":
        return _("The title is empty: give one with --title.")
    if error.code == "title_too_long":
        return _("The title is too long: at most %(limit)s characters.", limit=params["limit"])
    if error.code == "body_too_long":
        return _("The text is too long: at most %(limit)s characters. Put longer documents in an attachment.",
                 limit=params["limit"])
    if error.code == "empty_file":
        return _("The attachment %(name)s is empty.", name=params["name"])
    if error.code == "too_large":
        return _("The attachment %(name)s is too large (%(size)s bytes; at most %(limit)s).",
                 name=params["name"], size=params["size"], limit=params["limit"])
    return error.code


def _published_at(raw: Optional[str]) -> Optional[dt.datetime]:
    """--published-at as UTC; a time without an offset is on the app's clock (Beijing)."""
    if raw is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        _fail(_("--published-at must be an ISO time such as 2026-11-20T09:30 or 2026-11-20T09:30+08:00: %(value)s",
                value=raw))
    return clock.at_local(moment)


@click.command("add-notice")
@click.option("--title", required=True, help="The notice's title (at most 200 characters).")
@click.option("--body", default=None, help="The text of the notice (plain text; line breaks kept).")
@click.option("--body-file", "body_file", type=click.Path(path_type=Path), default=None,
              help="Read the text from this UTF-8 file instead of --body.")
@click.option("--agency", "agency_code", default=None,
              help="The code of the certification body sending it (Agency.code): only its auditors see it.")
@click.option("--regulator", is_flag=True,
              help="A notice from the regulator, seen by every auditor (also the default without --agency).")
@click.option("--attach", "attach", type=click.Path(path_type=Path), multiple=True,
              help="A file to attach (repeat for several); pdf, doc(x), xls(x), jpg, png, txt, zip are "
                   "served with their type, anything else as application/octet-stream.")
@click.option("--published-at", "published_at", default=None,
              help="When it was published, ISO time (default: now); without an offset, Beijing time.")
@LANG_OPTION
@with_appcontext
def add_notice_command(title: str, body: Optional[str], body_file: Optional[Path], agency_code: Optional[str],
                       regulator: bool, attach: tuple[Path, ...], published_at: Optional[str],
                       lang: Optional[str]) -> None:
    """Add a notice (R14) and print its id. No duplicate check: running it twice makes two
    notices (identical attachment files are stored once)."""
    from .services import notices

    with force_locale(_locale(lang)):
        if not title.strip():
            _fail(_notice_refusal(notices.NoticeRefused("empty_title")))
        if body is not None and body_file is not None:
            _fail(_("Give the text with --body or with --body-file, not both."))
        if agency_code is not None and regulator:
            _fail(_("A notice comes from one body (--agency) or from the regulator (--regulator), not both."))
        if body_file is not None:
            try:
                body = body_file.read_bytes().decode("utf-8-sig")
            except OSError as error:
                _fail(_("Cannot read %(path)s: %(reason)s", path=body_file, reason=error.strerror or error))
            except UnicodeDecodeError:
                _fail(_("%(path)s is not UTF-8 text.", path=body_file))
        agency = None
        if agency_code is not None:
            agency = notices.find_agency(agency_code.strip())
            if agency is None:
                _fail(_("No certification body with code %(code)s. Import its plans first "
                        "(flask --app wsgi import-plans FILE): the document names the body.", code=agency_code))
        when = _published_at(published_at)
        limit = notices.max_attachment_bytes()
        files = []
        for path in attach:
            if not path.is_file():
                _fail(_("Attachment not found (or not a file): %(path)s", path=path))
            size = path.stat().st_size
            if size > limit:  # refused before reading a huge file into memory
                _fail(_notice_refusal(notices.NoticeRefused("too_large", name=path.name, size=size, limit=limit)))
            try:
                files.append((path.name, path.read_bytes()))
            except OSError as error:
                _fail(_("Cannot read %(path)s: %(reason)s", path=path, reason=error.strerror or error))
        try:
            notice = notices.create_notice(agency, title, body or "", files, when, max_bytes=limit)
        except notices.NoticeRefused as error:
            _fail(_notice_refusal(error))
        source = agency.name if agency else _("the regulator")
        click.echo(_("Notice %(id)s added, from %(source)s, with %(count)s attachment(s).",
                     id=notice.id, source=source, count=len(notice.attachments)))
        for item in notice.attachments:
            click.echo(f"  {item.filename}  {item.content_type}  {item.size}  sha256:{item.sha256}")


@click.command("create-staff")
@click.argument("words", nargs=-1, metavar="[AGENCY_CODE] PHONE NAME")
@click.option("--role", type=click.Choice(["admin", "manager", "readonly"]), default="admin", show_default=True,
              help="admin: everything of the body; manager: plans, records, notices; readonly: reads and exports.")
@click.option("--regulator", is_flag=True,
              help="The regulator's account (监管端): of no body, reads every body, changes nothing. Give PHONE NAME only.")
@LANG_OPTION
@with_appcontext
def create_staff_command(words: tuple[str, ...], role: str, regulator: bool, lang: Optional[str]) -> None:
    """Make a staff account of the management end (/admin) for the body with AGENCY_CODE (or,
    with --regulator, the regulator's) and print its initial password once; it must be
    changed at the first login."""
    from .services import audit, staff

    with force_locale(_locale(lang)):
        if len(words) != (2 if regulator else 3):
            _fail(_("Give PHONE NAME with --regulator, AGENCY_CODE PHONE NAME otherwise."))
        agency = None
        if regulator:
            role = "regulator"
            phone, name = words
        else:
            agency_code, phone, name = words
            agency = staff.find_agency(agency_code)
            if agency is None:
                _fail(_("No certification body with code %(code)s. Import its plans first "
                        "(flask --app wsgi import-plans FILE): the document names the body.", code=agency_code))
        try:
            person, password = staff.create_staff(
                agency, phone, name, role, by=audit.Actor(None, agency.id if agency else None, "flask create-staff", "cli"))
        except staff.StaffRefused as error:
            from .console.words import refusal_text

            _fail(refusal_text(error.code))
        click.echo(_("Staff account %(phone)s (%(name)s) of %(body)s created.",
                     phone=person.phone, name=person.name, body=agency.name if agency else _("the regulator")))
        click.echo(_("Initial password (shown only this once; it must be changed at the first login, "
                     "then the second factor is set up):"))
        click.echo(password)


@click.command("staff-totp")
@click.argument("phone")
@LANG_OPTION
@with_appcontext
def staff_totp_command(phone: str, lang: Optional[str]) -> None:
    """Print the current second-factor code of the demo staff account (development: to try
    the console without an authenticator app). Other accounts only with flask --debug."""
    import time

    from .domain.staff import current_code
    from .services import staff

    with force_locale(_locale(lang)):
        person = staff.staff_by_phone(phone)
        if person is None or not person.totp_secret:
            _fail(_("No staff account with a second factor has this number."))
        if person.phone not in (demo.DEMO_STAFF, demo.DEMO_REGULATOR) and not current_app.debug:
            _fail(_("Only for the demo account, or in development (flask --app wsgi --debug staff-totp PHONE)."))
        click.echo(current_code(person.totp_secret, now=time.time()))


@click.command("remind-verifications")
@LANG_OPTION
@with_appcontext
def remind_verifications_command(lang: Optional[str]) -> None:
    """Run once a day (cron): each body with exceptions to verify that are due today or
    tomorrow, or overdue, gets one SMS to each of its managers and administrators."""
    from .services import exception_verifications
    from .services.sms import sender_for

    with force_locale(_locale(lang)):
        done = exception_verifications.send_reminders(sender_for(current_app), clock.now())
        for item in done:
            click.echo(_("Body %(body)s: %(soon)s due today or tomorrow, %(overdue)s overdue; SMS sent: %(sent)s, "
                         "failed: %(failed)s.", body=item.agency_code, soon=item.due.due_soon,
                         overdue=item.due.overdue, sent=item.sent, failed=item.failed))
        if not done:
            click.echo(_("No body has exceptions to verify due today or tomorrow, or overdue."))
        if any(item.failed for item in done):
            raise click.exceptions.Exit(1)


def _backup_refusal(error) -> str:
    """The sentence for a services.backup.BackupRefused."""
    params = error.params
    if error.code == "no_folder":
        return _("The folder %(path)s does not exist.", path=params["path"])
    if error.code == "no_database":
        return _("No database file at %(path)s.", path=params["path"])
    if error.code == "same_file":
        return _("%(path)s is the database itself: give another file name or a folder.", path=params["path"])
    if error.code == "check_failed":
        return _("The copy failed its check and was not kept: %(detail)s", detail=params["detail"])
    if error.code == "io_error":
        return _("Cannot write %(path)s: %(reason)s", path=params["path"], reason=params["reason"])
    return error.code


@click.command("backup")
@click.argument("dest", type=click.Path())
@LANG_OPTION
@with_appcontext
def backup_command(dest: str, lang: Optional[str]) -> None:
    """Copy the SQLite database to DEST (a file, or a folder for a dated file name) while the
    app serves, and check the copy. For PostgreSQL use pg_dump (docs/deploy.md, Backups and restore)."""
    from .services import backup

    with force_locale(_locale(lang)):
        uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
        now = clock.now()
        source = backup.sqlite_path(uri)
        if source is None:
            if uri.startswith("postgresql"):
                _fail(_("The database is PostgreSQL: back it up with its own tool, for example "
                        "pg_dump --format=custom --file=%(file)s '%(url)s' (docs/deploy.md, Backups and restore).",
                        file=Path(dest) / backup.dated_name(now, ".dump") if Path(dest).is_dir() else dest,
                        url=backup.pg_dump_url(uri)))
            _fail(_("flask backup copies SQLite databases only; back up this database with its own tools."))
        try:
            done = backup.backup_sqlite(source, dest, now,
                                        busy_timeout_s=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        except backup.BackupRefused as error:
            _fail(_backup_refusal(error))
        click.echo(_("Backup written: %(path)s (%(size)s bytes, %(seconds).1f s); integrity and foreign keys "
                     "checked.", path=done.path, size=done.size, seconds=done.seconds))
        click.echo(_("Photos are not in the database: back up the photo store as well (docs/deploy.md, Backups and restore)."))


def register_cli(app: Flask) -> None:
    app.cli.add_command(import_plans_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(sweep_photos_command)
    app.cli.add_command(add_notice_command)
    app.cli.add_command(create_staff_command)
    app.cli.add_command(staff_totp_command)
    app.cli.add_command(remind_verifications_command)
    app.cli.add_command(backup_command)
