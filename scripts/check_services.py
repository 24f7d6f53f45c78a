"""Check that the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL answer.

Exits non-zero with a plain message naming what is missing. Used by .ci/run, where a
missing service is a failure, never a reason to skip tests.
"""

import os
import sys

import dj_database_url
import psycopg
import redis


def main():
    problems = []
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if not database_url:
        problems.append("DATABASE_URL is not set")
    else:
        config = dj_database_url.parse(database_url)
        try:
            # The maintenance database always exists; the test run creates its own.
            psycopg.connect(
                host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"],
                password=config["PASSWORD"] or None, dbname="postgres", connect_timeout=5,
            ).close()  # fmt: skip
        except psycopg.Error as error:
            problems.append(f"PostgreSQL at {config['HOST']}:{config['PORT']} does not answer: {error}")
    if not redis_url:
        problems.append("REDIS_URL is not set")
    else:
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
        except redis.RedisError as error:
            problems.append(f"Redis at {redis_url} does not answer: {error}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("ok: PostgreSQL and Redis answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
