from django.db import models


class Customer(models.Model):
    email = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=50, db_index=True)
    active = models.BooleanField(default=True)
    joined = models.DateTimeField()


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    total = models.DecimalField(max_digits=10, decimal_places=2)
    data = models.JSONField(default=dict)
    placed = models.DateTimeField(auto_now_add=True)
    paid = models.BooleanField(default=False)
