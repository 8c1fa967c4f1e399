"""Errors that services raise and that pages and the API turn into answers."""

from django.utils.translation import gettext_lazy as _


class ConflictError(Exception):
    """The record changed since the caller read it (optimistic locking): 412 in the API."""

    def __init__(self, message: str | None = None, *, current_version: int | None = None) -> None:
        super().__init__(message or str(_("This record was changed by someone else meanwhile.")))
        self.current_version = current_version
