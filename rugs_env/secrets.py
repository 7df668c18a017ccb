"""The user's session token: loading it without leaving traces, and keeping it out of every output.

A token is held in a :class:`Secret`: ``str()``, ``repr()`` and f-strings show ``<redacted>``, pickling and
copying are refused, and the value is read only with :meth:`Secret.reveal` (which the socket layer calls
once per authentication). :func:`load_token` takes it, in this order, from ``--token-file`` (a file, whose
permissions should be 0600), the ``RUGS_TOKEN`` environment variable, or a plain ``--token`` argument; the
last one is visible in the shell history and the process list, so it is only accepted when the caller
allows it, and :func:`load_token` says so with a warning.

Redaction, belt and braces: nothing in this project logs, journals, records or raises the token, and
:class:`RedactingFilter` (installed on the root logger's handlers by :func:`install_redaction`) would
scrub it from any log record anyway; :func:`scrub` removes it from any text (plain and JSON-escaped
spellings, via the journal's :class:`~recorder.journal.Scrubber`), e.g. before an exception message leaves
the live layer.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from recorder.journal import REDACTED, Scrubber

TOKEN_ENV = "RUGS_TOKEN"

log = logging.getLogger(__name__)


class TokenError(ValueError):
    """The token cannot be loaded (missing, empty, unreadable file). Never contains the token."""


class Secret:
    """A secret string that does not show itself (see the module docstring)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise TokenError("a token must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        """The secret itself: only to be sent to the server."""
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self


def as_secret(value: str | Secret | None) -> Secret | None:
    """A :class:`Secret` from a string (or a Secret, or None)."""
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


def load_token(
    *,
    token_file: str | Path | None = None,
    token: str | None = None,
    env: dict[str, str] | None = None,
    allow_plain: bool = True,
) -> Secret | None:
    """The token from ``token_file``, else the ``RUGS_TOKEN`` environment variable, else ``token`` (a plain
    command-line argument: warned about, refused unless ``allow_plain``). None when none is given."""
    if token_file is not None:
        path = Path(token_file)
        try:
            text = path.read_text(encoding="utf-8").strip()
            mode = path.stat().st_mode
        except OSError as exc:
            raise TokenError(f"cannot read the token file {path}: {exc.strerror}") from None
        if not text:
            raise TokenError(f"the token file {path} is empty")
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("the token file %s is readable by others (chmod 600 it)", path)
        return Secret(text)
    value = (env if env is not None else os.environ).get(TOKEN_ENV, "").strip()
    if value:
        return Secret(value)
    if token:
        if not allow_plain:
            raise TokenError(f"pass the token with --token-file or {TOKEN_ENV}, not on the command line")
        log.warning(
            "a token given with --token stays in the shell history and is visible in the process list; "
            "prefer --token-file or the %s environment variable",
            TOKEN_ENV,
        )
        return Secret(token.strip())
    return None


def _reveal_all(secrets: Iterable[Secret | str | None]) -> list[str]:
    return [s.reveal() if isinstance(s, Secret) else s for s in secrets if s]


def scrub(text: str, secrets: Iterable[Secret | str | None]) -> str:
    """``text`` with every spelling of the secrets replaced by ``<redacted>``."""
    return Scrubber(_reveal_all(secrets))(text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs the secrets from each record's final message (and its traceback)."""

    def __init__(self, secrets: Iterable[Secret | str | None]) -> None:
        super().__init__()
        self._scrub = Scrubber(_reveal_all(secrets))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw message, scrubbed
            message = str(record.msg)
        record.msg, record.args = self._scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            import traceback

            record.exc_text = self._scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        return True


def install_redaction(secrets: Iterable[Secret | str | None]) -> RedactingFilter | None:
    """Add a :class:`RedactingFilter` to every handler of the root logger; returns it (None if nothing to
    hide). Remove it with :func:`remove_redaction`."""
    values = _reveal_all(secrets)
    if not values:
        return None
    flt = RedactingFilter(values)
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)
    return flt


def remove_redaction(flt: RedactingFilter | None) -> None:
    """Undo :func:`install_redaction`."""
    if flt is None:
        return
    for handler in logging.getLogger().handlers:
        handler.removeFilter(flt)


__all__ = [
    "TOKEN_ENV",
    "RedactingFilter",
    "Secret",
    "TokenError",
    "as_secret",
    "install_redaction",
    "load_token",
    "remove_redaction",
    "scrub",
]
