from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from leguas.env import env_bool, env_int, env_list, env_secret


def test_env_bool_rejects_anything_but_true_or_false(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG", False)
    monkeypatch.setenv("FLAG", "TRUE")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "")
    assert env_bool("FLAG", True) is True


def test_env_int_names_the_variable_on_a_bad_value(monkeypatch):
    monkeypatch.setenv("NUM", "3s")
    with pytest.raises(ImproperlyConfigured, match="NUM must be a whole number"):
        env_int("NUM", 1)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def test_env_secret_reads_the_file_variant_without_leaking_it(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-value\n")
    monkeypatch.setenv("TOKEN_FILE", str(secret_file))
    assert env_secret("TOKEN") == "s3cr3t-value"
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured) as info:
        env_secret("TOKEN")
    assert "s3cr3t" not in str(info.value)
