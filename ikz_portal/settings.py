"""Settings for the IKZ Vorderpfalz appointment portal.

One module, driven by environment variables with safe defaults: with nothing set the portal runs on
an embedded SQLite database, an in-process task runner and a mail folder, which is what the README's
run command and a newcomer need. Production sets DATABASE_URL, REDIS_URL and the mail server.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("IKZ_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


DEBUG = env_bool("DEBUG", False)
# PRODUCTION=1 switches on everything a public deployment needs (HTTPS only, secure cookies, HSTS,
# a required SECRET_KEY, the captcha). Unset, the portal runs for development and tests.
PRODUCTION = env_bool("PRODUCTION", False)


def installation_key(path: Path) -> str:
    """A random key made once for this installation and kept in `path` (readable by its owner only).
    Written beside and linked into place, so processes starting together all read the one winner."""
    import secrets
    import sys

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)
            print(
                f"No SECRET_KEY set: made a random key for this installation in {path}. "
                "Set SECRET_KEY (the same on every host) for production.",
                file=sys.stderr,
            )
        except FileExistsError:
            pass  # another process was first; its key counts
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(draft, path)
        finally:
            if draft.exists():
                os.unlink(draft)
    key = path.read_text().strip()
    if len(key) < 50:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{path} does not hold a usable key: delete it, or set SECRET_KEY.")
    return key


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION or not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        # Refused rather than made up: with DEBUG off this may be one of several hosts, and a key of
        # its own would make every other host's links, sessions and forms invalid here.
        raise ImproperlyConfigured(
            "SECRET_KEY must be set (the same on every host) when DEBUG is off; "
            "for development, set DEBUG=1 (make run does)."
        )
    # Never a key that is published with the code: in development (DEBUG on, as `make run` has it)
    # each installation makes its own, once, in its var/ folder.
    SECRET_KEY = installation_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Behind a TLS-terminating reverse proxy that sets X-Forwarded-Proto (the usual deployment).
    if env_bool("BEHIND_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# A refused form (an expired page, cookies off) gets the portal's own page, with a way back.
CSRF_FAILURE_VIEW = "appointments.web.error_views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "ninja",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "simple_history",
    "offices",
    "appointments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Production behind a proxy with TRUSTED_PROXY_COUNT at 0: one warning in the log.
    "appointments.security.request_checks.ForwardedForWarningMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The API: writes only as JSON (415), bodies within the limit (413), bookings not cached.
    "appointments.security.request_checks.ApiRequestMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks a user verified by a TOTP code (django-otp); the admin can require it.
    "django_otp.middleware.OTPMiddleware",
    # The audit trail (django-simple-history) records the logged-in user of the request as the author.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "appointments.desk.session.StaffSessionMiddleware",  # ends staff sessions after a day or idle time
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database that is restarting, unreachable or timing out answers 503 with Retry-After.
    "appointments.ops.unavailable.DatabaseUnavailableMiddleware",
    # Last: turns a login that django-axes refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ikz_portal.urls"
WSGI_APPLICATION = "ikz_portal.wsgi.application"

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
            ]
        },
    }
]

# --- database ---------------------------------------------------------------------------------
# No DATABASE_URL: the embedded SQLite database. Writers take the lock at BEGIN (IMMEDIATE), so
# two bookings never interleave between their check and their insert.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# On PostgreSQL no request waits long: a statement that runs longer, a lock that is not granted in
# time or a server that does not answer the connection ends in an error, and the portal answers
# 503 with Retry-After (appointments.ops.unavailable) instead of holding the worker. 0 switches one off.
# `manage.py migrate` lifts the statement and lock timeouts for its own connection.
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000)
DATABASE_LOCK_TIMEOUT_MS = env_int("DATABASE_LOCK_TIMEOUT_MS", 3000)
DATABASE_CONNECT_TIMEOUT_SECONDS = env_int("DATABASE_CONNECT_TIMEOUT_SECONDS", 3)


def postgres_options(*, statement_timeout_ms: int, lock_timeout_ms: int, connect_timeout_seconds: int) -> dict:
    """The connection OPTIONS for PostgreSQL: server settings at connection start (no extra round
    trip per request) and libpq's connect timeout."""
    # PostgreSQL's JIT costs far more than it saves on short availability queries.
    flags = ["-c jit=off"]
    if statement_timeout_ms:
        flags.append(f"-c statement_timeout={statement_timeout_ms}")
    if lock_timeout_ms:
        flags.append(f"-c lock_timeout={lock_timeout_ms}")
    options = {"options": " ".join(flags)}
    if connect_timeout_seconds:
        options["connect_timeout"] = connect_timeout_seconds
    return options


