from alembic import context
from sqlalchemy import create_engine, pool

from smile.kit.db import sqlalchemy_url
from smile.models import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True, include_object=_include)
        with context.begin_transaction():
            context.run_migrations()


def _include(obj, name, type_, reflected, compare_to):
    # procrastinate's tables are created from its own schema file in the first migration
    return not (type_ == "table" and name.startswith("procrastinate"))


run_migrations_online()
