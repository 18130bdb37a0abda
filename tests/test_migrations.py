"""Migrations on a database that holds data (the demo's, `flask seed-demo`), as an upgrade
meets it on a body's server: every revision steps down and up again keeping the rows its
schema keeps, on the pass's backend; and on SQLite, where changing a column rebuilds the
table (copy, DROP, rename), a table other rows refer to can be rebuilt."""
from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade

from checkin_pwa import PROJECT_ROOT, create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db, limiter

MIGRATIONS = PROJECT_ROOT / "migrations"


def app_on(url: str, tmp_path: Path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, PHOTO_STORAGE_DIR=str(tmp_path / "photos"),
                     EXPORT_DIR=str(tmp_path / "exports"))
    limiter.reset()
    return app


def seed_demo(app) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def fill_empty_tables() -> None:
    """One row in every table the demo leaves empty (tokens, explanations, verifications, ...),
    each referring to rows that exist, so that every table a migration rebuilds holds data
    and every reference to it points at something."""
    with db.engine.begin() as connection:
        for table in db.metadata.sorted_tables:  # referred tables first
            if connection.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                continue
            row = {}
            for column in table.columns:
                if column.primary_key and not column.foreign_keys and isinstance(column.type, sa.Integer):
                    continue
                row[column.name] = sample(connection, column)
            connection.execute(table.insert().values(**row))


def sample(connection, column):
    if column.foreign_keys:
        referred = next(iter(column.foreign_keys)).column
        return connection.execute(sa.select(sa.func.min(referred))).scalar()
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):  # UtcDateTime: sample what it stores
        kind = kind.impl_instance
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 11, 29, 1, 2, 3)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 11, 29)
    if isinstance(kind, (sa.Integer, sa.Float, sa.Numeric)):
        return 1
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b"x"
    length = getattr(kind, "length", None) or 20
    return f"{column.name}"[:length]


def row_counts() -> dict[str, int]:
    """Rows of every table there is now (the migrations' own table left out)."""
    db.session.remove()
    with db.engine.connect() as connection:
        names = [name for name in sa.inspect(connection).get_table_names() if name != "alembic_version"]
        return {name: connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar()
                for name in names}


def current_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def scripts(directory: Path = MIGRATIONS) -> ScriptDirectory:
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config(str(directory)))


# Rows a downgrade removes on purpose, because the older schema cannot hold them.
LEFT_BEHIND_BY_DOWNGRADE = {
    # The regulator's staff accounts have no body; before this revision every account had one.
    "a7e2c4d9b113": {"staff": "SELECT count(*) FROM staff WHERE agency_id IS NULL"},
    # Records of a photo upload still in flight (no answer yet) had no place before it.
    "5a7d2c9e4f10": {"idempotency_record": "SELECT count(*) FROM idempotency_record WHERE status_code IS NULL"},
}


def test_every_migration_steps_down_and_up_again_holding_demo_data(empty_database_url, tmp_path):
    app = app_on(empty_database_url, tmp_path)
    with app.app_context():
        upgrade()
        seed_demo(app)
        fill_empty_tables()
        seeded = row_counts()
        assert all(seeded.values()), seeded
        steps = list(scripts().walk_revisions())  # head first
        assert len(steps) > 1
        for step in steps:
            downgrade(revision=step.revision)  # where the previous step left off (nothing at head)
            before = row_counts()
            for table, query in LEFT_BEHIND_BY_DOWNGRADE.get(step.revision, {}).items():
                before[table] -= db.session.scalar(sa.text(query))
            db.session.remove()  # no read left open: PostgreSQL's ALTER TABLE would wait for it
            downgrade(revision=step.down_revision or "base")
            kept = row_counts()
            upgrade(revision=step.revision)
            again = row_counts()
            assert current_revision() == step.revision
            # A table the step's downgrade kept has the same rows before, between and after.
            assert {name: before[name] for name in kept} == kept, step.revision
            assert {name: again[name] for name in kept} == kept, step.revision
            # A table it dropped comes back (empty).
            assert set(again) == set(before), step.revision
        upgrade()
        assert schema_differences() == []
        # The schema the steps left holds the demo again.
        seed_demo(app)
        assert row_counts()["audit_plan"] == seeded["audit_plan"]
        db.session.remove()
        db.engine.dispose()


