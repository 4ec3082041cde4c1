"""ChexWeb settings, read from the environment with strict parsers.

Local defaults (SQLite under var/, Redis on 127.0.0.1, a GraphPipe server on 127.0.0.1:9000) make
`make run` work on a fresh machine; production sets the variables below.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from chexweb.client_address import trusted_proxies_parse
from chexweb.dicom_nodes import (
    ae_title_parse,
    dicomweb_urls_parse,
    listen_parse,
    peers_parse,
    send_to_parse,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """`600/minute`: requests per second, minute, hour or day."""
    value = os.environ.get(name) or default
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must be a rate like 600/minute, got {value!r}")
    return value


LOCKOUT_PARAMETERS = ("username", "ip_address", "user_agent")


def env_lockout_parameters(name: str, default: list) -> list:
    """`username+ip_address` locks a username from one address; `username,ip_address` locks a
    username (from everywhere) and an address (for every username), each on its own failures."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    parameters = []
    for item in value.split(","):
        combined = [part.strip() for part in item.split("+")]
        if not all(part in LOCKOUT_PARAMETERS for part in combined):
            raise ImproperlyConfigured(f"{name}: lockouts by {', '.join(LOCKOUT_PARAMETERS)}, "
                                       f"combined with + and separated by commas, got {value!r}")
        parameters.append(combined[0] if len(combined) == 1 else combined)
    return parameters


DEBUG = env_bool("CHEXWEB_DEBUG", False)
SECRET_KEY = os.environ.get("CHEXWEB_SECRET_KEY", "")
if not SECRET_KEY:
    if not env_bool("CHEXWEB_INSECURE_DEV_KEY", True):
        raise ImproperlyConfigured("CHEXWEB_SECRET_KEY is required")
    SECRET_KEY = "insecure-development-key-set-CHEXWEB_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("CHEXWEB_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CHEXWEB_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "diagnoses",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# The reverse proxies in front (addresses or networks, comma-separated; none by default): only
# from these is X-Forwarded-For read for the client's address (chexweb/client_address.py), which
# the API throttle and the log-in lockout count by.
CHEXWEB_TRUSTED_PROXIES = trusted_proxies_parse(os.environ.get("CHEXWEB_TRUSTED_PROXIES", ""))

# Login throttling (django-axes): a username is locked for a while after repeated failures
# from one client address. The lockout is stored in the database, so every web process sees it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CHEXWEB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CHEXWEB_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = env_lockout_parameters("CHEXWEB_LOGIN_LOCKOUT_PARAMETERS",
                                                 [["username", "ip_address"]])
AXES_CLIENT_IP_CALLABLE = "chexweb.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "chexweb.urls"
WSGI_APPLICATION = "chexweb.wsgi.application"

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
            ],
        },
    },
]

