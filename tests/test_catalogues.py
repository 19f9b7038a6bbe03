"""Every string of the templates and the Python code is in the catalogues, translated.

The source language is English; every other language of settings.LANGUAGES has a .po with each
message translated (every plural form), none fuzzy, and a .mo compiled from that .po. Fix a
failure with `make messages`, translate what it lists, and run `make messages` again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation
from django.utils.translation import to_locale

from whatsapp.management.commands.makemessages_py import APP_LOCALE, build_template

LOCALES = [to_locale(code) for code, _name in settings.LANGUAGES if code != "en"]


def key(message) -> tuple[str, str | None]:
    msgid = message.id[0] if isinstance(message.id, tuple | list) else message.id
    return msgid, message.context


@pytest.fixture(scope="module")
def template():
    return build_template(Path(settings.BASE_DIR))


def catalogue(locale: str, suffix: str):
    path = APP_LOCALE / locale / "LC_MESSAGES" / f"django{suffix}"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale) if suffix == ".po" else read_mo(handle)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated_and_none_is_fuzzy(template, locale):
    po = catalogue(locale, ".po")
    missing, untranslated, fuzzy = [], [], []
    for message in template:
        if not message.id:
            continue
        found = po.get(message.id, context=message.context)
        if found is None:
            missing.append(key(message))
            continue
        strings = found.string if isinstance(found.string, tuple | list) else [found.string]
        if not all(strings):
            untranslated.append(key(message))
        if found.fuzzy:
            fuzzy.append(key(message))
    assert not missing, f"not in {locale}'s catalogue (run make messages): {missing}"
    assert not untranslated, f"untranslated in {locale}: {untranslated}"
    assert not fuzzy, f"fuzzy in {locale}: {fuzzy}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_its_source(locale):
    po, mo = catalogue(locale, ".po"), catalogue(locale, ".mo")

    def strings(message) -> tuple[str, ...]:
        value = message.string
        return tuple(value) if isinstance(value, tuple | list) else (value,)

    expected = {key(m): strings(m) for m in po if m.id and m.string and not m.fuzzy}
    compiled = {key(m): strings(m) for m in mo if m.id}
    assert compiled == expected, "the .mo is stale: run make messages"


def test_portuguese_counts_zero_as_plural():
    with translation.override("pt-br"):
        assert translation.ngettext("%(n)s minute", "%(n)s minutes", 0) % {"n": 0} == ("0 minutos")
        assert translation.ngettext("%(n)s minute", "%(n)s minutes", 1) % {"n": 1} == ("1 minuto")
