import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# Keep the app's loggers on (checkin_pwa.sms writes the codes of the log SMS backend):
# upgrade() in the same process (tests, the live server) would otherwise disable them.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    # Flask-SQLAlchemy 3: get_engine() is deprecated
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        if connection.dialect.name == "sqlite":
            run_sqlite_migrations(connection, conf_args)
            return
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()


class ForeignKeysBroken(RuntimeError):
    pass


def run_sqlite_migrations(connection, conf_args):
    """SQLite changes a column by rebuilding its table (batch mode: copy, DROP, rename).
    With foreign keys enforced, dropping a table other rows refer to fails (or, for an ON
    DELETE CASCADE reference, deletes those rows). So enforcement is off while the
    migrations run, every reference is checked before the commit (a migration that broke
    one fails and leaves nothing changed), and enforcement is on again afterwards.

    The PRAGMA is a no-op inside a transaction: it is set before BEGIN. BEGIN is explicit,
    since Python's sqlite3 starts a transaction only before INSERT/UPDATE/DELETE, so that a
    failed upgrade rolls back its DDL too."""
    applied = []
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            transactional_ddl=True,
            on_version_apply=lambda **step: applied.append(step),
            **conf_args
        )
        with context.begin_transaction():
            connection.exec_driver_sql("BEGIN")
            context.run_migrations()
            # Only after a migration ran (`flask db current` does not read every table).
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if applied else []
            if broken:
                raise ForeignKeysBroken(
                    "The migration left rows whose foreign keys point at nothing; "
                    "nothing was changed. PRAGMA foreign_key_check (table, rowid, "
                    "referred table, key index): "
                    + "; ".join(str(tuple(row)) for row in broken[:20]))
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
