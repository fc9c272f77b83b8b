"""Django 5.2 (django.db.backends.postgresql on psycopg 3): migrate of
contenttypes, auth and a small app (ForeignKey with CASCADE, unique and
indexed fields, DecimalField, JSONField, DateTimeField with USE_TZ,
BooleanField), then CRUD, bulk_create (Django's UNNEST form), aggregates,
JSONField lookups, select_related, update(), atomic blocks with nested
savepoints, a cascade delete and `migrate shop zero`.

Django's settings are process-wide, so compat/djangoapp/scenario.py runs in
a process of its own per target and prints its results as JSON; the same
values are asserted for PostgreSQL and litewire. The app's migration
(`shop/migrations/0001_initial.py`) is what `makemigrations` wrote; the test
checks that it still matches the models.
"""

import json
import os
import subprocess
import sys

APP = os.path.join(os.path.dirname(__file__), "djangoapp")

EXPECTED = {
    "tables": ["shop_customer", "shop_order"],
    "count": 3,
    "aggregate": ["17.70", 3],
    "per_customer": [["Ann", "10.70", 2], ["Bob", "7.00", 1]],
    "json_gte": ["0.20", "7.00"],
    "json_key": ["7.00"],
    "json_contains": ["10.50"],
    "select_related": [
        ["ann@example.com", "0.20"],
        ["bob@example.com", "7.00"],
        ["ann@example.com", "10.50"],
    ],
    "joined_after": ["Bob"],
    "joined": "2024-05-06T07:08:09+00:00",
    "inactive": ["Bob"],
    "updated": 2,
    "paid": ["1.20", "11.50"],
    "nested_error": "23505",
    "after_rollback": ["Ann", "Bob"],
    "after_savepoint": ["Ann", "Bob", "Cy"],
    "after_cascade": [1, 2],
    "tables_after_zero": [],
}


def django(target, *args):
    env = dict(os.environ, COMPAT_DJANGO_HOST=target.host, COMPAT_DJANGO_PORT=str(target.port),
               COMPAT_DJANGO_DB=target.dbname, DJANGO_SETTINGS_MODULE="settings", PYTHONPATH=APP)
    return subprocess.run([sys.executable, *args], cwd=APP, env=env, capture_output=True,
                          text=True, timeout=300)


def test_migrations_match_models(target):
    r = django(target, "-m", "django", "makemigrations", "shop", "--check", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr


def test_django_scenario(target):
    r = django(target, "scenario.py")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == EXPECTED