if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("CONN_MAX_AGE", 60),
            # A kept connection is tested before a request uses it: after a database restart the
            # first request reconnects instead of failing on the dead connection.
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            postgres_options(
                statement_timeout_ms=DATABASE_STATEMENT_TIMEOUT_MS,
                lock_timeout_ms=DATABASE_LOCK_TIMEOUT_MS,
                connect_timeout_seconds=DATABASE_CONNECT_TIMEOUT_SECONDS,
            )
        )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis accelerates, PostgreSQL decides: a Redis that does not answer may cost a request at most
# about this long (to connect, and then for each reply) before the portal does without it: rate
# limits count in the process, mail waits in the outbox for the sweep.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "0.5"))
# After a failed call a process leaves the cache alone this long (instead of paying the timeout
# at every request) and then tries it again.
REDIS_RETRY_SECONDS = env_int("REDIS_RETRY_SECONDS", 5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# Without a broker the tasks run in-process, right after the transaction that queued them commits.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Europe/Berlin"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that lost the broker reconnects for as long as it takes.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Publishing (a web process queues a send task, beat its schedule) gives up quickly instead: one
# connection attempt with the Redis timeouts, one retry. The outbox row is already committed, and
# the sweep sends it once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
    # How a publishing process connects (the worker's own reconnects follow the setting above).
    "max_retries": 0,
    "interval_start": 0,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The demo's embedded broker: messages are files in var/broker/, no server needed.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Exactly one beat process runs this schedule; the sweeps are idempotent, so a missed or doubled
# run does no harm. Nothing is scheduled days ahead: due messages are found by the sweep, which
# also sends what waited in the outbox while the broker was down.
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "appointments.tasks.sweep", "schedule": float(OUTBOX_SWEEP_SECONDS)},
    "erase-personal-data": {"task": "appointments.tasks.erase_personal_data", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked user name before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling for the staff area and the admin: after AXES_FAILURE_LIMIT failed logins of one
# user name from one client address, that pair is refused for AXES_COOLOFF_MINUTES, even with the
# right password. Administrators lift a lock in the admin ("Access attempts").
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "appointments.security.limits.client_address"  # honours TRUSTED_PROXY_COUNT
AXES_LOCKOUT_CALLABLE = "appointments.desk.login.locked_out"
# Only failures are recorded (and forgotten after the cool-off), not every successful login.
AXES_DISABLE_ACCESS_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
# Two factors (django-otp): staff with a confirmed TOTP device enter its code at login; with
# OTP_REQUIRED_FOR_ADMIN the admin admits only accounts verified that way.
OTP_TOTP_ISSUER = "Kfz-Zulassung Vorderpfalz"
OTP_REQUIRED_FOR_ADMIN = env_bool("OTP_REQUIRED_FOR_ADMIN", False)
# Every staff account needs a device: one without is sent, after its password, to set one up (QR
# code, first code). Whatever this says, an account with a device reaches the staff area and the
# admin only with a session verified by its code.
OTP_REQUIRED_FOR_STAFF = env_bool("OTP_REQUIRED_FOR_STAFF", PRODUCTION)
# A staff session ends this many hours after its login (a working day) and after this many minutes
# without a request; 0 switches either off. Citizens' sessions are not affected.
STAFF_SESSION_MAX_HOURS = env_int("STAFF_SESSION_MAX_HOURS", 10)
STAFF_SESSION_IDLE_MINUTES = env_int("STAFF_SESSION_IDLE_MINUTES", 60)

# --- language and time ------------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Berlin"
USE_TZ = True

# --- static files: served by the portal itself, never from a third-party host ------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# A strict Content-Security-Policy: only the portal's own scripts, styles, images and fonts; no
# inline code. The API's Swagger page styles itself inline, so it is left out (it still loads
# only the portal's own files).
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# The history of configuration and appointments is an audit trail, not an undo: no "revert" button
# (an appointment changes only through the booking service, configuration through its forms).
SIMPLE_HISTORY_REVERT_DISABLED = True

# Forms render through the portal's own crispy pack (templates/portal/): the KERN UX markup of labels,
# hints, error messages and the error summary; no Bootstrap.
CRISPY_ALLOWED_TEMPLATE_PACKS = ("portal",)
CRISPY_TEMPLATE_PACK = "portal"

# --- mail -------------------------------------------------------------------------------------
# Default: every message is written as a file into var/mail/, where a person running the demo
# reads it. Production sets EMAIL_BACKEND to the SMTP backend and EMAIL_HOST & co.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL",
    "Kfz-Zulassung Rhein-Pfalz-Kreis und Stadt Frankenthal (Pfalz) <termine@kfz-zulassung-vorderpfalz.example>",
)

