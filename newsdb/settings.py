"""newsdb settings, read from the environment (see .env.example).

SQLite by default, so a fresh clone runs with nothing else installed; PostgreSQL by setting
DATABASE_URL=postgres://user:password@host:5432/newsdb.
"""

import datetime
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


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):
        raise ImproperlyConfigured(f"{name} must be a number of zero or more, not {value!r}")
    return number


def env_rate(name: str, default: str) -> str | None:
    """A throttle rate such as ``100/minute`` (per second, minute, hour or day); ``off`` turns that throttle off."""
    value = os.environ.get(name) or default
    if value.lower() in {"off", "none", "0"}:
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or period[:1] not in {"s", "m", "h", "d"}:
        raise ImproperlyConfigured(f"{name} must be a rate such as 100/minute (or off), not {value!r}")
    return value


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # manage.py and newsdb/gunicorn.conf.py print this one line and exit; nothing serves on a published key.
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), or set DJANGO_DEBUG=true on a developer's machine."
        )
    # A developer's machine only (DEBUG on); the prefix makes `check --deploy` flag it.
    SECRET_KEY = "django-insecure-development-key-set-DJANGO_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# HTTPS, for a deployment behind a proxy that terminates TLS (README, "Running in production"). All off by
# default, so that http://127.0.0.1:8000/ keeps working on a laptop.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
# "HTTP_X_FORWARDED_PROTO,https": the header (as Django names it) and the value the proxy sets for HTTPS. Set it
# only behind a proxy that always sets (or strips) that header, or a client could claim HTTPS.
_proxy_ssl_header = env_list("DJANGO_SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "DJANGO_SECURE_PROXY_SSL_HEADER must be a header and its value, e.g. HTTP_X_FORWARDED_PROTO,https"
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", False)

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
    #
    # random_page_cost 1.1 (PostgreSQL's default, 4, prices a spinning disk): with the working set in memory or on
    # SSD, fetching 600 rows by key costs about what reading 600 rows in order does. At 4, PostgreSQL chose to walk
    # all events in date order probing each for a company's participation (45 ms for /api/events/?company=X at
    # 100k articles, 350 ms at p50 under load) over fetching that company's 600 events and sorting them (5 ms);
    # the two plans' estimates were within 0.1% of each other, so the choice flipped with each ANALYZE sample.
    _random_page_cost = env_float("DATABASE_RANDOM_PAGE_COST", 1.1)
    _planner = f"-c jit=off -c random_page_cost={_random_page_cost}"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", _planner)

# Connection pooling (PostgreSQL, Django's psycopg pool): each process keeps DATABASE_POOL_MIN_SIZE to
# DATABASE_POOL_MAX_SIZE open connections and lends one to each request. Django refuses a pool with persistent
# connections, so DATABASE_CONN_MAX_AGE does not apply (it is set to 0).
if env_bool("DATABASE_POOL", False):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOL=true needs a PostgreSQL DATABASE_URL (SQLite has no pool)")
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1),
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 4),
        # Seconds a request waits for a free connection before it fails.
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
    }

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
    "axes",
    "articles",
]

