"""The Django scenario of compat/test_django.py, run in a process of its own
per target (Django's settings are process-wide). Prints one JSON object of
results; the test asserts the same values for PostgreSQL and litewire."""

import datetime
import json
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, F, Sum  # noqa: E402

from shop.models import Customer, Order  # noqa: E402

out = {}
call_command("migrate", verbosity=0)
out["tables"] = sorted(t for t in connection.introspection.table_names() if t.startswith("shop_"))

when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
ann = Customer.objects.create(email="ann@example.com", name="Ann", joined=when)
bob = Customer.objects.create(email="bob@example.com", name="Bob", active=False,
                              joined=when + datetime.timedelta(days=1))
Order.objects.bulk_create([
    Order(customer=ann, total=Decimal("10.50"), data={"n": 3, "tags": ["a"]}),
    Order(customer=ann, total=Decimal("0.20"), data={"n": 12}),
    Order(customer=bob, total=Decimal("7.00"), data={"n": 5, "gift": True}),
])
out["count"] = Order.objects.count()
totals = Order.objects.aggregate(total=Sum("total"), n=Count("id"))
out["aggregate"] = [str(totals["total"]), totals["n"]]
out["per_customer"] = [
    [c.name, str(c.spent), c.n]
    for c in Customer.objects.annotate(spent=Sum("orders__total"), n=Count("orders")).order_by("name")
]
out["json_gte"] = sorted(str(o.total) for o in Order.objects.filter(data__n__gte=5))
out["json_key"] = sorted(str(o.total) for o in Order.objects.filter(data__has_key="gift"))
out["json_contains"] = [str(o.total) for o in Order.objects.filter(data__contains={"tags": ["a"]})]
out["select_related"] = [
    [o.customer.email, str(o.total)]
    for o in Order.objects.select_related("customer").order_by("total")
]
out["joined_after"] = [c.name for c in Customer.objects.filter(joined__gt=when)]
out["joined"] = Customer.objects.get(name="Ann").joined.isoformat()
out["inactive"] = [c.name for c in Customer.objects.filter(active=False)]
out["updated"] = Order.objects.filter(customer=ann).update(paid=True, total=F("total") + 1)
out["paid"] = sorted(str(o.total) for o in Order.objects.filter(paid=True))

try:
    with transaction.atomic():
        Customer.objects.create(email="tmp@example.com", name="Tmp", joined=when)
        try:
            with transaction.atomic():
                Customer.objects.create(email="ann@example.com", name="Dup", joined=when)
        except django.db.IntegrityError as e:
            out["nested_error"] = e.__cause__.sqlstate
        raise RuntimeError("roll back the outer block")
except RuntimeError:
    pass
out["after_rollback"] = sorted(Customer.objects.values_list("name", flat=True))
with transaction.atomic():
    Customer.objects.create(email="cy@example.com", name="Cy", joined=when)
    sid = transaction.savepoint()
    Customer.objects.create(email="dee@example.com", name="Dee", joined=when)
    transaction.savepoint_rollback(sid)
out["after_savepoint"] = sorted(Customer.objects.values_list("name", flat=True))

ann.delete()
out["after_cascade"] = [Order.objects.count(), Customer.objects.count()]
call_command("migrate", "shop", "zero", verbosity=0)
out["tables_after_zero"] = sorted(
    t for t in connection.introspection.table_names() if t.startswith("shop_"))
print(json.dumps(out))
