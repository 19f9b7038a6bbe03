"""Phone numbers in, E.164 digits out (WPPConnect wants bare digits with the country code)."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from whatsapp.conf import conf


class InvalidPhone(ValueError):
    pass


def normalize(raw: object, region: str | None = None) -> str:
    """'(21) 99999-9999' in region BR -> '5521999999999'. Raises InvalidPhone with a reason."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone(_("Enter a phone number."))
    text = raw.strip()
    if text.isdigit() and len(text) > 11:
        text = f"+{text}"  # already international digits, as the gateway writes them
    try:
        number = phonenumbers.parse(text, region or conf.DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_("This is not a phone number.")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(
            _("Not a valid number for its country; include the country code, e.g. +55.")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
