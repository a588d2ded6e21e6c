"""The German catalogue is complete, compiled, and what the citizen sees.

German is the default language and every source string is English, so a string without a German
translation shows up as English on a German page. These tests read the committed
`locale/de/LC_MESSAGES/django.po` with a small parser of their own (no extra dependency):

- every entry has a German translation, none is fuzzy, and placeholders survive translation;
- a fresh `makemessages` over a copy of the source finds no string the catalogue lacks
  (so a new `gettext`/`{% translate %}` without a German translation fails here);
- the committed `django.mo` matches the `.po` (so a forgotten `compilemessages` fails here);
- the citizen pages come out in German by default and in English on request.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client

BASE_DIR = Path(__file__).resolve().parent.parent
PO_PATH = BASE_DIR / "locale" / "de" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# The project's source that makemessages reads (tests/ and var/ are not part of it).
SOURCE_ENTRIES = ["appointments", "offices", "ikz_portal", "templates", "manage.py", "locale"]
NOT_SOURCE = {"tests", "var", "staticfiles", "node_modules"}


# --- a small .po reader ------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 for a singular entry
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    def label(self) -> str:
        return f"{self.msgctxt}|{self.msgid}" if self.msgctxt else self.msgid


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(quoted: str) -> str:
    body = quoted.strip()
    assert body.startswith('"') and body.endswith('"'), f"not a quoted .po string: {quoted!r}"
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body[1:-1])


def parse_po(text: str) -> tuple[Entry | None, list[Entry]]:
    """The header entry (msgid "") and the other entries; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    fields: dict = {}
    flags: set[str] = set()
    current = None  # the field that continuation lines extend

    def finish():
        nonlocal fields, flags, current
        if "msgid" in fields:
            entries.append(
                Entry(
                    msgid=fields["msgid"],
                    msgctxt=fields.get("msgctxt"),
                    msgid_plural=fields.get("msgid_plural"),
                    msgstr=fields.get("msgstr", {}),
                    flags=flags,
                )
            )
        fields, flags, current = {}, set(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#,"):
            if "msgid" in fields:
                finish()
            flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, quoted = match.groups()
            if keyword in ("msgctxt", "msgid") and "msgid" in fields and "msgstr" in fields:
                finish()  # a new entry without a blank line before it
            if keyword.startswith("msgstr"):
                slot = int(index) if index is not None else 0
                fields.setdefault("msgstr", {})[slot] = _unquote(quoted)
                current = ("msgstr", slot)
            else:
                fields[keyword] = _unquote(quoted)
                current = (keyword, None)
        elif line.startswith('"') and current is not None:
            name, slot = current
            if name == "msgstr":
                fields["msgstr"][slot] += _unquote(line)
            else:
                fields[name] += _unquote(line)
        else:
            raise AssertionError(f"{PO_PATH.name}:{number}: cannot read line {raw!r}")
    finish()

    header = next((e for e in entries if e.msgid == "" and e.msgctxt is None), None)
    return header, [e for e in entries if e is not header]


def committed_catalogue() -> tuple[Entry | None, list[Entry]]:
    assert PO_PATH.exists(), f"{PO_PATH} is missing"
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


_PLACEHOLDER = re.compile(
    r"%%|%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]|%[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]|\{(\w*)\}"
)


def placeholders(text: str) -> set[str]:
    found = set()
    for match in _PLACEHOLDER.finditer(text):
        token = match.group(0)
        if token != "%%":
            found.add(token)
    return found


def missing_translation(entry: Entry) -> bool:
    expected = 2 if entry.msgid_plural is not None else 1
    return len(entry.msgstr) < expected or not all(s.strip() for s in entry.msgstr.values())


# --- (a) the committed catalogue ------------------------------------------------------------------


def test_catalogue_header_is_german_utf8_with_two_plural_forms():
    header, entries = committed_catalogue()
    assert header is not None, "the .po file has no header entry"
    assert "fuzzy" not in header.flags, "the header is still marked fuzzy: msgfmt would ignore it"
    text = header.msgstr[0]
    assert "Language: de\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in text
    assert len(entries) > 100, "the German catalogue looks truncated"


def test_every_entry_has_a_german_translation_and_none_is_fuzzy():
    _, entries = committed_catalogue()
    empty = [e.label() for e in entries if missing_translation(e)]
    fuzzy = [e.label() for e in entries if "fuzzy" in e.flags]
    assert not empty, f"{len(empty)} entries without a German translation:\n" + "\n".join(empty)
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries (review them, then drop the flag):\n" + "\n".join(fuzzy)


def test_placeholders_are_kept_in_every_translation():
    _, entries = committed_catalogue()
    problems = []
    for entry in entries:
        for index, translated in sorted(entry.msgstr.items()):
            source = entry.msgid if (entry.msgid_plural is None or index == 0) else entry.msgid_plural
            if placeholders(source) != placeholders(translated):
                problems.append(
                    f"{entry.label()!r} [{index}]: {sorted(placeholders(source))} ≠ {sorted(placeholders(translated))}"
                )
    assert not problems, "placeholders differ between English and German:\n" + "\n".join(problems)


def test_the_parser_reads_plurals_continuations_and_flags():
    header, entries = parse_po(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
        '#, python-format\nmsgid "%(n)s time"\nmsgid_plural "%(n)s times"\n'
        'msgstr[0] "%(n)s Termin"\nmsgstr[1] "%(n)s Termine"\n\n'
        '#, fuzzy\nmsgid ""\n"Two "\n"lines"\nmsgstr "Zwei \\"Zeilen\\""\n\n'
        '#~ msgid "old"\n#~ msgstr "alt"\n'
    )
    assert header.msgstr[0] == "Language: de\n"
    plural, wrapped = entries
    assert (plural.msgid_plural, plural.msgstr) == ("%(n)s times", {0: "%(n)s Termin", 1: "%(n)s Termine"})
    assert "python-format" in plural.flags
    assert (wrapped.msgid, wrapped.msgstr[0], wrapped.flags) == ("Two lines", 'Zwei "Zeilen"', {"fuzzy"})
    assert placeholders("%(a)s, %s and {b} but not 100%%") == {"%(a)s", "%s", "{b}"}


# --- (b) no user-visible string without a translation ---------------------------------------------


def _copy_source(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    names = set(SOURCE_ENTRIES)
    # A new Django app at the top level (a package of its own) is source too.
    names |= {
        p.name
        for p in BASE_DIR.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_SOURCE and not p.name.startswith(".")
    }
    for name in sorted(names):
        source = BASE_DIR / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)


def test_every_string_in_the_source_has_a_german_translation(tmp_path):
    tools = ["xgettext", "msgmerge", "msguniq"]
    absent = [tool for tool in tools if shutil.which(tool) is None]
    if absent:
        pytest.skip(f"GNU gettext tools not on PATH ({', '.join(absent)}): cannot run makemessages")

    _copy_source(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-location"],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ikz_portal.settings"},  # the copy has no tests/
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    _, fresh = parse_po((tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    _, committed = committed_catalogue()
    translated = {e.key: e for e in committed if not missing_translation(e) and "fuzzy" not in e.flags}
    missing = [e.label() for e in fresh if e.key not in translated]
    assert not missing, (
        f"{len(missing)} user-visible strings have no German translation. Run "
        "`python manage.py makemessages -l de --no-location --ignore=.venv --ignore=var --ignore=tests`, "
        "translate them in locale/de/LC_MESSAGES/django.po and run `compilemessages -l de`:\n" + "\n".join(missing)
    )


# --- (c) the compiled catalogue is up to date -----------------------------------------------------


def test_the_compiled_catalogue_matches_the_po_file():
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run `python manage.py compilemessages -l de`"
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    _, entries = committed_catalogue()
    stale = []
    for entry in entries:
        if entry.msgid_plural is not None:
            for n, index in ((1, 0), (2, 1)):
                got = (
                    compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                    if entry.msgctxt
                    else compiled.ngettext(entry.msgid, entry.msgid_plural, n)
                )
                if got != entry.msgstr.get(index):
                    stale.append(f"{entry.label()!r} (n={n}): .mo has {got!r}")
        else:
            got = compiled.pgettext(entry.msgctxt, entry.msgid) if entry.msgctxt else compiled.gettext(entry.msgid)
            if got != entry.msgstr.get(0):
                stale.append(f"{entry.label()!r}: .mo has {got!r}")
    assert not stale, (
        f"django.mo is older than django.po ({len(stale)} entries differ): "
        "run `python manage.py compilemessages -l de` and commit the .mo:\n" + "\n".join(stale)
    )


# --- (d) what the citizen sees --------------------------------------------------------------------


def _german(english: str) -> str:
    _, entries = committed_catalogue()
    return next(e.msgstr[0] for e in entries if e.msgid == english and e.msgctxt is None)


@pytest.mark.parametrize(
    "url, english",
    [
        ("/", ["Book an appointment for your vehicle registration", "Skip to main content", "Privacy notice"]),
        ("/termin/", ["Find an appointment", "Where do you live?", "Show free appointments", "Privacy notice"]),
    ],
)
def test_citizen_pages_are_german_by_default(demo, url, english):
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Termin" in html
    assert "Kfz-Zulassung Vorderpfalz" in html
    for source in english:
        assert _german(source) in html, f"{url}: the German for {source!r} is missing"
        assert source not in html, f"{url}: {source!r} appears in English on the German page"


@pytest.mark.parametrize(
    "url, english",
    [
        ("/", ["Book an appointment for your vehicle registration", "Skip to main content"]),
        ("/termin/", ["Find an appointment", "Where do you live?", "Show free appointments"]),
    ],
)
def test_citizen_pages_are_english_on_request(demo, url, english):
    response = Client(headers={"accept-language": "en"}).get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    for source in english:
        assert source in html
    assert "Kfz-Zulassung Vorderpfalz" not in html
