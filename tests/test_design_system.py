"""The pages' design system, KERN UX, comes from the portal itself: the vendored stylesheet, the
fonts it names and the favicon are served by the portal, no page or stylesheet names another host,
and the citizen pages, the error pages and the staff area all load it.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

KERN = Path(settings.BASE_DIR) / "static" / "vendor" / "kern"
STYLESHEETS = [
    "/static/vendor/kern/fonts/fira-sans.css",
    "/static/vendor/kern/css/kern.min.css",
    "/static/css/portal.css",
]


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def linked(html: str) -> list[str]:
    return re.findall(r'<link rel="(?:stylesheet|icon)" href="([^"]+)"', html)


@pytest.mark.parametrize("path", ["/", "/termin/", "/barrierefreiheit/", "/gibt-es-nicht/"])
def test_citizen_pages_load_kern_and_the_favicon_from_the_portal(client, db, path):
    html = client.get(path).content.decode()
    links = linked(html)
    # KERN before the portal's own layer, which builds on its tokens.
    assert [link for link in links if link.endswith(".css")] == STYLESHEETS
    assert "/static/img/favicon.svg" in links and "/static/img/favicon-32.png" in links
    assert all(link.startswith("/static/") for link in links)
    # KERN's components, not the portal's former hand-made ones.
    assert "kern-btn" in html or path == "/barrierefreiheit/"
    assert 'class="portal-header"' in html and "kern-kopfzeile" in html


def test_the_500_page_and_the_staff_area_load_kern_too(client, db):
    with translation.override("de"):
        server_error = render_to_string("500.html")
    assert [link for link in linked(server_error) if link.endswith(".css")] == STYLESHEETS
    staff_login = client.get("/mitarbeiter/anmelden/", follow=True).content.decode()
    assert "/static/vendor/kern/css/kern.min.css" in linked(staff_login)
    assert 'class="kern-form-input__input' in staff_login  # the crispy pack's fields are KERN's


def test_the_stylesheets_fonts_and_favicon_are_served(client, db):
    for path in [*STYLESHEETS, "/static/css/time-picker.css", "/static/img/favicon.svg", "/static/img/favicon-32.png"]:
        assert client.get(path).status_code == 200, path
    fonts_css = content(client.get("/static/vendor/kern/fonts/fira-sans.css")).decode()
    fonts = re.findall(r'url\("?\./([^")]+)"?\)', fonts_css)
    assert len(fonts) >= 4  # regular, italic, semi-bold and bold at least
    for font in fonts:
        response = client.get(f"/static/vendor/kern/fonts/{font}")
        assert response.status_code == 200 and content(response)[:4] == b"wOF2", font


def test_no_stylesheet_names_another_host():
    """Icons are data: URIs and fonts relative paths: the browser asks no one but the portal."""
    for css in [*KERN.rglob("*.css"), *(Path(settings.BASE_DIR) / "static" / "css").glob("*.css")]:
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            assert url.startswith("data:") or not re.match(r"(https?:)?//|/", url), (css.name, url)
        assert "@import" not in css.read_text(encoding="utf-8"), css.name


def test_the_vendored_release_is_pinned_with_its_checksum_and_licence():
    fetch = (KERN / "fetch.sh").read_text(encoding="utf-8")
    version = re.search(r"^VERSION=(\S+)$", fetch, re.M).group(1)
    integrity = re.search(r"^INTEGRITY=(sha512-\S+)$", fetch, re.M).group(1)
    readme = (KERN / "README.md").read_text(encoding="utf-8")
    assert version in readme and integrity in readme
    assert "EUPL" in (KERN / "LICENSE.md").read_text(encoding="utf-8")