# Absolute address of the portal, used in links inside e-mails.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- booking rules (operators and load tests adjust these) ------------------------------------
HOLD_MINUTES = env_int("HOLD_MINUTES", 10)
UNCONFIRMED_MINUTES = env_int("UNCONFIRMED_MINUTES", 60)
# An unconfirmed booking made through the API must be confirmed sooner (0: UNCONFIRMED_MINUTES).
API_UNCONFIRMED_MINUTES = env_int("API_UNCONFIRMED_MINUTES", 20)
CAPTCHA_ENABLED = env_bool("CAPTCHA_ENABLED", PRODUCTION)
# The captcha's proof of work: PBKDF2 rounds per attempt (a browser makes a few thousand attempts);
# a challenge is valid for CAPTCHA_EXPIRE_MINUTES and each solution counts once.
CAPTCHA_COST = env_int("CAPTCHA_COST", 5000)
CAPTCHA_EXPIRE_MINUTES = env_int("CAPTCHA_EXPIRE_MINUTES", 10)
# Without JavaScript a question replaces the proof of work; a program reads it at once, so an answer
# counts only this many seconds after the question was shown, and such answers have a lower budget.
CAPTCHA_NOJS_WAIT_SECONDS = env_int("CAPTCHA_NOJS_WAIT_SECONDS", 20)
RATE_LIMIT_NOJS = os.environ.get("RATE_LIMIT_NOJS", "5/h")  # answered questions per client address
BOOKING_RATE_LIMIT = os.environ.get("BOOKING_RATE_LIMIT", "30/h")  # API bookings per client address
# Rate limits as count/period (s, m, h, d); "0" switches one off (load tests).
RATE_LIMIT_HOLD = os.environ.get("RATE_LIMIT_HOLD", "20/h")  # holds per client address
RATE_LIMIT_SUBMIT = os.environ.get("RATE_LIMIT_SUBMIT", "10/h")  # submissions per client address
RATE_LIMIT_EMAIL = os.environ.get("RATE_LIMIT_EMAIL", "5/h")  # bookings per e-mail address
RATE_LIMIT_CONFIRM = os.environ.get("RATE_LIMIT_CONFIRM", "30/h")  # confirmations per client address
# Searches for free times (API /slots, the calendar page) per client address and per network
# (IPv4 /24, IPv6 /64); and the longest date range of one API search, in days.
RATE_LIMIT_SEARCH = os.environ.get("RATE_LIMIT_SEARCH", "120/m")
RATE_LIMIT_SEARCH_NETWORK = os.environ.get("RATE_LIMIT_SEARCH_NETWORK", "600/m")
SLOTS_MAX_DAYS = env_int("SLOTS_MAX_DAYS", 31)
# Wrong secrets (or unknown references) in booking links per client address: guessing is refused.
RATE_LIMIT_BAD_TOKEN = os.environ.get("RATE_LIMIT_BAD_TOKEN", "20/h")
# How many upcoming bookings one e-mail address may hold at once (counted by the normalised
# address: case, +tags and, for Gmail, dots do not make a new one).
MAX_ACTIVE_BOOKINGS_PER_EMAIL = env_int("MAX_ACTIVE_BOOKINGS_PER_EMAIL", 2)
# The hoarding budget (appointments/security/hoarding.py): holds and unconfirmed bookings at once per client
# address and per network (IPv4 /24, IPv6 /64), and the share (in per cent) of one office-day's
# online counter-minutes that one network may keep unconfirmed. 0 switches one off.
HOARD_MAX_PER_ADDRESS = env_int("HOARD_MAX_PER_ADDRESS", 3)
HOARD_MAX_PER_NETWORK = env_int("HOARD_MAX_PER_NETWORK", 10)
HOARD_NETWORK_DAY_SHARE_PERCENT = env_int("HOARD_NETWORK_DAY_SHARE_PERCENT", 10)
# A cancelled time is offered online again only after this delay (resellers watch for them).
CANCELLED_SLOT_DELAY_MINUTES = env_int("CANCELLED_SLOT_DELAY_MINUTES", 15)
# Reverse proxies in front of the portal whose X-Forwarded-For is trusted for the client address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
ALTERNATIVES_COUNT = env_int("ALTERNATIVES_COUNT", 5)
NO_SHOW_GRACE_MINUTES = env_int("NO_SHOW_GRACE_MINUTES", 15)  # a no-show only this long after the start

