"""The errors of the recording-file layer.

- :class:`RecordingFormatError`: a file (or an in-memory value headed for a file) breaks the format. Its
  message names the file and the field path, e.g.
  ``recordings/2025-12-12/games/x.game.json: meta.duration_ticks: expected 230 (len(prices)), got 229``.
- :class:`UnsafePathError`: a name or path built from outside input would not be a safe file name or would
  leave the recordings root.
- :class:`RecordingConflictError`: writing would replace a file that holds a different game or session.

All three are ``ValueError``/``OSError`` subclasses so callers that only care about "bad data" can catch the
standard types.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class RecordingFormatError(ValueError):
    """A recording, session or index file that does not follow the format.

    ``path`` is the file (``None`` for an in-memory document), ``field`` the dotted field path of the first
    problem (``None`` for a whole-file problem such as invalid JSON), ``detail`` what is wrong with it, and
    ``problems`` every ``(field, detail)`` pair found (the message shows the first one and a count).
    """

    def __init__(
        self,
        path: Path | str | None,
        field: str | None,
        detail: str,
        problems: Sequence[tuple[str | None, str]] = (),
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.field = field or None
        self.detail = detail
        self.problems: list[tuple[str | None, str]] = list(problems) or [(self.field, detail)]
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [str(self.path)] if self.path is not None else []
        if self.field:
            parts.append(self.field)
        text = ": ".join([*parts, self.detail])
        if len(self.problems) > 1:
            text += f" (and {len(self.problems) - 1} more problem{'s' if len(self.problems) > 2 else ''})"
        return text

    def with_path(self, path: Path | str) -> RecordingFormatError:
        """The same error, attributed to file ``path``."""
        return RecordingFormatError(path, self.field, self.detail, self.problems)


class UnsafePathError(ValueError):
    """A file name or path from outside input that is not safe to use (bad game id, path outside the root)."""


class RecordingConflictError(FileExistsError):
    """The target file exists and holds a different game or session; it is never silently replaced."""
