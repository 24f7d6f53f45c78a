"""Settings come from the environment and bad or missing production settings stop start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SECRET = "x7!Kp2@qL9#vR4$wZ8%mN3^tB6&yH1*cD5(fG0)jS-e_uA+iO=lP~rT/kQ?bV<nM>"


def run_manage(*args, **env_overrides):
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not reach a production check.
    dropped = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_database_follows_database_url():
    if os.environ.get("DATABASE_URL"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor == "sqlite"


def test_redis_url_gives_a_redis_cache_and_real_workers():
    if os.environ.get("REDIS_URL"):
        assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert settings.CELERY_TASK_ALWAYS_EAGER is False
        cache.set("lightboard-settings-test", "reached redis", timeout=10)
        assert cache.get("lightboard-settings-test") == "reached redis"
    else:
        assert settings.CELERY_TASK_ALWAYS_EAGER is True


def test_production_settings_pass_the_deploy_check():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=PRODUCTION_SECRET,
        ALLOWED_HOSTS="lightboard.example.cn",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_secret_key_stops_with_a_clear_message():
    result = run_manage("check", DEBUG="0", ALLOWED_HOSTS="lightboard.example.cn")
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_debug_off_without_allowed_hosts_stops_with_a_clear_message():
    result = run_manage("check", DEBUG="0", SECRET_KEY=PRODUCTION_SECRET)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_short_secret_key_is_refused():
    result = run_manage("check", DEBUG="0", SECRET_KEY="short", ALLOWED_HOSTS="example.cn")
    assert result.returncode != 0
    assert "SECRET_KEY must be a private random value" in result.stderr


def test_unreadable_boolean_is_refused():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("OUTBOX_BATCH_SIZE", "0", "OUTBOX_BATCH_SIZE must be from 1 to 10000; got 0"),
        ("OUTBOX_GIVE_UP_HOURS", "-3", "OUTBOX_GIVE_UP_HOURS must be at least 1; got -3"),
        ("DIGEST_HOUR", "24", "DIGEST_HOUR must be from 0 to 23; got 24"),
        ("BRIEFING_WEEKDAY", "8", "BRIEFING_WEEKDAY must be from 1 to 7; got 8"),
    ],
)
def test_an_outbox_setting_out_of_range_stops_start_up(name, value, message):
    result = run_manage("check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_database_url_for_another_database_is_refused():
    result = run_manage("check", DATABASE_URL="mysql://root@localhost/lightboard")
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres://" in result.stderr


CLIENT_ADDRESS = (
    "from django.test import RequestFactory; from axes.helpers import get_client_ip_address; "
    "request = RequestFactory().post('/accounts/login/', REMOTE_ADDR='10.0.0.254', "
    "HTTP_X_FORWARDED_FOR='198.51.100.1, 203.0.113.7'); print(get_client_ip_address(request))"
)


@pytest.mark.parametrize(
    "env, address",
    [
        # Straight to gunicorn: X-Forwarded-For is the client's own writing, ignored.
        ({}, "10.0.0.254"),
        # Behind the TLS proxy: the address it appended.
        (
            {"DEBUG": "0", "SECRET_KEY": PRODUCTION_SECRET, "ALLOWED_HOSTS": "lb.example.cn", "BEHIND_TLS_PROXY": "1"},
            "203.0.113.7",
        ),
        # Behind a load balancer and the TLS proxy.
        ({"BEHIND_TLS_PROXY": "1", "TRUSTED_PROXY_COUNT": "2"}, "198.51.100.1"),
        # Behind a plain-HTTP balancer (the compose stack's nginx), declared on its own.
        ({"TRUSTED_PROXY_COUNT": "1"}, "203.0.113.7"),
    ],
)
def test_sign_in_throttling_takes_the_client_address_as_the_proxy_setting_says(env, address):
    result = run_manage("shell", "-c", CLIENT_ADDRESS, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == address


STORAGE_IN_USE = (
    "from django.core.files.storage import storages; s = storages['default']; "
    "print(type(s).__module__ + '.' + type(s).__name__, getattr(s, 'bucket_name', '-'), "
    "getattr(s, 'endpoint_url', '-'), getattr(s, 'default_acl', '-'), getattr(s, 'file_overwrite', '-'))"
)


def test_uploaded_evidence_goes_to_the_media_directory_by_default():
    result = run_manage("shell", "-c", STORAGE_IN_USE, MEDIA_STORAGE="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split()[0] == "django.core.files.storage.filesystem.FileSystemStorage"


def test_media_storage_s3_keeps_evidence_in_a_private_bucket():
    result = run_manage(
        "shell", "-c", STORAGE_IN_USE,
        MEDIA_STORAGE="s3", S3_BUCKET="lightboard-evidence", S3_ENDPOINT_URL="http://minio.internal:9000",
        S3_ACCESS_KEY_ID="key-id", S3_SECRET_ACCESS_KEY="secret", S3_REGION="cn-north-1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "storages.backends.s3.S3Storage", "lightboard-evidence", "http://minio.internal:9000", "None", "False",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be filesystem or s3; got 'ftp'"),
        ({"MEDIA_STORAGE": "s3"}, "MEDIA_STORAGE=s3: set S3_BUCKET"),
    ],
)
def test_an_unknown_or_incomplete_media_storage_stops_start_up(env, message):
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_database_that_takes_the_connection_and_never_answers_is_given_up_on():
    """libpq waits without limit by default; DB_CONNECT_TIMEOUT bounds it, so a stalled database
    cannot hold a request or a load balancer's /readyz probe forever."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts (in the kernel's backlog) and never says a word
    try:
        port = listener.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from django.db import connection; connection.ensure_connection()",
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/none", "DB_CONNECT_TIMEOUT": "2"},
            capture_output=True,
            text=True,
            timeout=60,  # without the connect timeout this would hang until killed here
        )
    finally:
        listener.close()
    assert result.returncode != 0
    assert "timeout" in result.stderr.lower()
