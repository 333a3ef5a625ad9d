"""Errors that services raise and views turn into messages.

`.message` is shown to the person as it is: translated, in the agency's words, saying
what happens next. Unexpected exceptions are not caught to be hidden.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404


class SmcError(Exception):
    """Raised by services; .message is shown to the user as it is."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.message, self.code = message, code


class NotFound(SmcError, Http404):
    """Rendered as the 404 page: another agency's object and a missing one look the same."""


class PermissionDenied(SmcError, DjangoPermissionDenied):
    """Rendered as the 403 page, and recorded as a denied access."""
