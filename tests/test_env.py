from __future__ import annotations

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from leguas.env import env_bool, env_int, env_list, env_secret, env_str, load_env_files


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


def test_env_str_treats_an_empty_value_as_unset(monkeypatch):
    monkeypatch.setenv("NAME", "")
    assert env_str("NAME", "fallback") == "fallback"


def test_dotenv_then_the_local_runs_choices_with_the_environment_winning(monkeypatch, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"LEGUAS_VAR_DIR={var}\nWEB_PORT=8100\nFROM_BOTH=dotenv\n")
    (var / "local-run.env").write_text("DEBUG=true\nFROM_BOTH=local\nWEB_PORT=9999\n")
    names = ("LEGUAS_VAR_DIR", "WEB_PORT", "FROM_BOTH", "DEBUG")
    # A private copy: what the files set must not leak into later tests.
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if k not in names})
    monkeypatch.setenv("LEGUAS_ENV_FILE", str(dotenv))
    monkeypatch.setenv("DEBUG", "false")  # the real environment wins over both files

    loaded = load_env_files(tmp_path)

    assert loaded == [dotenv, var / "local-run.env"]
    assert os.environ["WEB_PORT"] == "8100"
    assert os.environ["FROM_BOTH"] == "dotenv"
    assert os.environ["DEBUG"] == "false"


def test_an_empty_leguas_env_file_turns_the_files_off(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("SHOULD_NOT_LOAD=1\n")
    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.setenv("LEGUAS_ENV_FILE", "")
    assert load_env_files(tmp_path) == []
    assert "SHOULD_NOT_LOAD" not in os.environ


@pytest.mark.parametrize(("setting", "threshold"), [(None, 5), ("false", None)])
def test_postgresql_statements_are_prepared_unless_turned_off(setting, threshold):
    """The send path's statements are prepared after five runs; off behind a pooler."""
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/d",
        "LEGUAS_ENV_FILE": "",
        "DEBUG": "true",  # no SECRET_KEY needed to read the settings
    }
    env.pop("DATABASE_PREPARE_STATEMENTS", None)
    if setting is not None:
        env["DATABASE_PREPARE_STATEMENTS"] = setting
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'leguas.settings';"
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(threshold)