MIDDLEWARE = [
    # /healthz and /readyz first: a probe needs no allowed Host, no HTTPS and no session, and is not logged.
    "newsdb.middleware.HealthMiddleware",
    "newsdb.middleware.RequestLogMiddleware",
    "newsdb.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: answers a locked-out login with its 429.
    "axes.middleware.AxesMiddleware",
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

# Login lockout (django-axes), for the admin's and the browsable API's login forms: after
# DJANGO_AXES_FAILURE_LIMIT failed logins from one address, or for one username, the next login (even with the
# right password) is refused with a 429 for DJANGO_AXES_COOLOFF_MINUTES (0: until `manage.py axes_reset`).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("DJANGO_AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("DJANGO_AXES_COOLOFF_MINUTES", 15)) or None
# Comma-separated: each item locks on its own; "username+ip_address" locks that pair only.
AXES_LOCKOUT_PARAMETERS = [
    item.split("+") if "+" in item else item
    for item in env_list("DJANGO_AXES_LOCKOUT_PARAMETERS", "ip_address,username")
]
AXES_RESET_ON_SUCCESS = True
# The client's address as the throttles see it (REMOTE_ADDR, or X-Forwarded-For behind DJANGO_NUM_PROXIES proxies).
AXES_CLIENT_IP_CALLABLE = "articles.api.throttling.client_ip"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the admin's and the API docs' assets (drf-spectacular-sidecar) from this process, under
# runserver and gunicorn alike; no CDN is reachable. Finders make `collectstatic` optional on a laptop.
WHITENOISE_USE_FINDERS = True
# Files served at the site's root: /favicon.ico.
WHITENOISE_ROOT = BASE_DIR / "newsdb" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "admin:login"
CSRF_FAILURE_VIEW = "articles.api.errors.csrf_failure"

# Request limits (README, "Running in production"). A body over DATA_UPLOAD_MAX_MEMORY_SIZE bytes is a 413, a URL
# (path and query string) over NEWSDB_MAX_URL_LENGTH characters a 414: keep gunicorn's limit_request_line above it
# (newsdb/gunicorn.conf.py). An article's body (and a quote) is at most NEWSDB_MAX_ARTICLE_LENGTH characters.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
NEWSDB_MAX_URL_LENGTH = env_int("NEWSDB_MAX_URL_LENGTH", 8000)
NEWSDB_MAX_ARTICLE_LENGTH = env_int("NEWSDB_MAX_ARTICLE_LENGTH", 200_000)

# The rate limits' counters (articles/api/throttling.py): in each process's memory, or shared by every process
# on the machine in files under DJANGO_CACHE_DIR (gunicorn runs several).
_cache_dir = env_str("DJANGO_CACHE_DIR", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": _cache_dir}
        if _cache_dir
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK = {
    # Token first, so that an anonymous write is answered 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "articles.api.throttling.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Rate limits per address (anonymous), per user, and for failed tokens per address: a JSON 429 with
    # Retry-After past them. "off" turns one off.
    "DEFAULT_THROTTLE_CLASSES": [
        "articles.api.throttling.AnonRateThrottle",
        "articles.api.throttling.UserRateThrottle",
        "articles.api.throttling.ExpensiveRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("DJANGO_THROTTLE_ANON", "120/minute"),
        "user": env_rate("DJANGO_THROTTLE_USER", "1200/minute"),
        "bad_token": env_rate("DJANGO_THROTTLE_BAD_TOKEN", "10/minute"),
        # Exports and the whole consistency report (articles.api.throttling.ExpensiveRateThrottle).
        "anon_expensive": env_rate("DJANGO_THROTTLE_ANON_EXPENSIVE", "6/minute"),
        "user_expensive": env_rate("DJANGO_THROTTLE_USER_EXPENSIVE", "60/minute"),
    },
    # Behind N proxies, the client is the Nth address from the right of X-Forwarded-For; 0: REMOTE_ADDR.
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 0),
    # Reads are open to anyone; writes need the Django model permission (the editors group has them).
    "DEFAULT_PERMISSION_CLASSES": ["articles.api.permissions.ModelPermissionsOrAnonReadOnly"],
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
    # Figures and events both have a "status", with different choices: each its own named enum.
    "ENUM_NAME_OVERRIDES": {
        "ReviewStatusEnum": "articles.choices.ReviewStatus",
        "EventStatusEnum": "articles.choices.EventStatus",
    },
}

# DJANGO_LOG_FORMAT=json: every log line is one JSON object, and every request is logged (newsdb.requests: method,
# path, status, duration_ms, user). text (the default): plain lines, requests only with DJANGO_LOG_LEVEL=INFO.
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "text").lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "newsdb.logs.JSONFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", **({"formatter": "json"} if LOG_FORMAT == "json" else {})}
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "WARNING")},
    "loggers": {"newsdb.requests": {"level": "INFO"}} if LOG_FORMAT == "json" else {},
}

# --- Scaling out: statement timeout, read replicas, overload (README "Scaling out") ---------------------------------
# newsdb/routers.py and newsdb/overload.py read these. This block stays last: it copies the primary's final settings
# (connection pool, options) to the replicas.

