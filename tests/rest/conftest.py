from __future__ import annotations

import pytest


@pytest.fixture
def api_key(db):
    """A key with every scope on every instance: the tests of what routes do, not of scopes."""
    from whatsapp.models import ApiKey
    from whatsapp.scopes import ALL_SCOPES

    _row, key = ApiKey.create("tests", scopes=ALL_SCOPES)
    return key


@pytest.fixture
def api_client(client, api_key):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return client
