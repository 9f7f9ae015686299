from django.test import TestCase

from repairs.models import Customer, Repair, Technician


class RepairTests(TestCase):
    def setUp(self) -> None:
        self.customer = Customer.objects.create(name="Ana", email="ana@example.com")
        self.tech = Technician.objects.create(name="Bo")

    def test_total_formats_cents(self) -> None:
        repair = Repair.objects.create(customer=self.customer, technician=self.tech,
                                       description="chip", price_cents=12345)
        self.assertEqual(repair.total(), "123.45")

    def test_customer_repairs(self) -> None:
        Repair.objects.create(customer=self.customer, description="crack")
        self.assertEqual(self.customer.repairs.count(), 1)

    def test_health_endpoint(self) -> None:
        response = self.client.get("/health", secure=True)
        self.assertEqual(response.json(), {"status": "healthy"})
