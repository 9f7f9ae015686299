"""URLs: the admin and a health endpoint, as on the real site."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import path


def health(request):  # type: ignore[no-untyped-def]
    return JsonResponse({"status": "healthy"})


urlpatterns = [path("admin/", admin.site.urls), path("health", health)]
