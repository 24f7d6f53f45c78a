"""The benchmark's throwaway PostgreSQL database: created fresh (named lightboard_bench on
the server of DATABASE_URL), migrated once, emptied between the sizes and dropped at the end."""

import os
import sys
from urllib.parse import urlsplit, urlunsplit

# BENCH_DATABASE names another throwaway database, so that two benches can share one server.
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "lightboard_bench")
# Kept when the data is emptied between sizes: the schema's own rows (the role groups come
# from a data migration).
KEPT_TABLES = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
}


def require_services():
    """The benchmark runs on the real services only: stop with a clear message otherwise."""
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        sys.exit(
            f"make bench needs PostgreSQL and Redis: set {' and '.join(missing)}, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/lightboard "
            "REDIS_URL=redis://127.0.0.1:6379/5 make bench"
        )
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        sys.exit("make bench runs on PostgreSQL: DATABASE_URL must be a postgres:// address.")


def bench_url(url):
    """DATABASE_URL pointed at the throwaway database (same server, user and options)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def _admin_connection():
    import psycopg
    from django.db import connection

    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def setup():
    """Point Django at a fresh lightboard_bench database, create it and migrate it."""
    os.environ["DATABASE_URL"] = bench_url(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lightboard.settings")
    os.environ.setdefault("DEBUG", "1")
    # The benchmark measures the pages, not the log: keep Django's and Celery's INFO quiet.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    with _admin_connection() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    call_command("migrate", verbosity=0)


def empty():
    """Remove every row but the schema's own, so the next size starts from nothing."""
    from django.db import connection

    tables = [name for name in connection.introspection.table_names() if name not in KEPT_TABLES]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " RESTART IDENTITY")


def drop():
    from django.db import connections

    connections.close_all()
    with _admin_connection() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
