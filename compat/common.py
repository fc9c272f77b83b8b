"""SQL and expected values shared by the per-driver test files.

Templates name their tables with {t} (orders), {p} / {c} (parent / child);
fill them with sql(template, t=..., p=..., c=...). str.replace is used rather
than str.format because the SQL contains JSON braces.
"""

import datetime as dt
import uuid
from decimal import Decimal


def sql(template, **names):
    for key, value in names.items():
        template = template.replace("{" + key + "}", value)
    return template


# --- the "orders" scenario ----------------------------------------------------

ORDERS_DDL = """CREATE TABLE {t} (
  id bigserial PRIMARY KEY, customer text NOT NULL, status varchar(20) NOT NULL DEFAULT 'pending',
  total numeric(10,2) CHECK (total >= 0), paid boolean DEFAULT false, placed_at timestamptz DEFAULT now(),
  ref uuid DEFAULT gen_random_uuid(), meta jsonb, raw bytea, day date, ratio double precision)"""
ORDERS_INDEX = "CREATE INDEX {t}_status ON {t} (status)"
ORDERS_INSERT = (
    "INSERT INTO {t} (customer, total, meta) VALUES ('ann', 12.50, '{\"tags\":[\"a\"]}') "
    "RETURNING id, placed_at, paid"
)
ORDERS_UPDATE = "UPDATE {t} SET status = 'shipped' WHERE total::int >= 10 RETURNING *"
ORDERS_UPSERT = (
    "INSERT INTO {t} (id, customer, total) VALUES (1, 'x', 1) "
    "ON CONFLICT (id) DO UPDATE SET total = {t}.total + EXCLUDED.total RETURNING total"
)
ORDERS_GROUP = (
    "SELECT status, count(*), sum(total) FROM {t} WHERE customer ILIKE 'A%' "
    "GROUP BY status ORDER BY 1"
)
ORDERS_JSON = "SELECT meta->'tags'->>0, meta->>'missing' IS NULL FROM {t}"
ORDERS_COUNT = "SELECT count(*) FROM {t}"

ORDERS_COLUMNS = ["id", "customer", "status", "total", "paid", "placed_at",
                  "ref", "meta", "raw", "day", "ratio"]
# int8, text, varchar, numeric, bool, timestamptz, uuid, jsonb, bytea, date, float8
ORDERS_OIDS = [20, 25, 1043, 1700, 16, 1184, 2950, 3802, 17, 1082, 701]
ORDERS_TYPNAMES = ["int8", "text", "varchar", "numeric", "bool", "timestamptz",
                   "uuid", "jsonb", "bytea", "date", "float8"]

INSERT_RETURNING_OIDS = [20, 1184, 16]
GROUP_OIDS = [1043, 20, 1700]
JSON_OIDS = [25, 16]


def assert_recent_utc(ts):
    """A server-side now(): aware, UTC (server TimeZone=UTC), close to our clock."""
    assert isinstance(ts, dt.datetime), type(ts)
    assert ts.tzinfo is not None
    assert ts.utcoffset() == dt.timedelta(0)
    now = dt.datetime.now(dt.timezone.utc)
    assert abs(now - ts) < dt.timedelta(minutes=10), (now, ts)


def assert_v4_uuid(value):
    """gen_random_uuid() gives a random (version 4) UUID."""
    u = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
    assert str(u) == str(value).lower()
    assert u.version == 4


def assert_decimal(value, text):
    """Exact numeric: type Decimal and the same digits (Decimal('1.5') == Decimal('1.50'))."""
    assert isinstance(value, Decimal), type(value)
    assert str(value) == text, value


# --- one row of every type, for parameterized inserts and selects -------------

ALL_TYPES_INSERT_COLUMNS = ["customer", "status", "total", "paid", "placed_at",
                            "ref", "meta", "raw", "day", "ratio"]
FULL_ROW = {
    "customer": "bob 'quoted' \\ ünïcode",
    "status": "new",
    "total": Decimal("99.95"),
    "paid": True,
    "placed_at": dt.datetime(2024, 2, 29, 13, 14, 15, 123456, tzinfo=dt.timezone.utc),
    "ref": uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
    "meta": {"k": [1, 2.5, None, "x"], "n": {"b": True}},
    "raw": bytes([0, 1, 2, 39, 92, 127, 128, 254, 255]),
    "day": dt.date(2024, 2, 29),
    "ratio": 1 / 3,
}
# jsonb's canonical text form, as PostgreSQL prints it
FULL_ROW_META_TEXT = '{"k": [1, 2.5, null, "x"], "n": {"b": true}}'
# the same row with every nullable column NULL
NULL_ROW = {"customer": "nobody", "status": "none", "total": None, "paid": None,
            "placed_at": None, "ref": None, "meta": None, "raw": None, "day": None,
            "ratio": None}
# numeric(10,2) pads the scale
SCALE_ROW_TOTAL_IN = Decimal("1.5")
SCALE_ROW_TOTAL_OUT = "1.50"


# --- errors -------------------------------------------------------------------

ERRORS_DDL = [
    "CREATE TABLE {p} (id int PRIMARY KEY)",
    "CREATE TABLE {c} (id int PRIMARY KEY, parent_id int REFERENCES {p} (id), "
    "name text NOT NULL, qty int CHECK (qty >= 0))",
    "INSERT INTO {p} (id) VALUES (1)",
    "INSERT INTO {c} (id, parent_id, name, qty) VALUES (1, 1, 'a', 1)",
]
ERROR_CASES = [
    ("unique", "INSERT INTO {c} (id, parent_id, name, qty) VALUES (1, 1, 'dup', 1)", "23505"),
    ("not_null", "INSERT INTO {c} (id, parent_id, name, qty) VALUES (2, 1, NULL, 1)", "23502"),
    ("fk_insert", "INSERT INTO {c} (id, parent_id, name, qty) VALUES (3, 999, 'x', 1)", "23503"),
    ("fk_delete", "DELETE FROM {p} WHERE id = 1", "23503"),
    ("check", "INSERT INTO {c} (id, parent_id, name, qty) VALUES (4, 1, 'x', -1)", "23514"),
    ("undefined_table", "SELECT * FROM no_such_table_compat", "42P01"),
    ("undefined_column", "SELECT no_such_column FROM {p}", "42703"),
    ("syntax", "SELEC 1", "42601"),
    ("division_by_zero", "SELECT 1/0", "22012"),
    ("invalid_text", "SELECT 'abc'::int", "22P02"),
]
ERROR_IDS = [case[0] for case in ERROR_CASES]
