"""Staff login: password, and a TOTP code for accounts that have set up an authenticator app; the
page shown when too many failed attempts locked a user name on this address (django-axes).

Throttling: django-axes counts failed logins per user name and client address (the staff login and
the admin both authenticate through Django, so both are covered) and refuses further attempts,
even with the right password, for AXES_COOLOFF_MINUTES after AXES_FAILURE_LIMIT failures. A wrong
TOTP code counts as a failed login too, so the six digits cannot be guessed in a loop.

Two factors are optional per account: a staff member with a confirmed TOTP device (set up by an
administrator in the admin, "TOTP devices", which shows the QR code) enters its current code
below the password; everyone else logs in as before.
"""

from __future__ import annotations

import datetime as dt
import math

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.ui.forms import PortalFormMixin
from ikz_portal import clock


class StaffLoginForm(PortalFormMixin, AuthenticationForm):
    otp_token = forms.CharField(
        label=_("Code from your authenticator app"),
        required=False,
        max_length=10,
        help_text=_("Only if two-factor login is set up for your account: the six digits the app shows now."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        # Django's own text reads, in German, as if the fields had been left empty.
        "invalid_login": _(
            "The user name or the password is wrong. Please check both entries; upper and lower case matter."
        ),
        "token_required": _(
            "Your account uses two-factor login: please also enter the code from your authenticator app."
        ),
        "invalid_token": _("The code is not correct, or it has expired. Please enter the code the app shows now."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("User name")
        self.fields["password"].label = _("Password")
        # The page's heading comes first for a screen reader; no jump into the first field.
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.fields["username"].widget.attrs["spellcheck"] = "false"

    def marked_invalid(self) -> set[str]:
        """A refused login does not say which entry was wrong: all of them are marked."""
        if not self.errors:
            return set()
        return {"username", "password", "otp_token"} if self.needs_token else {"username", "password"}

    def clean(self):
        cleaned = super().clean()  # the password (refused while django-axes has locked the user name)
        user = self.get_user()
        devices = list(TOTPDevice.objects.filter(user=user, confirmed=True)) if user is not None else []
        if not devices:
            return cleaned
        self.needs_token = True
        self.fields["otp_token"].widget.attrs["required"] = True
        token = "".join((self.cleaned_data.get("otp_token") or "").split())
        if not token:
            raise forms.ValidationError(self.error_messages["token_required"], code="token_required")
        device = None
        with transaction.atomic():  # TOTP's throttling and replay protection update the device row
            for candidate in TOTPDevice.objects.select_for_update().filter(pk__in=[d.pk for d in devices]):
                if candidate.verify_is_allowed()[0] and candidate.verify_token(token):
                    device = candidate
                    break
        if device is None:
            # A failed login for django-axes: the code cannot be guessed without running into the lock.
            user_login_failed.send(
                sender=__name__, credentials={"username": self.cleaned_data.get("username")}, request=self.request
            )
            raise forms.ValidationError(self.error_messages["invalid_token"], code="invalid_token")
        # django_otp's user_logged_in handler remembers the device in the session (user.is_verified()).
        user.otp_device = device
        return cleaned

    needs_token = False


class StaffLoginView(LoginView):
    form_class = StaffLoginForm
    template_name = "clerk/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("clerk:home")


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a user name is locked on this address (AXES_LOCKOUT_CALLABLE): the
    page says until when (local time) and how long, and Retry-After the seconds until the lock's
    cool-off ends."""
    seconds = seconds_until_unlocked(request, credentials)
    now = clock.now()
    until = None
    if seconds is not None:
        # Shown to the minute, rounded up: at the time the page names, the lock is over.
        until = timezone.localtime(now + dt.timedelta(seconds=seconds))
        if until.second or until.microsecond:
            until = until.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    context = {
        "minutes": math.ceil(seconds / 60) if seconds is not None else None,
        "until": until,
        "until_another_day": until is not None and until.date() != timezone.localtime(now).date(),
        # django-axes starts the cool-off again with every attempt made while locked (its default).
        "attempts_extend": getattr(settings, "AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT", True),
        "my_offices": [],
    }
    response = render(request, "clerk/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


def seconds_until_unlocked(request, credentials) -> int | None:
    """The lock ends AXES_COOLOFF_TIME after the latest failed attempt of this user name and address
    (django-axes forgets attempts older than that). None without a cool-off: locked until lifted."""
    if not settings.AXES_COOLOFF_TIME:
        return None
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    latest = None
    if getattr(request, "axes_ip_address", None) is not None:
        try:
            handler = AxesProxyHandler.get_implementation()
            attempts = handler.get_user_attempts(request, credentials)
        except (AttributeError, TypeError):  # a handler without stored attempts (cache, dummy)
            attempts = []
        latest = max((t for query in attempts for t in query.values_list("attempt_time", flat=True)), default=None)
    if latest is None:
        return cool_off
    return max(1, min(cool_off, math.ceil((latest + settings.AXES_COOLOFF_TIME - clock.now()).total_seconds())))
