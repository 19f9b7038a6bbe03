"""Compile every .po under whatsapp/locale to .mo with Babel: no GNU gettext on the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.core.management.base import BaseCommand

# The app's own catalogues: they ship inside the package.
APP_LOCALE = Path(__file__).resolve().parents[2] / "locale"


class Command(BaseCommand):
    help = "Compile the .po catalogues under whatsapp/locale to .mo (no gettext needed)."

    def handle(self, *args: Any, **options: Any) -> None:
        for root in (APP_LOCALE,):
            for po_path in sorted(Path(root).rglob("*.po")):
                with po_path.open("rb") as handle:
                    catalog = read_po(handle)
                mo_path = po_path.with_suffix(".mo")
                with mo_path.open("wb") as handle:
                    # Fuzzy entries are guesses: leave them out, as msgfmt does.
                    write_mo(handle, catalog, use_fuzzy=False)
                translated = sum(1 for m in catalog if m.id and m.string and not m.fuzzy)
                self.stdout.write(f"{mo_path}: {translated} translations")
