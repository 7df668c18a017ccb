"""The base of every file model: strict reading from JSON data, deterministic writing, clean errors.

A :class:`RecordModel` is an immutable pydantic model that

- reads the file form with :meth:`RecordModel.from_file_dict` (strict: every known key typed exactly, any
  problem raised as :class:`RecordingFormatError` naming the field path, e.g. ``actions[3].price``);
- writes the file form with :meth:`RecordModel.to_file_dict`: known keys in declaration order, then the
  unknown keys it was read with (kept verbatim, so files from newer versions survive a rewrite); optional
  additions that are ``None`` are left out (in a file, an addition is either present and typed, or absent:
  ``null`` is refused);
- is built in Python from the in-memory form (floats, int lamports, aware datetimes) and changed with
  :meth:`RecordModel.replace`, which validates again.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    ValidationError,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from recorder.files.errors import RecordingFormatError
from recorder.files.fields import FILE_CONTEXT, field_error, from_file, json_type, short_value
from recorder.files.jsonio import dumps_document, loads_document


class RecordModel(BaseModel):
    """Base of the file models (see the module docstring)."""

    model_config = ConfigDict(extra="allow", frozen=True, validate_default=False)

    @model_validator(mode="before")
    @classmethod
    def _check_raw(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            if from_file(info):
                raise field_error("", f"expected an object, got {json_type(data)}")
            return data
        fields = cls.__pydantic_fields__
        if not data.keys() - fields.keys() and not (
            from_file(info) and any(data.get(name, 0) is None for name in _optional_fields(cls))
        ):
            return data  # the usual case (known keys, no null where refused): no loop over every key
        for key, value in data.items():
            if not isinstance(key, str):
                raise field_error("", f"keys must be strings, got {key!r}")
            field = fields.get(key)
            if field is None:
                _check_json_value(value, key)
            elif value is None and from_file(info) and not field.is_required():
                raise field_error(key, "null is not allowed (leave the key out when the value is unknown)")
        return data

    @model_serializer(mode="wrap")
    def _serialize(self, handler: Any, info: SerializationInfo) -> Any:
        data = handler(self)
        if info.mode_is_json() and isinstance(data, dict):
            for name in _optional_fields(type(self)):
                if name in data and data[name] is None:
                    del data[name]
        return data

    @classmethod
    def from_file_dict(cls, data: Any, path: Path | str | None = None) -> Self:
        """Validate the parsed JSON of a file; raises :class:`RecordingFormatError` naming ``path``."""
        try:
            return cls.model_validate(data, context={FILE_CONTEXT: True})
        except ValidationError as exc:
            raise format_validation_error(exc, path) from None

    def to_file_dict(self) -> dict[str, Any]:
        """The JSON data of the file form (strings for prices, amounts and times)."""
        return self.model_dump(mode="json")

    def to_json_bytes(self) -> bytes:
        """The file's bytes (deterministic). Refuses, with :class:`RecordingFormatError`, a value that
        would not read back (e.g. a field changed behind validation's back)."""
        data = self.to_file_dict()
        type(self).from_file_dict(data)
        return dumps_document(data)

    @classmethod
    def from_json_bytes(cls, data: bytes, path: Path | str | None = None) -> Self:
        """Parse and validate a file's bytes strictly; every problem is a :class:`RecordingFormatError`."""
        return cls.from_file_dict(loads_document(data, path), path)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated like a new value (``model_copy`` would not validate)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Keys this version does not know, read from a file (or given) and written back unchanged."""
        return dict(self.model_extra or {})


@functools.cache
def _optional_fields(cls: type[RecordModel]) -> tuple[str, ...]:
    """The fields of a model that may be left out (asked once per class: every action is a model)."""
    return tuple(name for name, field in cls.__pydantic_fields__.items() if not field.is_required())


def _check_json_value(value: Any, path: str, depth: int = 0) -> None:
    """Unknown keys may hold any JSON value, but only JSON values (finite numbers, string keys)."""
    if depth > 64:
        raise field_error(path, "nested too deeply")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise field_error(path, f"non-finite number {value!r}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json_value(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise field_error(path, f"keys must be strings, got {key!r}")
            _check_json_value(item, f"{path}.{key}", depth + 1)
        return
    raise field_error(path, f"not a JSON value: {type(value).__name__}")


# -- error formatting --


def join_path(parts: list[Any] | tuple[Any, ...]) -> str:
    """``("actions", 3, "price") -> "actions[3].price"``; string parts may themselves be dotted paths."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "":
            continue
        elif str(part).startswith("["):
            out += str(part)
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(err: Any) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    got = f"got {json_type(value)} {short_value(value)}" if value is not None else "got null"
    if kind == "missing":
        return "required field is missing"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"expected an integer, {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, {got}"
    if kind == "string_type":
        return f"expected a string, {got}"
    if kind in ("tuple_type", "list_type", "iterable_type"):
        return f"expected an array, {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return f"expected an object, {got}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}, got {short_value(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"longer than {ctx.get('max_length')} characters"
    if kind in ("enum", "literal_error"):
        return f"unknown value {short_value(value)}; expected {ctx.get('expected')}"
    return str(err.get("msg", kind))


def format_validation_error(exc: ValidationError, path: Path | str | None) -> RecordingFormatError:
    """Turn pydantic's error into ours: field paths in JSON terms, one clean message per problem."""
    problems: list[tuple[str | None, str]] = []
    for err in exc.errors(include_url=False):
        loc = list(err.get("loc", ()))
        ctx = err.get("ctx") or {}
        if err["type"] == "recording_field":
            field, detail = join_path([*loc, ctx.get("sub", "")]), str(ctx.get("message", err["msg"]))
        elif err["type"] == "recording_value":
            field, detail = join_path(loc), str(ctx.get("message", err["msg"]))
        else:
            field, detail = join_path(loc), _describe(err)
        problems.append((field or None, detail))
    field, detail = problems[0] if problems else (None, str(exc))
    return RecordingFormatError(path, field, detail, problems)
