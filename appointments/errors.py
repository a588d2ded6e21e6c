"""The one error type the booking side raises: a machine `code`, a translated message, optionally
the form field it concerns. Views turn it into a form error or an HTTP status."""

from __future__ import annotations


class PortalError(Exception):
    def __init__(self, code: str, message, *, field: str | None = None, **extra):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def __str__(self):
        return f"{self.code}: {self.message}"