# --- background work --------------------------------------------------------------------------
# Reminder leads in hours before the appointment, e.g. "24" or "24,2" for a second reminder.
REMINDER_LEAD_HOURS = [int(h) for h in os.environ.get("REMINDER_LEAD_HOURS", "24").split(",") if h.strip()]
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
# A dispatcher that claimed a message and died releases it after this many seconds.
NOTIFICATION_CLAIM_SECONDS = env_int("NOTIFICATION_CLAIM_SECONDS", 300)
# One queued send task at a time serves every message committed before it starts (a rush of
# bookings queues a few tasks, not one each). Needs a cache shared with the workers: on with Redis.
OUTBOX_SINGLE_TRIGGER = env_bool("OUTBOX_SINGLE_TRIGGER", bool(REDIS_URL))
OUTBOX_TRIGGER_SECONDS = env_int("OUTBOX_TRIGGER_SECONDS", 30)  # the mark of a queued task expires then
# Personal data (name, e-mail, phone, tokens) is erased this many days after the appointment.
RETENTION_DAYS = env_int("RETENTION_DAYS", 7)
# /healthz/full (monitoring) answers 503 when the last outbox sweep is older than this, when a
# due message has waited longer than HEALTH_MAIL_MAX_DELAY_SECONDS, or when more than
# HEALTH_FAILED_MAILS_MAX messages failed for good in the last HEALTH_FAILED_MAILS_WINDOW_HOURS.
HEALTH_SWEEP_MAX_AGE_SECONDS = env_int("HEALTH_SWEEP_MAX_AGE_SECONDS", 300)
HEALTH_MAIL_MAX_DELAY_SECONDS = env_int("HEALTH_MAIL_MAX_DELAY_SECONDS", 600)
HEALTH_FAILED_MAILS_MAX = env_int("HEALTH_FAILED_MAILS_MAX", 0)
HEALTH_FAILED_MAILS_WINDOW_HOURS = env_int("HEALTH_FAILED_MAILS_WINDOW_HOURS", 24)
# How long each health check may wait for the database or the broker (one try each).
HEALTH_CHECK_TIMEOUT_SECONDS = env_int("HEALTH_CHECK_TIMEOUT_SECONDS", 2)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
