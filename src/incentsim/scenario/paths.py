"""Dotted paths into a scenario's (or program's) data: the one path language of incentsim.

``--set KEY.PATH=VALUE``, sensitivity factors and the optimizer's levers all name a place in a
document the same way: keys joined by dots, a number indexing a list, ``*`` matching every key
of a mapping (``program.tiers.*.rebate_rate``: every tier's rate). :func:`locate` walks such a
path; :func:`set_path` sets a value there (creating missing mappings, as ``--set`` does);
:func:`update_path` replaces the values there by a function of each (a :class:`Change`, as a
sensitivity factor that scales a rate); :func:`nest` turns ``{"a.b": 1}`` into
``{"a": {"b": 1}}``, the form of a segment override, and :func:`flatten` turns such a mapping
back into paths. A path may also be given as its parts (``("segment_overrides", "a.b",
"partner_cap")``), for keys that hold a dot, such as a designer's segment name.

>>> data = {"tiers": {"gold": {"rate": 0.03}, "silver": {"rate": 0.02}}}
>>> [where for _, _, where in locate(data, "tiers.*.rate")]
['tiers.gold.rate', 'tiers.silver.rate']
>>> set_path(data, "tiers.gold.cap", 5000)
>>> data["tiers"]["gold"]
{'rate': 0.03, 'cap': 5000}
>>> update_path(data, "tiers.*.rate", lambda rate, where: rate * 2)
>>> [data["tiers"][t]["rate"] for t in data["tiers"]]
[0.06, 0.04]
>>> nest({"rebate.cap": 1000, "rebate.basis": "marginal"})
{'rebate': {'cap': 1000, 'basis': 'marginal'}}
>>> flatten({"rebate": {"cap": 1000, "basis": "marginal"}, "tiers": {}})
{('rebate', 'cap'): 1000, ('rebate', 'basis'): 'marginal'}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Change",
    "KeyPath",
    "PathError",
    "flatten",
    "locate",
    "nest",
    "set_path",
    "split_path",
    "update_path",
]

#: A path: keys joined by dots, or the keys themselves (a key may then hold a dot).
KeyPath = str | Sequence[str]

#: Matches every key of a mapping.
WILDCARD = "*"


class PathError(ValueError):
    """A path that does not fit the data; the message says where and why, ``path`` which path
    it was (as written)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Change:
    """A value computed from the one it replaces: ``function(current, where)``, ``where`` the
    place's dotted path with wildcards resolved (for messages)."""

    function: Callable[[Any, str], Any]


def split_path(path: KeyPath) -> list[str]:
    """The parts of a dotted path (a path given as its parts: those parts).

    Raises
    ------
    PathError
        An empty path or an empty part (``a..b``).
    """
    parts = path.strip().split(".") if isinstance(path, str) else [str(p) for p in path]
    if not all(parts) or not parts:
        text = _written(path)
        raise PathError(f"'{text}' is not a dotted path: every part must be non-empty", text)
    return parts


def _written(path: KeyPath) -> str:
    """``path`` as a dotted path (for messages)."""
    return path if isinstance(path, str) else ".".join(map(str, path))


def locate(
    data: Any, path: KeyPath, *, create: bool = False, document: str = "scenario"
) -> Iterator[tuple[Any, Any, str]]:
    """``(container, key, where)`` for every place ``path`` reaches in ``data``.

    ``container[key]`` is the place; ``where`` its dotted path with wildcards resolved. With
    ``create``, a missing (or empty) mapping along the way is created and a missing last key is
    reported for the caller to set; without it, a missing key is an error.

    Raises
    ------
    PathError
        A key that is not in ``data`` (with the keys that are, named ``document`` in the
        message), a list indexed by something other than an in-range number, or a path that
        goes on past a single value.
    """
    parts, text = split_path(path), _written(path)

    def walk(node: Any, depth: int, trail: str) -> Iterator[tuple[Any, Any, str]]:
        part, last = parts[depth], depth == len(parts) - 1
        where = f"{trail}.{part}" if trail else part
        if isinstance(node, Mapping):
            if part == WILDCARD:
                keys: list[Any] = list(node)
                if not keys:
                    raise PathError(f"'{where}' matches nothing: '{trail}' is empty", text)
            elif part in node and (last or node[part] is not None or not create):
                keys = [part]
            elif create and isinstance(node, MutableMapping):
                if not last:
                    node[part] = {}
                keys = [part]
            else:
                known = ", ".join(map(str, node))
                raise PathError(
                    f"'{where}' is not in the {document}" + (f" (known: {known})" if known else ""),
                    text,
                )
        elif isinstance(node, list):
            if not part.isdigit():
                raise PathError(f"'{where}': a list needs a numeric index, not '{part}'", text)
            if int(part) >= len(node):
                raise PathError(
                    f"'{where}': index {part} out of range (the list has {len(node)})", text
                )
            keys = [int(part)]
        else:
            raise PathError(f"'{trail}' is a single value, not a mapping or list", text)
        for key in keys:
            here = f"{trail}.{key}" if trail else str(key)
            if last:
                yield node, key, here
            else:
                yield from walk(node[key], depth + 1, here)

    return walk(data, 0, "")


def set_path(
    data: MutableMapping[str, Any], path: KeyPath, value: Any, *, document: str = "scenario"
) -> None:
    """Set ``value`` at every place ``path`` reaches in ``data`` (in place), creating missing
    mappings along the way (``document`` names ``data`` in messages).

    Raises
    ------
    PathError
        As :func:`locate`.
    """
    for container, key, _ in list(locate(data, path, create=True, document=document)):
        container[key] = value


def update_path(
    data: Any, path: KeyPath, change: Callable[[Any, str], Any], *, document: str = "scenario"
) -> None:
    """Replace the value at every place ``path`` reaches in ``data`` (in place) by
    ``change(value, where)``; every key on the way must exist (``document`` names ``data`` in
    messages).

    Raises
    ------
    PathError
        As :func:`locate`.
    """
    for container, key, where in list(locate(data, path, document=document)):
        container[key] = change(container[key], where)


def nest(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": v}`` as the nested mapping ``{"a": {"b": v}}`` (paths without wildcards)."""
    nested: dict[str, Any] = {}
    for path, value in settings.items():
        if WILDCARD in split_path(path):
            raise PathError(f"'{path}': a wildcard names no single place to nest", path)
        set_path(nested, path, value)
    return nested


def flatten(nested: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """The paths (as parts) and values of a nested mapping: :func:`nest` undone. Lists and
    other values are leaves; an empty mapping has none, so setting the paths
    (:func:`set_path`) merges ``nested`` into a document as
    :func:`~incentsim._merge.deep_merge` does."""
    found: dict[tuple[str, ...], Any] = {}
    for key, value in nested.items():
        if isinstance(value, Mapping):
            found.update({(str(key), *rest): leaf for rest, leaf in flatten(value).items()})
        else:
            found[(str(key),)] = value
    return found
