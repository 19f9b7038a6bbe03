from __future__ import annotations

import pytest


@pytest.fixture
def gateway_instance(db):
    from whatsapp.models import Instance

    row = Instance(
        slug="main",
        name="Main",
        session_name="main",
        gateway_url="http://127.0.0.1:9",
        is_default=True,
    )
    row.secret_key = "stored-secret-key"
    row.save()
    return row


@pytest.fixture
def admin_user(db, django_user_model):
    return django_user_model.objects.create_superuser("chefe", password="pw-123-secret")


def settings_form(instance, **changes):
    data = {
        "gateway_url": instance.gateway_url,
        "session_name": instance.session_name,
        "enabled": "on",
        "min_gap_seconds": "3",
        "max_gap_seconds": "8",
        "cap_per_minute": "8",
        "cap_per_hour": "200",
        "cap_per_day": "1000",
    }
    data.update(changes)
    return data