# --- SQLite: a table other rows refer to, rebuilt --------------------------------------

THROWAWAY = '''
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down_revision}"


def upgrade():
{body}


def downgrade():
    pass
'''

REBUILDS = {
    # A wider column of a table every plan's team, events and photos refer to.
    "auditor": '''    with op.batch_alter_table("auditor", recreate="always") as batch_op:
        batch_op.alter_column("id_number", existing_type=sa.String(64), type_=sa.String(80))''',
    # The plans: referred to by sites, team, events, photos and (ON DELETE CASCADE) open reviews.
    "audit_plan": '''    with op.batch_alter_table("audit_plan", recreate="always") as batch_op:
        batch_op.alter_column("plan_no", existing_type=sa.String(64), type_=sa.String(80))''',
}


def migrations_with(tmp_path: Path, name: str, body: str) -> Path:
    """A copy of migrations/ with one more revision after the head."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, directory, ignore=shutil.ignore_patterns("__pycache__"))
    head = scripts(directory).get_current_head()
    (directory / "versions" / f"{name}.py").write_text(
        THROWAWAY.format(revision=name, down_revision=head, body=body), encoding="utf-8")
    return directory


@pytest.mark.parametrize("table", sorted(REBUILDS))
def test_a_migration_rebuilding_a_referenced_table_keeps_every_row_on_sqlite(tmp_path, table):
    app = app_on(f"sqlite:///{tmp_path / 'checkin.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade()
        seed_demo(app)
        before = row_counts()
        directory = migrations_with(tmp_path, f"rebuild_{table}", REBUILDS[table])

        upgrade(directory=str(directory))

        assert current_revision() == f"rebuild_{table}"
        assert row_counts() == before
        with db.engine.connect() as connection:
            width = {column["name"]: getattr(column["type"], "length", None) for column in sa.inspect(connection).get_columns(table)}
            assert width["id_number" if table == "auditor" else "plan_no"] == 80
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            # References are enforced again on the app's connections after the upgrade.
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            with pytest.raises(sa.exc.IntegrityError):
                connection.exec_driver_sql("INSERT INTO plan_site (plan_id, position, address) VALUES (999999, 0, 'x')")
            connection.rollback()
        # The app still works on it: the demo auditor logs in and sees today's plans.
        client = app.test_client()
        from .helpers import csrf_token
        from checkin_pwa.services.demo import DEMO_AUDITOR, DEMO_PASSWORD

        token = csrf_token(client, "/login")
        response = client.post("/login", data={"phone": DEMO_AUDITOR, "password": DEMO_PASSWORD,
                                               "csrf_token": token})
        assert response.status_code in (302, 303)
        assert client.get("/").status_code == 200
        db.session.remove()
        db.engine.dispose()


def test_a_migration_that_leaves_a_dangling_reference_fails_and_changes_nothing_on_sqlite(tmp_path, capfd):
    app = app_on(f"sqlite:///{tmp_path / 'checkin.sqlite3'}", tmp_path)
    with app.app_context():
        upgrade()
        seed_demo(app)
        before, head = row_counts(), current_revision()
        body = '''    with op.batch_alter_table("auditor", recreate="always") as batch_op:
        batch_op.alter_column("id_number", existing_type=sa.String(64), type_=sa.String(80))
    op.execute("DELETE FROM auditor")'''
        directory = migrations_with(tmp_path, "drops_auditors", body)

        with pytest.raises(SystemExit):  # `flask db upgrade` ends with status 1 and says why
            upgrade(directory=str(directory))
        said = capfd.readouterr().err
        assert "foreign keys point at nothing; nothing was changed" in said
        assert "('team_member', 1, 'auditor', 1)" in said

        assert current_revision() == head
        assert row_counts() == before
        with db.engine.connect() as connection:
            width = {column["name"]: getattr(column["type"], "length", None) for column in sa.inspect(connection).get_columns("auditor")}
            assert width["id_number"] == 64  # the rebuild was rolled back with the rest
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.session.remove()
        db.engine.dispose()
