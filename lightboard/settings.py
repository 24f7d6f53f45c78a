"""lightboard settings: one file, driven by environment variables.

With nothing set, lightboard runs the embedded default: DEBUG on, a SQLite file,
Celery tasks executed eagerly in-process and e-mail printed to the console.
With DATABASE_URL and REDIS_URL it runs on PostgreSQL, Redis and real workers.
With DEBUG=0 the production settings (SECRET_KEY, ALLOWED_HOSTS) are required and
lightboard refuses to start without them.
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(name, default):
    """Read a boolean variable; anything but a clear yes/no stops start-up."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name, default, *, minimum=None, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be {bounds}; got {value}")
    return value


def env_date(name):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a date such as 2026-11-25; got {raw!r}") from None


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-lightboard-secret-key-never-use-in-production-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

if DEBUG:
    SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    _missing = [name for name, value in (("SECRET_KEY", SECRET_KEY), ("ALLOWED_HOSTS", ALLOWED_HOSTS)) if not value]
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is off, so lightboard needs production settings: set "
            + " and ".join(_missing)
            + " in the environment (or DEBUG=1 for a development run)."
        )
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be a private random value of at least 50 characters.")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "lightboard.admin.LightboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    # django-axes under a Chinese name in the admin (its models' names come from our catalogue).
    "lightboard.apps.SignInThrottlingConfig",
    "template_partials",
    "lightboard",
    "outbox",
    "tasks",
    "reviews",
    "reports",
    "directory",
    "workapps",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lightboard.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session middleware, plus the idle timeout (SESSION_IDLE_MINUTES).
    "lightboard.sessions.IdleSessionMiddleware",
    "lightboard.middleware.ChineseByDefaultMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "lightboard.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lightboard.urls"
WSGI_APPLICATION = "lightboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lightboard.context_processors.navigation",
                "outbox.context_processors.inbox",
                "reviews.context_processors.commendation",
            ],
        },
    },
    {
        # Only for hot fragments rendered explicitly with using="jinja2" (*.jinja files).
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "lightboard.jinja2.environment", "autoescape": True},
    },
]

# Database: PostgreSQL (psycopg 3) from DATABASE_URL, else a SQLite file.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or postgresql:// address.")
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    # Django reads a form's choices with .iterator(), which on PostgreSQL declares a server-side
    # cursor (a WITH HOLD cursor, kept past its transaction): three round trips per drop-down.
    # lightboard's choice lists are short, and nothing else iterates over a large table.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    # A database that takes the connection and never answers would hold a request (and /readyz,
    # a load balancer's probe) forever: libpq waits without limit unless told.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5, minimum=1, maximum=120
    )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The largest request body accepted at all (five 10 MB evidence files and the form).
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 60 * 1024 * 1024)

# Redis: Celery broker and the cache, else eager Celery and a local-memory cache.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing fails fast when Redis is down or hangs: the outbox row stays pending and the beat
# sweep sends it, so a request that commits notifications never waits long on the broker.
# socket_timeout also stops a publish waiting forever on a half-open connection.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# The longest task is one outbox delivery run (OUTBOX_RUN_SECONDS, then it re-queues itself;
# killed at CELERY_TASK_TIME_LIMIT). Redis hands an unacknowledged task to another worker after
# the visibility timeout, so it is a little longer than that limit, not the default hour.
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 270
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5, "visibility_timeout": 300}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "outbox.tasks.sweep_outbox", "schedule": 30.0},
    # Hourly: each acts once its hour of the day (or week) has come, once per person and day (week).
    "daily-digests": {"task": "outbox.tasks.send_daily_digests", "schedule": 60 * 60.0},
    "weekly-briefing": {"task": "reports.tasks.send_weekly_briefing", "schedule": 60 * 60.0},
    # Hourly is harmless: a reminder's idempotency key carries the day.
    "due-reminders": {"task": "reviews.tasks.send_due_reminders", "schedule": 60 * 60.0},
    # Fails Excel import jobs a killed worker left queued or running, and deletes their uploads.
    "fail-interrupted-imports": {"task": "tasks.imports.fail_interrupted_import_jobs", "schedule": 5 * 60.0},
}

