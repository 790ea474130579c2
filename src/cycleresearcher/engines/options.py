"""Engine settings checked against each engine's constructor, so the list never drifts.

``--engine-opt n_ctxx=4096`` used to vanish into ``**_ignored`` (the run store still said n_ctx
8192) and ``max_concurrency=abc`` reached the engine as a string and raised a TypeError deep inside.
:func:`check_engine_options` refuses unknown keys with the known ones, and converts each value to
the type the constructor's annotation (or default) asks for, or says what that type is.
"""

from __future__ import annotations

import difflib
import inspect
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError

#: passed by create_engine / the global options themselves, never a user's --engine-opt
_NOT_OPTIONS = {"self", "model"}
#: given to every engine by the CLI (``--api-key`` reads $OPENAI_API_KEY): dropped where unused
_SHARED = {"api_key"}
_FALSE = {"false", "0", "no", "off"}
_TRUE = {"true", "1", "yes", "on"}


def engine_parameters(cls: type) -> dict[str, tuple[Any, inspect.Parameter]]:
    """``{name: (annotation, parameter)}`` of the settings ``cls(...)`` accepts."""
    init = cls.__init__  # type: ignore[misc]
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # an annotation that does not resolve: fall back to the defaults' types
        hints = {}
    out = {}
    for name, p in inspect.signature(init).parameters.items():
        if name in _NOT_OPTIONS or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        ann = hints.get(name, inspect.Parameter.empty)
        if ann is inspect.Parameter.empty and p.default not in (inspect.Parameter.empty, None):
            ann = type(p.default)
        out[name] = (ann, p)
    return out


def _members(ann: Any) -> tuple[Any, ...]:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return typing.get_args(ann)
    return (ann,)


def _describe(ann: Any) -> str:
    names = []
    for m in _members(ann):
        origin = typing.get_origin(m) or m
        if m is type(None):
            names.append("none")
        elif origin is bool:
            names.append("true/false")
        elif origin is int:
            names.append("an integer")
        elif origin is float:
            names.append("a number")
        elif origin is str:
            names.append("text")
        elif isinstance(origin, type) and issubclass(origin, Mapping):
            names.append('a JSON object (e.g. {"top_k": 20})')
        elif isinstance(origin, type) and issubclass(origin, Sequence):
            names.append("a comma-separated list")
        else:
            names.append(str(m))
    return " or ".join(names)


def _convert(value: Any, ann: Any) -> Any:
    """``value`` as ``ann`` asks, or raise ValueError. Strings (from the command line) are parsed."""
    if ann is inspect.Parameter.empty or ann is Any:
        return value
    members = _members(ann)
    if value is None:
        if type(None) in members:
            return None
        raise ValueError
    if isinstance(value, str) and value.strip().lower() in ("none", "null") and type(None) in members:
        return None
    for m in members:
        if m is type(None):
            continue  # handled above
        origin = typing.get_origin(m) or m
        try:
            if origin is bool:
                if isinstance(value, bool):
                    return value
                if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                    return value.strip().lower() in _TRUE
            elif origin is int:
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
                if isinstance(value, str):
                    return int(value.strip())
                if isinstance(value, float) and value.is_integer():
                    return int(value)
            elif origin is float:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return float(value)
                if isinstance(value, str):
                    return float(value.strip())
            elif origin is str:
                if isinstance(value, str):
                    return value
            elif isinstance(origin, type) and issubclass(origin, Mapping):
                if isinstance(value, Mapping):
                    return dict(value)
                if isinstance(value, str):
                    from .. import safejson

                    parsed = safejson.loads(value, "engine option")
                    if isinstance(parsed, dict):
                        return parsed
            elif isinstance(origin, type) and issubclass(origin, Sequence):
                if isinstance(value, (list, tuple)):
                    return value
                if isinstance(value, str):
                    (item,) = typing.get_args(m) or (str,)
                    return [_convert(v.strip(), item) for v in value.split(",") if v.strip()]
            else:  # a callable, a custom class: the API's business, pass it on
                return value
        except (ValueError, TypeError, InputError):
            continue
    raise ValueError


def check_engine_options(name: str, cls: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``cls`` accepts, each converted to its annotated type; InputError otherwise."""
    params = engine_parameters(cls)
    known = ", ".join(sorted(params))
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in params:
            if key in _SHARED:
                continue
            close = difflib.get_close_matches(key, params, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InputError(
                f"Unknown engine option '{key}' for the {name} engine.{hint} "
                f"Known options (--engine-opt KEY=VALUE): {known or 'none'}."
            )
        ann, _ = params[key]
        try:
            checked[key] = _convert(value, ann)
        except ValueError:
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            raise InputError(
                f"Engine option '{key}' of the {name} engine expects {_describe(ann)}, got {shown!r}. "
                f"Fix it: --engine-opt {key}=VALUE."
            ) from None
    return checked
