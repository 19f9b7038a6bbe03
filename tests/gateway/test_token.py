from __future__ import annotations

import bcrypt
import pytest

from whatsapp.gateway import ConfigurationError, mint_token
from whatsapp.gateway import token as token_module

SECRET = "localtestsecret"


@pytest.fixture(autouse=True)
def fresh_cache():
    token_module.clear_token_cache()
    yield
    token_module.clear_token_cache()


def test_a_minted_token_verifies_against_session_followed_by_secret():
    token = mint_token("demo", SECRET)

    assert bcrypt.checkpw(b"demolocaltestsecret", token.replace("_", "/").encode())
    assert "/" not in token


def test_a_minted_token_uses_bcrypt_cost_10_like_the_server():
    assert mint_token("demo", SECRET).startswith("$2b$10$")


def test_it_replaces_every_slash_with_an_underscore(monkeypatch):
    monkeypatch.setattr(bcrypt, "hashpw", lambda material, salt: b"$2b$10$ab/cd/ef")

    assert mint_token("demo", SECRET) == "$2b$10$ab_cd_ef"


def test_the_token_observed_from_the_real_server_follows_the_same_recipe():
    server_issued = "$2b$10$P7YT355isReWI76HChPhquzTJSlwTUobDJkDPE5Ns.CvxtBkk_6hi"

    assert bcrypt.checkpw(b"demolocaltestsecret", server_issued.replace("_", "/").encode())


def test_it_hashes_once_and_caches_the_token(monkeypatch):
    calls = []
    real_hashpw = bcrypt.hashpw

    def counting_hashpw(material: bytes, salt: bytes) -> bytes:
        calls.append(material)
        return real_hashpw(material, salt)

    monkeypatch.setattr(bcrypt, "hashpw", counting_hashpw)

    first = mint_token("demo", SECRET)
    second = mint_token("demo", SECRET)

    assert first == second
    assert len(calls) == 1


def test_a_different_secret_gets_a_different_token():
    assert mint_token("demo", SECRET) != mint_token("demo", SECRET + "x")


def test_it_refuses_more_than_72_bytes_without_quoting_the_secret():
    secret = "s3cr3t-" + "x" * 70

    with pytest.raises(ConfigurationError) as caught:
        mint_token("demo", secret)

    assert secret not in str(caught.value)
    assert "x" * 20 not in str(caught.value)
    assert "72" in str(caught.value)
    assert caught.value.permanent is True
    assert caught.value.delivered == "no"


def test_it_counts_utf8_bytes_not_characters():
    secret = "é" * 35  # 35 characters, 70 bytes: with "demo" that is 74 bytes

    with pytest.raises(ConfigurationError):
        mint_token("demo", secret)


def test_exactly_72_bytes_is_accepted():
    secret = "y" * (72 - len("demo"))

    token = mint_token("demo", secret)

    assert bcrypt.checkpw(("demo" + secret).encode(), token.replace("_", "/").encode())


@pytest.mark.parametrize("session", ["", "a/b", "a:b"])
def test_it_refuses_session_names_the_url_cannot_carry(session):
    with pytest.raises(ConfigurationError) as caught:
        mint_token(session, SECRET)

    assert "session name" in str(caught.value)


def test_it_refuses_an_empty_secret():
    with pytest.raises(ConfigurationError) as caught:
        mint_token("demo", "")

    assert "secret key" in str(caught.value)