AUTH_USER_MODEL = "tasks.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses sign-in while a username and address are locked out after failures.
    "axes.backends.AxesStandaloneBackend",
    "tasks.backends.ModelBackend",
    "lightboard.auth.AdministratorRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# New passwords are hashed with Argon2id at OWASP's parameters (lightboard.hashers explains why
# not Django's heavier defaults). Older hashes still verify and are rehashed at the user's next
# sign-in: Argon2 with Django's defaults (the same hasher reads its parameters from the hash),
# and PBKDF2 from before, through the hashers after it.
PASSWORD_HASHERS = [
    "lightboard.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

# Login throttling (django-axes, through lightboard.throttling.ThrottlingHandler): waits that
# grow, counted within the cool-off time.
# - After AXES_FAILURE_LIMIT wrong passwords for one username from one address, that pair waits
#   a minute after its last failure, doubling with each further failure up to the cool-off
#   time. Only the pair: someone at another address typing your username does not stop you.
# - After AXES_ADDRESS_FAILURE_LIMIT wrong passwords from one address, whatever the usernames
#   (password spraying), every sign-in from it waits seconds after its last failure, doubling up
#   to five minutes. 0 switches this limit off.
# Attempts refused while waiting are not counted, so they never prolong a wait.
AXES_HANDLER = "lightboard.throttling.ThrottlingHandler"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "locked_out.html"
AXES_VERBOSE = False
# Behind a reverse proxy every request comes from the proxy's address; the client's address is
# then the one the proxy (or the last of TRUSTED_PROXY_COUNT proxies) appended to
# X-Forwarded-For. Without a proxy, X-Forwarded-For is whatever the client sent: ignored.
# BEHIND_TLS_PROXY=1 implies one proxy; a plain-HTTP balancer in front (the compose stack's
# nginx) is declared with TRUSTED_PROXY_COUNT alone.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "lightboard.throttling.client_address"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end SESSION_IDLE_MINUTES after the last request and when the browser closes: an
# unattended screen does not stay signed in. lightboard.sessions.IdleSessionMiddleware moves
# the expiry on after activity (at most one write a minute, instead of SESSION_SAVE_EVERY_REQUEST).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
if SESSION_IDLE_MINUTES < 2:
    raise ImproperlyConfigured(f"SESSION_IDLE_MINUTES must be at least 2; got {SESSION_IDLE_MINUTES}")
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# Messages wait in the session on the server, not in a cookie: one of them is an API token shown once.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Django's database sessions, read on every request by a statement written once (lightboard.sessions).
SESSION_ENGINE = "lightboard.sessions"

# Interface language: Simplified Chinese by default, English on request.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development WhiteNoise serves static files straight from the finders; collectstatic
# (production) writes them to STATIC_ROOT.
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT = os.environ.get("STATIC_ROOT") or (None if DEBUG else str(BASE_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Uploaded evidence: a directory (MEDIA_ROOT; on several machines a shared mount such as NFS), or
# S3-compatible object storage (MEDIA_STORAGE=s3: AWS S3, MinIO, Ceph, OSS…) through django-storages.
# Either way files are read through the storage API and served by lightboard's own views, which
# check access first: the bucket stays private and needs no public URL.
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "filesystem").strip().lower() or "filesystem"
if MEDIA_STORAGE == "filesystem":
    _MEDIA_BACKEND = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif MEDIA_STORAGE == "s3":
    if not os.environ.get("S3_BUCKET"):
        raise ImproperlyConfigured("MEDIA_STORAGE=s3: set S3_BUCKET (and S3_ENDPOINT_URL for storage other than AWS).")
    _MEDIA_BACKEND = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["S3_BUCKET"],
            # Unset: AWS; else the S3-compatible service's address, e.g. http://minio:9000.
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            # Unset: boto3 finds credentials itself (instance profile, IAM role, ~/.aws).
            "access_key": os.environ.get("S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,  # the bucket's own policy: private
            "querystring_auth": True,
            "file_overwrite": False,  # two uploads of one name keep both, as on a directory
        },
    }
else:
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3; got {MEDIA_STORAGE!r}")
STORAGES = {
    "default": _MEDIA_BACKEND,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: SMTP when EMAIL_HOST is set, else printed to the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
if os.environ.get("EMAIL_BACKEND"):
    # e.g. django.core.mail.backends.filebased.EmailBackend with EMAIL_FILE_PATH (tests, audits)
    EMAIL_BACKEND = os.environ["EMAIL_BACKEND"]
    EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "lightboard <lightboard@localhost>")
# The outbox: a message whose e-mail keeps failing is retried (backing off to every 30 minutes)
# for this long after it was written, then marked failed for an administrator to re-queue.
OUTBOX_GIVE_UP_HOURS = env_int("OUTBOX_GIVE_UP_HOURS", 72, minimum=1)
# A worker claims this many due messages at a time and sends them over one SMTP connection.
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 100, minimum=1, maximum=10_000)
# The daily digest goes at this local hour; the weekly briefing on this weekday (1 = Monday).
DIGEST_HOUR = env_int("DIGEST_HOUR", 8, minimum=0, maximum=23)
BRIEFING_WEEKDAY = env_int("BRIEFING_WEEKDAY", 1, minimum=1, maximum=7)
LIGHTBOARD_MAIL_DOMAIN = os.environ.get("LIGHTBOARD_MAIL_DOMAIN", "lightboard.local")
# Pin the date lightboard takes as today (demo and training copies, with DEBUG on); unset: the
# real date. Times of day stay real: a pinned copy is for showing a point of the year, not for work.
LIGHTBOARD_TODAY = env_date("LIGHTBOARD_TODAY")
if LIGHTBOARD_TODAY and not DEBUG:
    raise ImproperlyConfigured("LIGHTBOARD_TODAY pins the date for demos; unset it when DEBUG is off.")
