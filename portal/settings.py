"""Settings of the portal, read from the environment (see docs/deploy.md).

Defaults suit one machine: SQLite under the portal's data folder, DEBUG off, and jobs
on the local Redis that `make portal` starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

ROOT = Path(__file__).resolve().parent.parent  # the guidepress checkout: content, templates
DATA = Path(os.environ.get("GUIDEPRESS_PORTAL_DATA", ROOT / "var" / "portal")).resolve()
DATA.mkdir(parents=True, exist_ok=True)  # SQLite's file and the brand folders live here

DEBUG = os.environ.get("PORTAL_DEBUG") == "1"
SECRET_KEY = os.environ.get("PORTAL_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("PORTAL_ALLOW_DEV_KEY") != "1":
        raise RuntimeError("set PORTAL_SECRET_KEY (a long random string), see docs/deploy.md")
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - local runs and tests only
ALLOWED_HOSTS = [h for h in os.environ.get("PORTAL_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
                 .split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("PORTAL_CSRF_TRUSTED_ORIGINS", "").split(",")
                        if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_rq",
    "portal.core",
]

MIDDLEWARE = [
    "portal.core.security.RequestSizeLimit",  # before anything reads the body
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "django.template.context_processors.i18n",
    ]},
}]

# SQLite by default; DATABASE_URL=postgres://user:password@host:5432/name for PostgreSQL.
DATABASES = {"default": dj_database_url.config(
    default=f"sqlite:///{DATA / 'portal.sqlite3'}", conn_max_age=60)}

# argon2 first: new passwords and logins are hashed with it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [Path(__file__).resolve().parent / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Paris"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA / "static"

# The login throttle and the build rate limit count in the cache: with several server
# processes, give them one shared cache (PORTAL_CACHE_URL=redis://…).
_CACHE_URL = os.environ.get("PORTAL_CACHE_URL")
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
    if _CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})}

# Jobs: "rq" sends them to the django-rq queue below (a worker runs them); "inline" runs
# them in the request's process, through the same functions (tests, single process).
PORTAL_JOBS = os.environ.get("PORTAL_JOBS", "rq")
RQ_QUEUES = {"portal": {"URL": os.environ.get("PORTAL_REDIS_URL", "redis://127.0.0.1:6390/0"),
                        "DEFAULT_TIMEOUT": 900}}

# Uploads: a request larger than this is refused from its Content-Length, before its body
# is read; files above FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file, not memory.
PORTAL_MAX_REQUEST_BYTES = int(os.environ.get("PORTAL_MAX_REQUEST_BYTES", 12_000_000))
DATA_UPLOAD_MAX_MEMORY_SIZE = 200_000  # the form's fields, files excepted
FILE_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
DATA_UPLOAD_MAX_NUMBER_FILES = 6
FILE_UPLOAD_TEMP_DIR = None
PORTAL_MAX_LOGO_BYTES = 5_000_000  # the engine's own asset limit
PORTAL_MAX_FONT_BYTES = 5_000_000

# Login throttle: this many failures per user name and address within the window.
PORTAL_LOGIN_FAILURES = 5
PORTAL_LOGIN_WINDOW_SECONDS = 15 * 60
# Builds an establishment may ask for within the window (previews and kits together).
PORTAL_BUILDS_PER_WINDOW = int(os.environ.get("PORTAL_BUILDS_PER_WINDOW", 20))
PORTAL_BUILD_WINDOW_SECONDS = 10 * 60

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and os.environ.get("PORTAL_INSECURE_HTTP") != "1":
    # Behind a reverse proxy that ends TLS (docs/deploy.md)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_SSL_REDIRECT = os.environ.get("PORTAL_SSL_REDIRECT", "1") == "1"

LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"portal": {"handlers": ["console"], "level": "INFO"}}}
