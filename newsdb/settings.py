"""newsdb settings, read from the environment (see .env.example).

SQLite by default, so a fresh clone runs with nothing else installed; PostgreSQL by setting
DATABASE_URL=postgres://user:password@host:5432/newsdb.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("DJANGO_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    # Good enough for a laptop and for tests; production sets DJANGO_SECRET_KEY (docker-compose does).
    SECRET_KEY = "insecure-development-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env_str("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The loader writes in one long transaction; wait for it rather than fail with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Writers take the database's write lock when their transaction starts, so a read-then-write (a version
    # check, the loader's plan) can never be overtaken by another writer between the read and the write.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: every query here is a short indexed read or write, and PostgreSQL's JIT spent about 30 ms compiling
    # the companies page (whose estimated cost crosses jit_above_cost) to run 7 ms of work.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")

# History entries are written by articles.services.history.history_write alone (with the record's lists);
# simple-history's signal writer would add a second, list-less entry on every save.
SIMPLE_HISTORY_ENABLED = False

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "articles",
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
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "newsdb.urls"
WSGI_APPLICATION = "newsdb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide overrides of third-party pages (drf-spectacular's ReDoc page without Google Fonts).
        "DIRS": [BASE_DIR / "newsdb" / "templates"],
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the admin's and the API docs' assets (drf-spectacular-sidecar) from this process, under
# runserver and gunicorn alike; no CDN is reachable. Finders make `collectstatic` optional on a laptop.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    # Token first, so that an anonymous write is answered 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reads are open to anyone; writes need the Django model permission (the editors group has them).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly"],
    "DEFAULT_FILTER_BACKENDS": ["articles.api.filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "articles.api.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": [
        "articles.api.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "articles.api.renderers.CSVRenderer",
        "articles.api.renderers.JSONLinesRenderer",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "articles.api.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "articles.api.negotiation.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "articles.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "articles.api.schema.AutoSchema",
    "ORDERING_PARAM": "ordering",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "newsdb API",
    "DESCRIPTION": (
        "A curated knowledge base of news about the crypto-mining hardware industry: articles, the companies "
        "and people they name, and the events and figures they state, each with its verbatim quote.\n\n"
        "Reads are open. Writes need a user with the model permission (the `editors` group): send "
        "`Authorization: Token <key>` (`python manage.py drf_create_token <username>`). Lists are paginated "
        "with `limit` (default 50, at most 1000) and `offset`. A repeated filter parameter means OR, different "
        "parameters AND; an unknown or malformed parameter is a 400 that names it. Detail responses carry an "
        "`ETag`; send it back in `If-Match` when you update or delete, and a stale one gets 412."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "WARNING")},
}