# The address users reach lightboard at, for links in e-mail.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. Production behind TLS gets secure cookies and HSTS; an intranet without
# TLS must switch them off explicitly (SECURE_SSL_REDIRECT=0 and friends).
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Load balancers probe each node over plain HTTP: the probes answer there, not with a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if BEHIND_TLS_PROXY:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every reset at INFO; lockouts (WARNING) still show.
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Directory sign-in (LDAP / Active Directory), the SSO gateway and directory sync (directory/) ---

# Directory sign-in is on when LDAP_SERVER_URI is set (ldap://… with LDAP_START_TLS, or ldaps://).
# Without it nothing changes and python-ldap need not be installed (the `directory` extra).
# The defaults suit OpenLDAP; LDAP_KIND=active_directory switches them to Active Directory's.
LDAP_SERVER_URI = os.environ.get("LDAP_SERVER_URI", "").strip()
LDAP_KIND = os.environ.get("LDAP_KIND", "openldap").strip() or "openldap"
if LDAP_KIND not in ("openldap", "active_directory"):
    raise ImproperlyConfigured(f"LDAP_KIND must be openldap or active_directory; got {LDAP_KIND!r}")
_AD = LDAP_KIND == "active_directory"
LDAP_BIND_DN = os.environ.get("LDAP_BIND_DN", "")
LDAP_BIND_PASSWORD = os.environ.get("LDAP_BIND_PASSWORD", "")
LDAP_START_TLS = env_bool("LDAP_START_TLS", False)
LDAP_CA_CERT_FILE = os.environ.get("LDAP_CA_CERT_FILE", "")
LDAP_TIMEOUT = env_int("LDAP_TIMEOUT", 5, minimum=1, maximum=120)
LDAP_USER_SEARCH_BASE = os.environ.get("LDAP_USER_SEARCH_BASE", "")
LDAP_USERNAME_ATTRIBUTE = os.environ.get("LDAP_USERNAME_ATTRIBUTE") or ("sAMAccountName" if _AD else "uid")
# The filter finding a person by the name typed at sign-in; with * for %(user)s it lists everyone to sync.
LDAP_USER_FILTER = os.environ.get("LDAP_USER_FILTER") or f"({LDAP_USERNAME_ATTRIBUTE}=%(user)s)"
# entryUUID / objectGUID survive renames and moves, unlike the DN.
LDAP_ID_ATTRIBUTE = os.environ.get("LDAP_ID_ATTRIBUTE") or ("objectGUID" if _AD else "entryUUID")
LDAP_NAME_ATTRIBUTE = os.environ.get("LDAP_NAME_ATTRIBUTE") or ("displayName" if _AD else "cn")
LDAP_EMAIL_ATTRIBUTE = os.environ.get("LDAP_EMAIL_ATTRIBUTE") or "mail"
LDAP_WECOM_ATTRIBUTE = os.environ.get("LDAP_WECOM_ATTRIBUTE", "")
LDAP_DINGTALK_ATTRIBUTE = os.environ.get("LDAP_DINGTALK_ATTRIBUTE", "")
LDAP_GROUP_SEARCH_BASE = os.environ.get("LDAP_GROUP_SEARCH_BASE", "")
LDAP_GROUP_TYPE = os.environ.get("LDAP_GROUP_TYPE") or ("activeDirectory" if _AD else "groupOfNames")
if LDAP_GROUP_TYPE not in ("groupOfNames", "groupOfUniqueNames", "posixGroup", "activeDirectory"):
    raise ImproperlyConfigured(
        "LDAP_GROUP_TYPE must be groupOfNames, groupOfUniqueNames, posixGroup or activeDirectory; "
        f"got {LDAP_GROUP_TYPE!r}"
    )
