"""The product's URLs plus the bench's floor views (bench/floor.py)."""

from __future__ import annotations

from django.urls import path

from bench import floor
from leguas.urls import urlpatterns as product

urlpatterns = [
    path("bench/floor/enqueue", floor.enqueue),
    path("bench/floor/batch", floor.batch),
    *product,
]
