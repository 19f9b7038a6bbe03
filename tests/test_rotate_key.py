"""`manage.py whatsapp_rotate_key`: every registered encrypted value moves to the new key."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from whatsapp import crypto
from whatsapp.models import Instance

pytestmark = pytest.mark.django_db

OLD, NEW = "the-old-passphrase", "the-new-passphrase"


def make(slug: str, secret: str) -> Instance:
    instance = Instance(
        slug=slug, name=slug, session_name=slug, gateway_url=f"http://gw-{slug}:21465"
    )
    instance.secret_key = secret
    instance.save()
    return instance


@pytest.fixture
def under_old_key(whatsapp_conf):
    whatsapp_conf.ENCRYPTION_KEY = OLD
    instances = [make("one", "first-secret"), make("two", "second-secret"), make("none", "")]
    whatsapp_conf.ENCRYPTION_KEY = NEW
    return instances


def test_every_instance_secret_is_re_encrypted_with_the_new_key(under_old_key, monkeypatch, capsys):
    monkeypatch.setenv("WHATSAPP_OLD_ENCRYPTION_KEY", OLD)
    with pytest.raises(crypto.SecretUnreadable):
        Instance.objects.get(slug="one").secret_key  # noqa: B018

    call_command("whatsapp_rotate_key")

    assert Instance.objects.get(slug="one").secret_key == "first-secret"
    assert Instance.objects.get(slug="two").secret_key == "second-secret"
    assert Instance.objects.get(slug="none").secret_key == ""
    out = capsys.readouterr().out
    assert "2 value(s) re-encrypted" in out
    assert OLD not in out and NEW not in out and "first-secret" not in out
    # Run again: nothing left to do.
    call_command("whatsapp_rotate_key")
    assert "0 value(s) re-encrypted; 2 already" in capsys.readouterr().out


def test_a_wrong_old_key_changes_nothing(under_old_key, monkeypatch):
    monkeypatch.setenv("WHATSAPP_OLD_ENCRYPTION_KEY", "not-the-old-one")
    before = list(Instance.objects.order_by("pk").values_list("secret_key_encrypted", flat=True))
    with pytest.raises(CommandError, match="opens with neither key"):
        call_command("whatsapp_rotate_key")
    after = list(Instance.objects.order_by("pk").values_list("secret_key_encrypted", flat=True))
    assert after == before


def test_the_old_key_can_come_from_a_file_and_dry_run_writes_nothing(
    under_old_key, tmp_path, capsys
):
    key_file = tmp_path / "old.key"
    key_file.write_text(OLD + "\n")
    call_command("whatsapp_rotate_key", "--old-key-file", str(key_file), "--dry-run")
    assert "2 value(s) would be re-encrypted" in capsys.readouterr().out
    with pytest.raises(crypto.SecretUnreadable):
        Instance.objects.get(slug="one").secret_key  # noqa: B018


def test_without_the_old_key_it_says_where_to_give_it(under_old_key, monkeypatch):
    monkeypatch.delenv("WHATSAPP_OLD_ENCRYPTION_KEY", raising=False)
    with pytest.raises(CommandError, match="WHATSAPP_OLD_ENCRYPTION_KEY or with --old-key-file"):
        call_command("whatsapp_rotate_key")


def test_a_newly_registered_encrypted_field_is_rotated_too(under_old_key, monkeypatch):
    # What a later encrypted column does: one register() line beside its model.
    monkeypatch.setattr(crypto, "ENCRYPTED", list(crypto.ENCRYPTED))
    crypto.register("whatsapp.Instance", "last_error")
    token = crypto.fernet_for(OLD).encrypt(b"a signing secret").decode()
    Instance.objects.filter(slug="one").update(last_error=token)
    monkeypatch.setenv("WHATSAPP_OLD_ENCRYPTION_KEY", OLD)

    call_command("whatsapp_rotate_key")

    rotated = Instance.objects.get(slug="one").last_error
    assert crypto.decrypt(rotated) == "a signing secret"


def test_the_instance_secret_is_registered():
    assert crypto.EncryptedField("whatsapp.Instance", "secret_key_encrypted") in crypto.ENCRYPTED
