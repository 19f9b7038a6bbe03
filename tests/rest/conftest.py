from __future__ import annotations

import pytest


@pytest.fixture
def api_key(db):
    from whatsapp.models import ApiKey

    _row, key = ApiKey.create("tests")
    return key


@pytest.fixture
def api_client(client, api_key):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return client
