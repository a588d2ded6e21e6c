"""Helpers of the browser tests: the browser check, axe-core scans, keyboard steps and e-mail links.

axe-core (MPL-2.0, vendored unchanged with its licence header in vendor/axe.min.js, version in
vendor/README.md) is injected with `page.evaluate`, not with a <script> element: the portal's
Content-Security-Policy would block an inline script, and the scan must see the page as served.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# No sandbox (CI runs as root), no GPU, and no traffic of the browser's own (updates, first run).
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
# WCAG 2.1 levels A and AA: what BITV 2.0 / EN 301 549 ask of a public portal.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


def browser_available() -> tuple[bool, str]:
    if not os.path.exists(CHROMIUM):
        return False, f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "the playwright package is not installed (pip install -r requirements.txt)"
    return True, ""


def require_browser() -> None:
    """Skip the calling test module, with the reason, when the browser or Playwright is missing."""
    available, reason = browser_available()
    if not available:
        pytest.skip(reason, allow_module_level=True)


# --- axe-core ---------------------------------------------------------------------------------


def axe_violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


def describe(label: str, url: str, violations: list[dict]) -> str:
    lines = [f"{label} ({url}):"]
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"      {', '.join(map(str, node['target']))}: {summary[:300]}")
    return "\n".join(lines)


class Scanner:
    """Scans pages as a test walks through them and reports every problem at the end, so one run
    shows all the violations of a journey, not only the first."""

    def __init__(self, *, axe: bool = True):
        self.axe = axe
        self.scanned: list[str] = []
        self.problems: list[str] = []

    def scan(self, page, label: str) -> None:
        """axe-core's WCAG 2.1 A/AA rules (unless switched off), reflow at phone width, no script errors."""
        self.scanned.append(label)
        violations = axe_violations(page) if self.axe else []
        if violations:
            self.problems.append(describe(label, page.url, violations))
        width = page.viewport_size["width"] if page.viewport_size else 1280
        if width < 600:
            # Reflow (WCAG 1.4.10): at phone width nothing needs horizontal scrolling.
            # clientWidth: on a phone the browser zooms out to a too-wide page, and innerWidth grows with it.
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth"
                " - Math.min(window.innerWidth, document.documentElement.clientWidth)"
            )
            if overflow > 0:
                self.problems.append(f"{label} ({page.url}): {overflow}px wider than the {width}px screen")
        if getattr(page, "js_errors", None):
            self.problems.append(f"{label} ({page.url}): JavaScript errors {page.js_errors}")
            page.js_errors.clear()

    def assert_clean(self) -> None:
        assert not self.problems, "accessibility problems:\n" + "\n".join(self.problems)


# --- keyboard -----------------------------------------------------------------------------------

FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body || element === document.documentElement) return null;
  const style = getComputedStyle(element);
  return {
    tag: element.tagName.toLowerCase(),
    id: element.id,
    name: element.getAttribute("name") || "",
    value: element.getAttribute("value") || "",
    type: element.getAttribute("type") || "",
    href: element.getAttribute("href") || "",
    text: (element.innerText || element.getAttribute("aria-label") || "").trim().replace(/\\s+/g, " ").slice(0, 80),
    outline: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    boxShadow: style.boxShadow,
  };
}"""


def focus_is_visible(focused: dict) -> bool:
    """A visible focus indicator: an outline of some width, or a box shadow."""
    return (focused["outline"] != "none" and focused["outlineWidth"] > 0) or focused["boxShadow"] not in ("", "none")


def tab_to(page, matches, *, limit: int = 120, backwards: bool = False) -> dict:
    """Press Tab until the focused element satisfies `matches`; every element on the way must show
    its focus. Returns what is focused."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focus_is_visible(focused), f"focus not visible on {focused} at {page.url}"
        seen.append(focused)
        if matches(focused):
            return focused
    raise AssertionError(f"Tab never reached the element at {page.url}; focused on the way: {seen}")


# --- e-mail -----------------------------------------------------------------------------------


def link_in(message, path_pattern: str) -> str:
    match = re.search(r"https?://\S+" + path_pattern + r"\S*", message.body)
    assert match, message.body
    return match.group(0)


def html_of(message) -> str:
    for content, mimetype in message.alternatives:
        if mimetype == "text/html":
            return content
    raise AssertionError("no HTML part")