# A disabled directory account is refused and its lightboard user made inactive: members of
# LDAP_DISABLED_GROUP, and entries matching LDAP_DISABLED_FILTER (by default a password-policy
# lock in OpenLDAP, the "account disabled" flag of userAccountControl in Active Directory).
LDAP_DISABLED_GROUP = os.environ.get("LDAP_DISABLED_GROUP", "")
LDAP_DISABLED_FILTER = os.environ.get("LDAP_DISABLED_FILTER") or (
    "(userAccountControl:1.2.840.113556.1.4.803:=2)" if _AD else "(pwdAccountLockedTime=*)"
)
# Units for `manage.py sync_directory`: each organisational unit below the base is a department
# (or a subsidiary, by LDAP_UNIT_KIND_ATTRIBUTE), with its short code and name from attributes.
LDAP_UNIT_SEARCH_BASE = os.environ.get("LDAP_UNIT_SEARCH_BASE", "")
LDAP_UNIT_FILTER = os.environ.get("LDAP_UNIT_FILTER") or "(objectClass=organizationalUnit)"
LDAP_UNIT_CODE_ATTRIBUTE = os.environ.get("LDAP_UNIT_CODE_ATTRIBUTE") or "ou"
LDAP_UNIT_NAME_ATTRIBUTE = os.environ.get("LDAP_UNIT_NAME_ATTRIBUTE") or "description"
LDAP_UNIT_KIND_ATTRIBUTE = os.environ.get("LDAP_UNIT_KIND_ATTRIBUTE") or "businessCategory"
if LDAP_SERVER_URI:
    if not LDAP_SERVER_URI.startswith(("ldap://", "ldaps://")):
        raise ImproperlyConfigured("LDAP_SERVER_URI must be an ldap:// or ldaps:// address.")
    if not LDAP_USER_SEARCH_BASE:
        raise ImproperlyConfigured("LDAP_SERVER_URI is set: set LDAP_USER_SEARCH_BASE too (where people are).")
    if "%(user)s" not in LDAP_USER_FILTER:
        raise ImproperlyConfigured("LDAP_USER_FILTER must contain %(user)s, e.g. (uid=%(user)s).")
    # After the local passwords: administrators and the demo sign in without asking the directory.
    AUTHENTICATION_BACKENDS.insert(
        AUTHENTICATION_BACKENDS.index("tasks.backends.ModelBackend") + 1,
        "directory.backends.DirectoryBackend",
    )
# Every DIRECTORY_SYNC_MINUTES, Celery beat runs the directory sync (applying it); 0 never.
DIRECTORY_SYNC_MINUTES = env_int("DIRECTORY_SYNC_MINUTES", 0, minimum=0)
if DIRECTORY_SYNC_MINUTES and LDAP_SERVER_URI:
    CELERY_BEAT_SCHEDULE["sync-directory"] = {
        "task": "directory.tasks.sync_directory",
        "schedule": DIRECTORY_SYNC_MINUTES * 60.0,
    }

