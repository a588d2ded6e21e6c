"""What a person's name may be: one rule for the citizen's form, the API and the clerks' walk-in and
phone bookings.

A name goes into the schedule, the clerk's screen and the mails after confirmation, so it must not
be able to carry a message: letters of any script (with their combining marks), spaces and the usual
name punctuation only. No digits (registration offices record names in letters), no web addresses,
no control or formatting characters (a right-to-left override can make text read backwards).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NAME_MAX = 150
# Hyphen-minus and the Unicode hyphens, apostrophes (typewriter, typographic, modifier letter),
# period and comma: "Jean-Luc", "O'Brien", "D’Angelo", "Dr. Müller", "Müller, Erika".
PUNCTUATION = frozenset("-\u2010\u2011'\u2019\u02bc.,")
# A period directly followed by two letters is how a domain looks ("example.org"); initials are
# followed by a space or by one letter and another period ("J.R.R. Tolkien").
DOMAIN_LIKE = re.compile(r"\.[^\W\d_]{2,}")

REQUIRED = _("Please enter your name.")
INVALID = _(
    "A name may contain only letters, spaces, hyphens (-), apostrophes ('), periods and commas: "
    "no digits, web addresses or other characters."
)
TOO_LONG = _("The name may have at most %(max)s characters.")


def _invisible(char: str) -> bool:
    # Whitespace and the formatting characters (zero-width space, byte-order mark, bidi controls).
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def clean_name(value) -> str:
    """The name as it is stored: NFC, trimmed, runs of spaces made one. Raises ValidationError with
    code "required", "invalid" or "too_long"."""
    name = unicodedata.normalize("NFC", str(value or ""))
    start, end = 0, len(name)
    while start < end and _invisible(name[start]):
        start += 1
    while end > start and _invisible(name[end - 1]):
        end -= 1
    name = name[start:end]
    if not name:
        raise ValidationError(REQUIRED, code="required")
    # Other spaces (no-break space from a copied name) count as a space; line breaks and tabs do not.
    name = " ".join(re.split(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+", name))
    letters = 0
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "L":
            letters += 1
        elif category[0] != "M" and char != " " and char not in PUNCTUATION:
            raise ValidationError(INVALID, code="invalid")
    if not letters or unicodedata.category(name[0])[0] == "M" or DOMAIN_LIKE.search(name):
        raise ValidationError(INVALID, code="invalid")
    if len(name) > NAME_MAX:
        raise ValidationError(TOO_LONG, code="too_long", params={"max": NAME_MAX})
    return name
