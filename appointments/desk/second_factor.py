"""The second factor as a property of the session: wherever staff act (the staff area, its reports,
the admin), an account with a confirmed device counts only once its session was verified by a code,
whichever login form it used; with OTP_REQUIRED_FOR_STAFF every account needs a device and is sent
to set one up (QR code, first code) after its password.

The staff login (staff_login.py) and the admin's login form verify the code at login; django-otp's
OTPMiddleware then reports the session as verified (`request.user.is_verified()`).
"""

from __future__ import annotations

import base64
from functools import wraps

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from appointments.ui.forms import PortalFormMixin
from ikz_portal import clock

SETUP_KEY_SESSION = "second_factor_setup_key"


# --- the policy ---------------------------------------------------------------------------------


def has_device(user) -> bool:
    return user.is_authenticated and user_has_device(user, confirmed=True)


def is_verified(user) -> bool:
    # Without OTPMiddleware a user has no is_verified(): then nobody counts as verified.
    return bool(getattr(user, "is_verified", lambda: False)())


def device_required(user) -> bool:
    return bool(settings.OTP_REQUIRED_FOR_STAFF) and user.is_authenticated


def setup_url(next_url: str = "") -> str:
    url = reverse("clerk:second_factor_setup")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def refusal(request, *, login_url: str = "clerk:login"):
    """None when this session may act as staff; otherwise where it is sent instead.

    A device holder whose session was never verified (a password-only login elsewhere) is logged
    out and sent to the staff login, which asks for the code; an account without a device, while
    devices are required, goes to the setup page.
    """
    user = request.user
    if not user.is_authenticated or is_verified(user):
        return None
    if has_device(user):
        logout(request)
        messages.warning(
            request,
            _("Your account uses two-factor login. Please log in again with the code from your authenticator app."),
        )
        return redirect_to_login(request.get_full_path(), login_url)
    if device_required(user):
        return HttpResponseRedirect(setup_url(request.get_full_path()))
    return None


def verified_staff(view):
    """For the staff area's views, after login_required: the session must pass `refusal`."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        sent_away = refusal(request)
        if sent_away is not None:
            return sent_away
        return view(request, *args, **kwargs)

    return wrapper


# --- the admin ----------------------------------------------------------------------------------


class AdminLoginForm(OTPAdminAuthenticationForm):
    """The admin's login with django-otp's code field: the code is required from accounts with a
    device (every account with OTP_REQUIRED_FOR_ADMIN); an account with a single device need not
    pick it; a wrong code is a failed login for django-axes, as at the staff login."""

    def clean(self):
        # The password and is_staff (django-axes refuses a locked user name here), not yet the code.
        cleaned = AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and (settings.OTP_REQUIRED_FOR_ADMIN or user_has_device(user, confirmed=True)):
            try:
                self.clean_otp(user)
            except forms.ValidationError as error:
                if error.code == "invalid_token":
                    user_login_failed.send(
                        sender=__name__,
                        credentials={"username": self.cleaned_data.get("username")},
                        request=self.request,
                    )
                raise
        return cleaned

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None and not self.cleaned_data.get("otp_device"):
            devices = list(TOTPDevice.objects.filter(user=user, confirmed=True)[:2])
            if len(devices) == 1:
                device = devices[0]
        return device


class SecondFactorAdminSite(OTPAdminSite):
    """The admin with django-otp's login form: an account with a device gets in only with a session
    verified by its code; one without a device needs none unless devices are required, and is then
    sent to set one up. (With OTP_REQUIRED_FOR_ADMIN, urls.py uses django-otp's OTPAdminSite, which
    admits verified sessions only.)"""

    login_form = AdminLoginForm

    def has_permission(self, request):
        if not AdminSite.has_permission(self, request):
            return False
        user = request.user
        return is_verified(user) or not (has_device(user) or device_required(user))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if (
                device_required(user)
                and user.is_staff
                and not is_verified(user)
                and not has_device(user)
                and request.path != reverse("admin:logout", current_app=self.name)
            ):
                return HttpResponseRedirect(setup_url(request.get_full_path()))
            return inner(request, *args, **kwargs)

        return wrapper


# --- setting up a device ------------------------------------------------------------------------


class SetupForm(PortalFormMixin, forms.Form):
    otp_token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=10,
        error_messages={"required": gettext_lazy("Please enter the code the app shows now.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"}),
    )


def _secret_text(key_hex: str) -> str:
    """The secret as authenticator apps expect it for manual entry: base32, in groups of four."""
    secret = base64.b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _code_matches(key_hex: str, token: str) -> tuple[bool, int]:
    """Checks a code against the new secret at the one clock (one step either side, as django-otp's
    default tolerance); returns whether it matched and the time step it matched at."""
    digits = "".join(token.split())
    if not digits.isdigit():
        return False, 0
    totp = TOTP(bytes.fromhex(key_hex), step=30, t0=0, digits=6)
    totp.time = clock.timestamp()
    matched = totp.verify(int(digits), tolerance=1)
    return matched, totp.t()


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("clerk:home")


@require_http_methods(["GET", "POST"])
@login_required(login_url="clerk:login")
@never_cache
def setup(request):
    """Set up an authenticator app: the secret as a QR code and as text; the first code confirms it
    and verifies this session. The secret lives in the session until then, so a wrong code leaves
    the account as it was."""
    user = request.user
    if has_device(user):
        # Set up already: a second device is added in the admin, never by a session without the code.
        return redirect(_safe_next(request))
    key = request.session.get(SETUP_KEY_SESSION) or default_key()
    request.session[SETUP_KEY_SESSION] = key
    form = SetupForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            matched, step = _code_matches(key, form.cleaned_data["otp_token"])
            if matched:
                with transaction.atomic():
                    device = TOTPDevice.objects.create(
                        user=user,
                        name=_("Authenticator app"),
                        key=key,
                        confirmed=True,
                        last_t=step,  # the code just used does not log in a second time
                    )
                otp_login(request, device)
                del request.session[SETUP_KEY_SESSION]
                messages.success(
                    request,
                    _("Two-factor login is set up. From now on, log in with your password and the code from the app."),
                )
                return redirect(_safe_next(request))
            form.add_error(
                "otp_token", _("The code is not correct, or it has expired. Please enter the code the app shows now.")
            )
        status = 400
    config_url = TOTPDevice(user=user, key=key).config_url
    qr_code = segno.make(config_url, error="m").svg_data_uri(scale=5, border=2)
    return render(
        request,
        "clerk/second_factor_setup.html",
        {
            "form": form,
            "qr_code": qr_code,
            "secret": _secret_text(key),
            "next": _safe_next(request),
            "required": device_required(user),
            "my_offices": [],
        },
        status=status,
    )