VAR_DIR = Path(os.environ.get("CHEXWEB_VAR_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'chexweb.sqlite3'}",
        conn_max_age=env_int("CHEXWEB_DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,  # a kept connection the database dropped is not handed out
    )
}
# A test run of its own (`make test` runs the suite on SQLite, then on PostgreSQL): a file for
# SQLite, a database name for PostgreSQL.
if os.environ.get("CHEXWEB_TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["CHEXWEB_TEST_DATABASE_NAME"]}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and tests write concurrently: wait for locks, take the write lock up front.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "study-upload"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("CHEXWEB_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = True

# Uploaded studies are patient data: stored outside any public URL, served only by
# permission-checked views.
STUDY_STORAGE_ROOT = Path(os.environ.get("CHEXWEB_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": STUDY_STORAGE_ROOT, "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STUDY_MAX_UPLOAD_BYTES = env_int("CHEXWEB_MAX_UPLOAD_BYTES", 64 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploads are decoded in a child process held to these limits (inference/imaging/isolation.py):
# a decoder bug costs the child, never the web or worker process.
STUDY_DECODE_MEMORY_MB = env_int("CHEXWEB_DECODE_MEMORY_MB", 2048)
STUDY_DECODE_CPU_S = env_int("CHEXWEB_DECODE_CPU_S", 20)
if STUDY_DECODE_MEMORY_MB < 256 or STUDY_DECODE_CPU_S < 1:
    raise ImproperlyConfigured("CHEXWEB_DECODE_MEMORY_MB must be at least 256 and "
                               "CHEXWEB_DECODE_CPU_S at least 1")

# What a study outside CheXNet's intended use (adult frontal chest radiographs) gets:
# `warn` (read, and marked everywhere) or `refuse` (ended as not eligible):
# diagnoses/intended_use.py
CHEXWEB_INTENDED_USE = os.environ.get("CHEXWEB_INTENDED_USE") or "warn"
if CHEXWEB_INTENDED_USE not in ("refuse", "warn"):
    raise ImproperlyConfigured("CHEXWEB_INTENDED_USE must be refuse or warn, "
                               f"got {CHEXWEB_INTENDED_USE!r}")

# The worklist: a study not signed off this long after its upload rises to the top whatever
# its findings (diagnoses/worklist.py).
CHEXWEB_WORKLIST_MAX_WAIT_MINUTES = env_int("CHEXWEB_WORKLIST_MAX_WAIT_MINUTES", 240)
if CHEXWEB_WORKLIST_MAX_WAIT_MINUTES < 1:
    raise ImproperlyConfigured("CHEXWEB_WORKLIST_MAX_WAIT_MINUTES must be at least 1")

# One model server, or several (GRAPHPIPE_URLS, comma-separated): the client goes on to the next
# when one is down. GRAPHPIPE_URL keeps the comma-separated list the client takes.
GRAPHPIPE_URL = ",".join(env_list("GRAPHPIPE_URLS", env_list("GRAPHPIPE_URL",
                                                             ["http://127.0.0.1:9000"])))
if not all(url.startswith(("http://", "https://")) for url in GRAPHPIPE_URL.split(",")):
    raise ImproperlyConfigured("GRAPHPIPE_URL(S) must be http:// or https:// URLs, "
                               "comma-separated")
GRAPHPIPE_CONNECT_TIMEOUT = float(env_int("GRAPHPIPE_CONNECT_TIMEOUT_S", 3))
GRAPHPIPE_READ_TIMEOUT = float(env_int("GRAPHPIPE_READ_TIMEOUT_S", 60))

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Faults (docs/reliability.md). The database is the truth, the broker only carries study ids:
# a message is acknowledged after its task ran and put back when its worker is lost; a worker
# holds one message at a time and never gives up reconnecting to Redis.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A study being diagnosed when Redis goes away is finished and stored, not cancelled.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A task is stopped at the hard limit, long before Redis hands its unacknowledged message to
# another worker (the visibility timeout).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CHEXWEB_TASK_SOFT_TIME_LIMIT_S", 240)
CELERY_TASK_TIME_LIMIT = env_int("CHEXWEB_TASK_TIME_LIMIT_S", 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = False
# Model server unreachable, timed out or 503: retry after 1, 2, 4 ... s (at most the maximum),
# then fail the study as re-runnable.
DIAGNOSIS_MAX_RETRIES = env_int("CHEXWEB_DIAGNOSIS_MAX_RETRIES", 8)
DIAGNOSIS_RETRY_BACKOFF_MAX_S = env_int("CHEXWEB_DIAGNOSIS_RETRY_BACKOFF_MAX_S", 60)
# The sweeper (celery beat, its own queue so a backlog does not hold it up; diagnoses/sweeper.py),
# every CHEXWEB_STUCK_SWEEP_INTERVAL_S:
# - a worker marks the study it diagnoses alive every CHEXWEB_STUDY_HEARTBEAT_S; a study
#   processing without a heartbeat for CHEXWEB_STUCK_PROCESSING_S lost its worker: queued again,
#   or failed once it lost CHEXWEB_STUCK_MAX_WORKER_LOSSES workers or was queued longer ago than
#   CHEXWEB_STUCK_GIVE_UP_S;
# - a study queued and unchanged for CHEXWEB_STUCK_QUEUED_S whose task is in no queue of the
#   broker and held by no worker (or held that long past its due time) gets its task again.
CHEXWEB_STUCK_SWEEP_INTERVAL_S = env_int("CHEXWEB_STUCK_SWEEP_INTERVAL_S", 5)
CHEXWEB_STUDY_HEARTBEAT_S = env_int("CHEXWEB_STUDY_HEARTBEAT_S", 5)
CHEXWEB_STUCK_PROCESSING_S = env_int("CHEXWEB_STUCK_PROCESSING_S", 30)
CHEXWEB_STUCK_QUEUED_S = env_int("CHEXWEB_STUCK_QUEUED_S", 15)
CHEXWEB_STUCK_MAX_WORKER_LOSSES = env_int("CHEXWEB_STUCK_MAX_WORKER_LOSSES", 3)
CHEXWEB_STUCK_GIVE_UP_S = env_int("CHEXWEB_STUCK_GIVE_UP_S", 6 * 3600)
if not (0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT
        < CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]):
    raise ImproperlyConfigured("CHEXWEB_TASK_SOFT_TIME_LIMIT_S < CHEXWEB_TASK_TIME_LIMIT_S < the "
                               "broker's visibility timeout (3600 s) is required")
if not 0 < 3 * CHEXWEB_STUDY_HEARTBEAT_S <= CHEXWEB_STUCK_PROCESSING_S:
    raise ImproperlyConfigured("CHEXWEB_STUCK_PROCESSING_S must be at least three heartbeats "
                               "(CHEXWEB_STUDY_HEARTBEAT_S, positive): a late heartbeat is not a "
                               "lost worker")
if min(CHEXWEB_STUCK_SWEEP_INTERVAL_S, CHEXWEB_STUCK_QUEUED_S,
       CHEXWEB_STUCK_MAX_WORKER_LOSSES) <= 0:
    raise ImproperlyConfigured("CHEXWEB_STUCK_SWEEP_INTERVAL_S, CHEXWEB_STUCK_QUEUED_S and "
                               "CHEXWEB_STUCK_MAX_WORKER_LOSSES must be positive")
if CHEXWEB_STUCK_GIVE_UP_S <= CHEXWEB_STUCK_PROCESSING_S:
    raise ImproperlyConfigured("CHEXWEB_STUCK_GIVE_UP_S must be longer than "
                               "CHEXWEB_STUCK_PROCESSING_S")
# DICOM results have a queue of their own: a worker takes from each queue in turn, so a study's
# results reach the PACS while a backlog of diagnoses waits, not after it.
CELERY_TASK_QUEUES = {"celery": {}, "sweeps": {}, "dicom-results": {}}
CELERY_TASK_ROUTES = {"diagnoses.tasks.sweep_stuck_studies": {"queue": "sweeps"},
                      "diagnoses.tasks.deliver_dicom_results": {"queue": "dicom-results"}}
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"  # in memory: nothing to lose but one interval
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-studies": {
        "task": "diagnoses.tasks.sweep_stuck_studies",
        "schedule": float(CHEXWEB_STUCK_SWEEP_INTERVAL_S),
        "options": {"expires": float(CHEXWEB_STUCK_SWEEP_INTERVAL_S)},
    },
    "expire-abandoned-uploads": {  # pieces of a large upload left half-way for a day
        "task": "diagnoses.tasks.expire_abandoned_uploads",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

# The API (/api/v1/): bearer tokens for systems, the session for the browsable API.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "diagnoses.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["diagnoses.api.throttling.RequestRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("CHEXWEB_API_RATE_USER", "600/minute"),
        "anonymous": env_rate("CHEXWEB_API_RATE_ANONYMOUS", "60/minute"),
    },
    "EXCEPTION_HANDLER": "diagnoses.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "diagnoses.api.schema.ApiAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ChexWeb API",
    "DESCRIPTION": (
        "CheXNet (14 thoracic findings) for PACS bridges, scripts and other hospital systems. "
        "Results of any checkpoint other than the verified published CheXNet weights are not "
        "medical predictions."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "FindingEnum": "inference.findings.FINDINGS",
        "StudyStatusEnum": "diagnoses.models.Study.Status",
        "DicomDeliveryStatusEnum": "diagnoses.models.DicomDelivery.Status",
    },
}
# Status pages wait for a change (diagnoses/status_changes.py): at most this many threads of a
# web process wait at once (of gunicorn's 16, Procfile), each at most this many seconds.
CHEXWEB_STATUS_WAITERS = env_int("CHEXWEB_STATUS_WAITERS", 8)
CHEXWEB_STATUS_WAIT_S = env_int("CHEXWEB_STATUS_WAIT_S", 25)
if CHEXWEB_STATUS_WAITERS < 0 or not 1 <= CHEXWEB_STATUS_WAIT_S <= 50:
    raise ImproperlyConfigured("CHEXWEB_STATUS_WAITERS must be at least 0 and "
                               "CHEXWEB_STATUS_WAIT_S from 1 to 50 (under gunicorn's timeout)")
# API request counts shared by all web workers (diagnoses/api/throttling.py).
CHEXWEB_THROTTLE_REDIS_URL = REDIS_URL
# Callbacks: a signed JSON POST to a study's callback_url when it finishes.
CHEXWEB_CALLBACK_SECRET = os.environ.get("CHEXWEB_CALLBACK_SECRET", "")
CHEXWEB_CALLBACKS_ALLOW_PRIVATE = env_bool("CHEXWEB_CALLBACKS_ALLOW_PRIVATE", False)
CHEXWEB_CALLBACK_MAX_ATTEMPTS = env_int("CHEXWEB_CALLBACK_MAX_ATTEMPTS", 8)
CHEXWEB_CALLBACK_BACKOFF_S = env_int("CHEXWEB_CALLBACK_BACKOFF_S", 10)
CHEXWEB_CALLBACK_TIMEOUT_S = env_int("CHEXWEB_CALLBACK_TIMEOUT_S", 10)

# DICOM (diagnoses/dicom/): the listener (`manage.py dicom_listener`) takes C-STORE from the peers
# only (AE@host:port, comma-separated; none: every association is refused); results (SR and key
# image) go by C-STORE to the peers named in CHEXWEB_DICOM_SEND_TO and by STOW-RS to the DICOMweb
# base URLs in CHEXWEB_DICOMWEB_SEND_TO.
CHEXWEB_DICOM_LISTEN = listen_parse("CHEXWEB_DICOM_LISTEN",
                                    os.environ.get("CHEXWEB_DICOM_LISTEN") or "127.0.0.1:11112")
CHEXWEB_DICOM_AE_TITLE = ae_title_parse("CHEXWEB_DICOM_AE_TITLE",
                                        os.environ.get("CHEXWEB_DICOM_AE_TITLE") or "CHEXWEB")
CHEXWEB_DICOM_PEERS = peers_parse("CHEXWEB_DICOM_PEERS", os.environ.get("CHEXWEB_DICOM_PEERS", ""))
CHEXWEB_DICOM_SEND_TO = send_to_parse("CHEXWEB_DICOM_SEND_TO",
                                      os.environ.get("CHEXWEB_DICOM_SEND_TO", ""),
                                      CHEXWEB_DICOM_PEERS)
CHEXWEB_DICOMWEB_SEND_TO = dicomweb_urls_parse("CHEXWEB_DICOMWEB_SEND_TO",
                                               os.environ.get("CHEXWEB_DICOMWEB_SEND_TO", ""))
CHEXWEB_DICOM_SEND_MAX_ATTEMPTS = env_int("CHEXWEB_DICOM_SEND_MAX_ATTEMPTS", 6)
CHEXWEB_DICOM_SEND_BACKOFF_S = env_int("CHEXWEB_DICOM_SEND_BACKOFF_S", 10)
if CHEXWEB_DICOM_SEND_MAX_ATTEMPTS < 1 or CHEXWEB_DICOM_SEND_BACKOFF_S < 0:
    raise ImproperlyConfigured("CHEXWEB_DICOM_SEND_MAX_ATTEMPTS must be at least 1 and "
                               "CHEXWEB_DICOM_SEND_BACKOFF_S not negative")

# Production (CHEXWEB_PRODUCTION=1): HTTPS only, secure cookies, HSTS, a real secret key.
# `manage.py check --deploy` passes with these (tests/deployment checks it).
PRODUCTION = env_bool("CHEXWEB_PRODUCTION", False)
if PRODUCTION and SECRET_KEY.startswith("insecure-"):
    raise ImproperlyConfigured("CHEXWEB_SECRET_KEY is required when CHEXWEB_PRODUCTION=1")
SESSION_COOKIE_SECURE = env_bool("CHEXWEB_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("CHEXWEB_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("CHEXWEB_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container health checks speak plain HTTP
# /metrics: a staff login, or this bearer token for a Prometheus scraper (empty: staff only).
CHEXWEB_METRICS_TOKEN = os.environ.get("CHEXWEB_METRICS_TOKEN", "")
if CHEXWEB_METRICS_TOKEN and len(CHEXWEB_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("CHEXWEB_METRICS_TOKEN must be at least 32 characters "
                               "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')")
if env_bool("CHEXWEB_BEHIND_TLS_PROXY", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("CHEXWEB_SESSION_SECONDS", 12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CHEXWEB_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
