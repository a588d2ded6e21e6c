"""Conditional answers (`ETag`, `If-None-Match`, `304 Not Modified`) for the search answers of the API
and the pages: the tag comes from appointments.domain.occupancy.search_tag; a page adds to it what
else its HTML depends on (language, the session's state) before asking here (`page_search_tag`)."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag

from appointments.security import captcha

# Revalidate every time: an answer is current only while its tag is, which the server knows.
CACHE_CONTROL = {"private": True, "no_cache": True}


def page_tag(tag: str | None, *extra) -> str | None:
    """`tag` combined with what else a page depends on (e.g. its language); None stays None."""
    if tag is None:
        return None
    return hashlib.sha256(repr((tag, *extra)).encode()).hexdigest()[:32]


def not_modified(request, tag: str | None) -> HttpResponse | None:
    """The 304 answer when the client's `If-None-Match` names `tag`, else None (answer in full)."""
    if tag is None or request.method not in ("GET", "HEAD"):
        return None
    response = get_conditional_response(request, etag=quote_etag(tag))
    if response is not None:
        response["ETag"] = quote_etag(tag)
        patch_cache_control(response, **CACHE_CONTROL)
    return response


def mark(response: HttpResponse, tag: str | None) -> HttpResponse:
    """Give a full answer its `ETag` (and the revalidation rule that goes with it)."""
    if tag is not None and response.status_code == 200:
        response["ETag"] = quote_etag(tag)
        patch_cache_control(response, **CACHE_CONTROL)
    return response


def page_search_tag(request, tag: str | None) -> str | None:
    """The tag of a page that shows a search's answer (`tag`: occupancy.search_tag) as rendered for
    this request: with its language, its path and query (office filter, chosen day), whether the
    captcha is on, and the CSRF secret that the page's forms carry (a new cookie, a new page). None
    without that cookie (the full page sets it) and while messages wait: they are shown once, in
    a full page."""
    secret = request.META.get("CSRF_COOKIE")
    if tag is None or not secret or len(messages.get_messages(request)):
        return None
    return page_tag(tag, translation.get_language(), request.get_full_path(), captcha.enabled(), secret)
