"""The portal's own page for a form that Django's CSRF protection refused (CSRF_FAILURE_VIEW).

Django's default names the technical reason in English; a citizen needs to know what to do next in
their language, on a page that looks like the rest of the portal.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache


@never_cache
def csrf_failure(request, reason: str = ""):
    # Rendered with the request, so the page's own language switch gets a fresh token and works.
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
