"""Clientela's one settings module.

Everything that differs between machines comes from the environment: ``DATABASE_URL``,
``CLIENTELA_SECRET_KEY``, ``CLIENTELA_DEBUG``, ``CLIENTELA_ALLOWED_HOSTS`` and the ``CLIENTELA_EMAIL_*``
settings. With nothing set, Clientela runs on SQLite (WAL) under ``var/``.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLIENTELA_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("CLIENTELA_DEBUG")
SECRET_KEY = os.environ.get("CLIENTELA_SECRET_KEY", "")
if not SECRET_KEY:
    # A stable per-installation key under var/, so sessions survive restarts of `make run`.
    # Production sets CLIENTELA_SECRET_KEY (docs/deploy.md).
    _key_file = VAR_DIR / "secret_key"
    try:
        SECRET_KEY = _key_file.read_text().strip()
    except FileNotFoundError:
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = secrets.token_urlsafe(50)
        _key_file.write_text(SECRET_KEY)
        _key_file.chmod(0o600)

ALLOWED_HOSTS = env_list("CLIENTELA_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CLIENTELA_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "clientela.core",
    "clientela.identity",
    "clientela.parties",
    "clientela.sales",
    "clientela.activities",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_tasks_db",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clientela.identity.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clientela.urls"
WSGI_APPLICATION = "clientela.wsgi.application"
ASGI_APPLICATION = "clientela.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "clientela" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clientela.core.context_processors.shell",
            ],
        },
    },
]

# Database: SQLite in WAL mode under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'clientela.sqlite3'}",
        conn_max_age=int(os.environ.get("CLIENTELA_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and the worker go on while one writer writes; IMMEDIATE takes the
        # write lock at BEGIN so that concurrent transactions wait instead of failing mid-way. A 64 MiB
        # page cache and memory-mapped reads keep large tables' indexes in memory (imports at 200k
        # contacts: +24%).
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=5000;PRAGMA cache_size=-65536;"
            "PRAGMA mmap_size=268435456;PRAGMA temp_store=MEMORY"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if DEBUG else 600
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "identity:login"

# Sessions: an idle session ends after CLIENTELA_SESSION_IDLE_MINUTES (8 hours by default);
# every request pushes the expiry forward. Cookies are Secure whenever DEBUG is off.
SESSION_COOKIE_AGE = int(os.environ.get("CLIENTELA_SESSION_IDLE_MINUTES", "480")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("CLIENTELA_HTTPS"):
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Strict Content-Security-Policy: nothing inline, nothing from elsewhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Login throttling: five failures for one account from one address start a cool-off.
AXES_FAILURE_LIMIT = int(os.environ.get("CLIENTELA_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CLIENTELA_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clientela.identity.views.lockout"
AXES_VERBOSE = False

# Languages: English is the source; Spanish, Danish and Hindi are translated in full.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish")), ("da", _("Danish")), ("hi", _("Hindi"))]
LOCALE_PATHS = [BASE_DIR / "clientela" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_COOKIE_NAME = "clientela_language"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it; collectstatic fills it
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

# Email: the console by default; SMTP when CLIENTELA_EMAIL_HOST is set.
DEFAULT_FROM_EMAIL = os.environ.get("CLIENTELA_EMAIL_FROM", "Clientela <clientela@localhost>")
if os.environ.get("CLIENTELA_EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["CLIENTELA_EMAIL_HOST"],
                "port": int(os.environ.get("CLIENTELA_EMAIL_PORT", "587")),
                "username": os.environ.get("CLIENTELA_EMAIL_USER", ""),
                "password": os.environ.get("CLIENTELA_EMAIL_PASSWORD", ""),
                "use_tls": env_bool("CLIENTELA_EMAIL_USE_TLS", default=True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("CLIENTELA_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clientela.identity.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "clientela.core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
    ],
    "EXCEPTION_HANDLER": "clientela.core.api.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clientela API",
    "DESCRIPTION": "The REST API of Clientela, an open-source CRM.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # Imports (and duplicates) name the kind of party record with the same choices.
        "PartyRecordTypeEnum": "clientela.parties.choices.ImportRecordType",
        # Deals' status and stages' outcome share values, as do close reasons' outcomes.
        "DealStatusEnum": "clientela.sales.choices.DealStatus",
        "CloseOutcomeEnum": "clientela.sales.choices.CloseOutcome",
    },
}

# The region assumed for phone numbers typed without a country code.
CLIENTELA_BASE_URL = os.environ.get("CLIENTELA_BASE_URL", "http://127.0.0.1:8000")
CLIENTELA_DEFAULT_PHONE_REGION = os.environ.get("CLIENTELA_DEFAULT_PHONE_REGION", "US")
CLIENTELA_DEFAULT_CURRENCY = os.environ.get("CLIENTELA_DEFAULT_CURRENCY", "USD")
CLIENTELA_API_MAX_PAGE_SIZE = 200
# Public web forms: at most this many submissions per form and address in this many minutes ("5/10").
CLIENTELA_WEBFORM_RATE_LIMIT = os.environ.get("CLIENTELA_WEBFORM_RATE_LIMIT", "5/10")
# How long an API POST's Idempotency-Key is remembered (core/idempotency.py).
CLIENTELA_IDEMPOTENCY_HOURS = int(os.environ.get("CLIENTELA_IDEMPOTENCY_HOURS", "24"))
CLIENTELA_LIST_PAGE_SIZE = 50
# Lists and the API count at most this many matches ("10,000+"); pages go no further (ADR 0017).
CLIENTELA_LIST_COUNT_LIMIT = int(os.environ.get("CLIENTELA_LIST_COUNT_LIMIT", "10000"))
# Imports: files over this size are refused before they are read; rows are written in batches of this
# many, each batch in one transaction (clientela/parties/imports.py).
CLIENTELA_IMPORT_MAX_BYTES = int(
    os.environ.get("CLIENTELA_IMPORT_MAX_BYTES", str(200 * 1024 * 1024))
)
CLIENTELA_IMPORT_BATCH_SIZE = int(os.environ.get("CLIENTELA_IMPORT_BATCH_SIZE", "2000"))
# Bulk changes from the lists and the API touch at most this many records at once (parties/services.py).
CLIENTELA_BULK_MAX = int(os.environ.get("CLIENTELA_BULK_MAX", "50000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CLIENTELA_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
