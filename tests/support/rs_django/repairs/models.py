"""The repair shop: customers bring cars, technicians repair windshields.

Migration 0002 dropped ``Technician.is_manager`` (a destructive migration: the column and its
data are gone once it is applied).
"""

from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=120)
    email = models.EmailField(unique=True)


class Technician(models.Model):
    name = models.CharField(max_length=120)
    workshop = models.CharField(max_length=60, default="main")


class Repair(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="repairs")
    technician = models.ForeignKey(Technician, on_delete=models.SET_NULL, null=True)
    description = models.TextField()
    price_cents = models.PositiveIntegerField(default=0)
    done = models.BooleanField(default=False)

    def total(self) -> str:
        return f"{self.price_cents // 100}.{self.price_cents % 100:02d}"