# The SSO gateway: a reverse proxy that signs people in and names them in SSO_HEADER (REMOTE_USER,
# or a request header such as X-Remote-User). The header counts only on requests from
# SSO_TRUSTED_PROXIES (addresses or networks); from anywhere else it is dropped.
SSO_HEADER = os.environ.get("SSO_HEADER", "").strip()
if SSO_HEADER and SSO_HEADER != "REMOTE_USER" and not SSO_HEADER.startswith("HTTP_"):
    SSO_HEADER = "HTTP_" + SSO_HEADER.upper().replace("-", "_")
SSO_TRUSTED_PROXIES = env_list("SSO_TRUSTED_PROXIES")
if SSO_HEADER:
    import ipaddress

    if not SSO_TRUSTED_PROXIES:
        raise ImproperlyConfigured("SSO_HEADER is set: set SSO_TRUSTED_PROXIES to the gateway's addresses too.")
    for _proxy in SSO_TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(_proxy, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"SSO_TRUSTED_PROXIES must list addresses or networks (10.0.0.5, 10.0.0.0/24); got {_proxy!r}"
            ) from None
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "directory.gateway.GatewayMiddleware",
    )
    AUTHENTICATION_BACKENDS.append("directory.gateway.GatewayBackend")

# --- WeCom (企业微信) and DingTalk (钉钉): message channels and sign-in inside the apps (workapps/) ---
# Each app is on when all of its variables are set (a partial set stops start-up): its users with
# a WeCom/DingTalk user id then get every message that is e-mailed at once also as an app message,
# and can sign in from inside the app. The base addresses point the clients at the real services
# by default, and at a local stand-in in the tests.
WECOM_CORP_ID = os.environ.get("WECOM_CORP_ID", "").strip()
WECOM_AGENT_ID = env_int("WECOM_AGENT_ID", None, minimum=1)
WECOM_SECRET = os.environ.get("WECOM_SECRET", "").strip()
WECOM_API_BASE = os.environ.get("WECOM_API_BASE", "https://qyapi.weixin.qq.com").rstrip("/")
WECOM_AUTHORIZE_URL = os.environ.get("WECOM_AUTHORIZE_URL", "https://open.weixin.qq.com/connect/oauth2/authorize")
DINGTALK_APP_KEY = os.environ.get("DINGTALK_APP_KEY", "").strip()
DINGTALK_APP_SECRET = os.environ.get("DINGTALK_APP_SECRET", "").strip()
DINGTALK_AGENT_ID = env_int("DINGTALK_AGENT_ID", None, minimum=1)
DINGTALK_OAPI_BASE = os.environ.get("DINGTALK_OAPI_BASE", "https://oapi.dingtalk.com").rstrip("/")
DINGTALK_API_BASE = os.environ.get("DINGTALK_API_BASE", "https://api.dingtalk.com").rstrip("/")
DINGTALK_AUTHORIZE_URL = os.environ.get("DINGTALK_AUTHORIZE_URL", "https://login.dingtalk.com/oauth2/auth")
for _app, _names in {
    "WeCom": ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET"),
    "DingTalk": ("DINGTALK_APP_KEY", "DINGTALK_APP_SECRET", "DINGTALK_AGENT_ID"),
}.items():
    _unset = [name for name in _names if not globals()[name]]
    if 0 < len(_unset) < len(_names):
        raise ImproperlyConfigured(f"{_app} needs all of {', '.join(_names)}; {', '.join(_unset)} not set.")
# Seconds any call to WeCom or DingTalk may take (connect, and then each read).
WORKAPPS_TIMEOUT = env_int("WORKAPPS_TIMEOUT", 10, minimum=1, maximum=120)
# Sign in from inside the apps (OAuth code flow); 0 keeps the apps for messages only.
WORKAPPS_SIGNIN = env_bool("WORKAPPS_SIGNIN", True)

# --- The JSON API for integrations, /api/v1/ (api/) ---
# django-ninja serves the API; as an installed app it also brings Swagger UI's files, served from
# our own static files (no CDN: the docs page at /api/v1/docs works on a closed intranet).
INSTALLED_APPS.append("ninja")
# Requests a minute per integration token (over it: 429 with Retry-After), counted in the cache.
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 120, minimum=1)