# PostgreSQL cancels a statement that runs longer than this (0: no limit); the request is answered 503 with
# Retry-After. newsdb/gunicorn.conf.py sets 5000 for the web server; manage.py commands (migrate, load_fixtures)
# have no limit unless it is set.
DATABASE_STATEMENT_TIMEOUT_MS = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 0)
# Behind PgBouncer (or another pooler) in transaction mode: no prepared statements, and no `options` startup parameter
# (PgBouncer refuses it: set jit, random_page_cost and statement_timeout on the database). Server-side cursors stay:
# the one reader that uses them, the exports, then reads in a transaction, where its cursor lives on one server
# connection (articles/api/rows.py, _cursor_transaction); without them an export held every row in the worker.
# Any other QuerySet.iterator() must do the same.
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)
# PostgreSQL: send parameters apart from the SQL (psycopg's server-side binding) and prepare a statement once it has
# run five times on a connection, so that PostgreSQL parses and analyses each list's queries once per connection
# instead of on every request (each run is still planned for its values: see below). Lists cost 10-25% less a
# request. Writes that fire the triggers on many rows have them planned once, as without it (a load:
# services.fixtures; a merge: services.base.triggers_planned_once). After a migration that changes a column's type,
# restart the web workers (a statement prepared before it fails until its connection is replaced). Off behind
# PgBouncer; false turns it off.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
# Streaming replicas (comma-separated URLs) that serve reads: DATABASES gains replica_0, replica_1, ...
DATABASE_REPLICAS: list[str] = []
# A client that wrote reads from the primary for this many seconds after (0: never).
DATABASE_READ_YOUR_WRITES_SECONDS = env_int("DATABASE_READ_YOUR_WRITES_SECONDS", 5)
# A replica that cannot be reached is left out for this many seconds, by each process that found it down.
DATABASE_REPLICA_RETRY_SECONDS = env_int("DATABASE_REPLICA_RETRY_SECONDS", 10)
# true: every response names the databases that served it (X-Database: replica_0), for tests and checks.
DATABASE_ROUTING_HEADER = env_bool("DATABASE_ROUTING_HEADER", False)
# A request that waited longer than this for a gunicorn worker is answered 503 at once (0: never).
REQUEST_QUEUE_TIMEOUT_MS = env_int("REQUEST_QUEUE_TIMEOUT_MS", 1000)
# The Retry-After of those 503s, and of a database that timed out or is unreachable.
REQUEST_RETRY_AFTER_SECONDS = env_int("REQUEST_RETRY_AFTER_SECONDS", 2)


def prepared_statements(options: dict) -> None:
    """Connection options for ``DATABASE_PREPARED_STATEMENTS`` (PostgreSQL): values sent apart from the SQL, a query
    prepared after five runs, and every run still planned for its own values: a plan made once for any value
    (PostgreSQL's "generic" plan, which it may switch to after five runs) read figures?offset=150000 in 3.5 s instead
    of 0.36 s, from the eleventh request on. Parsing and analysing once, and the values sent apart, are what is
    kept."""
    options["server_side_binding"] = True
    options["prepare_threshold"] = 5
    options["options"] = f"{options.get('options', '')} -c plan_cache_mode=force_custom_plan".strip()


if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASE_STATEMENT_TIMEOUT_MS > 0:
        _options["options"] = f"{_options.get('options', '')} -c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}"
        _options["options"] = _options["options"].strip()
    if DATABASE_PREPARED_STATEMENTS and not DATABASE_PGBOUNCER:
        prepared_statements(_options)
    if DATABASE_PGBOUNCER:
        _options["prepare_threshold"] = None
        _options.pop("options", None)

for _index, _url in enumerate(env_list("DATABASE_REPLICA_URLS", "")):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL (replicas stream from it)")
    _replica = dj_database_url.parse(_url, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"], conn_health_checks=True)
    if _replica["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS: replica {_index} is not a postgres:// URL")
    # The primary's options (pool, jit, statement timeout), a short connect timeout so that a replica that is
    # down costs little, and the primary's test database in tests (a replica has no test database of its own).
    _replica["OPTIONS"] = {
        **{k: (dict(v) if isinstance(v, dict) else v) for k, v in DATABASES["default"].get("OPTIONS", {}).items()},
        "connect_timeout": env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2),
        **_replica.get("OPTIONS", {}),
    }
    if _replica["OPTIONS"].get("pool"):  # a pool waits this long for a connection, not its usual timeout
        _pool = _replica["OPTIONS"]["pool"] if isinstance(_replica["OPTIONS"]["pool"], dict) else {}
        _replica["OPTIONS"]["pool"] = {**_pool, "timeout": _replica["OPTIONS"]["connect_timeout"]}
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_index}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_index}")

# First after the health probes and the request log: shed before any work, choose the database before any query.
_first_django_middleware = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE[_first_django_middleware:_first_django_middleware] = [
    "newsdb.overload.LoadSheddingMiddleware",
    *(["newsdb.routers.ReplicaMiddleware"] if DATABASE_REPLICAS else []),
]
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["newsdb.routers.ReplicaRouter"]
