"""Django settings for the compat suite: one app (shop) on the server given by
COMPAT_DJANGO_PORT (PostgreSQL or litewire), psycopg 3, USE_TZ."""

import os

SECRET_KEY = "compat"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("COMPAT_DJANGO_HOST", "127.0.0.1"),
        "PORT": os.environ["COMPAT_DJANGO_PORT"],
        "NAME": os.environ.get("COMPAT_DJANGO_DB", "postgres"),
        "USER": "postgres",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
