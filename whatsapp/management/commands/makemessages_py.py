"""Refresh whatsapp/locale/*/LC_MESSAGES/django.po from the code and templates, without GNU gettext.

Templates go through Django's own templatize() (what `makemessages` feeds to xgettext) and then
Babel's Python extractor, so the catalogue matches what `makemessages` would produce.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

# The app's own catalogues: they ship inside the package.
APP_LOCALE = Path(__file__).resolve().parents[2] / "locale"

KEYWORDS: dict[str, Any] = {
    **DEFAULT_KEYWORDS,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext_lazy": (1, 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
SOURCE_DIRS = ("leguas", "whatsapp", "worker", "templates")
SKIP_PARTS = {"migrations", "__pycache__", "simulator"}
TEMPLATE_SUFFIXES = {".html", ".txt"}
COMMENT_TAGS = ("Translators",)


def source_files(base: Path) -> Iterator[Path]:
    for folder in SOURCE_DIRS:
        for path in sorted((base / folder).rglob("*")):
            if path.is_file() and not SKIP_PARTS & set(path.parts):
                if path.suffix == ".py" or path.suffix in TEMPLATE_SUFFIXES:
                    yield path


def extract_file(path: Path) -> Iterator[tuple[int, Any, list[str], str | None]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix in TEMPLATE_SUFFIXES:
        text = templatize(text, origin=str(path))
    options = {"encoding": "utf-8"}
    stream = io.BytesIO(text.encode("utf-8"))
    yield from extract("python", stream, KEYWORDS, COMMENT_TAGS, options)


def build_template(base: Path) -> Catalog:
    template = Catalog(project="leguas-whatsapp", fuzzy=False)
    for path in source_files(base):
        relative = path.relative_to(base).as_posix()
        for lineno, message, comments, context in extract_file(path):
            template.add(
                message, locations=[(relative, lineno)], auto_comments=comments, context=context
            )
    return template


class Command(BaseCommand):
    help = "Update the .po catalogues under whatsapp/locale from the sources (no gettext needed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--locale", "-l", action="append", help="Only these locales.")

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        template = build_template(base)
        source_language = "en"
        locales = options["locale"] or [
            to_locale(code) for code, _name in settings.LANGUAGES if code != source_language
        ]
        for root in (APP_LOCALE,):
            for locale in locales:
                po_path = Path(root) / locale / "LC_MESSAGES" / "django.po"
                self.update(po_path, locale, template)

    def update(self, po_path: Path, locale: str, template: Catalog) -> None:
        if po_path.exists():
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="leguas-whatsapp")
        # Fuzzy guesses would ship wrong Portuguese; new strings stay empty until translated.
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        po_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("wb") as handle:
            write_po(handle, catalog, width=100, ignore_obsolete=True, omit_header=False)
        missing = sum(1 for m in catalog if m.id and not m.string)
        total = sum(1 for m in catalog if m.id)
        self.stdout.write(f"{po_path}: {total} messages, {missing} untranslated")
