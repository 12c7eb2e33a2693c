"""Read scenario and program files: YAML, ``extends``, ``--set`` overrides and validation.

A scenario file is YAML whose top level is a mapping. A top-level ``extends`` names one file, or a
list of files, that the scenario builds on; paths are relative to the extending file. Parents
are read recursively and deep-merged in order (a later parent wins over an earlier one, the
extending file wins over its parents; mappings merge key by key, lists are replaced whole).

Overrides given on the command line as ``KEY.PATH=VALUE`` (``program.tiers.gold.rebate_rate=0.04``,
``market.shocks.0.magnitude=0.3``, ``market.shocks=[]``) are applied after ``extends``; the value
is read as YAML, so numbers, booleans, lists and mappings keep their types.

Every problem is raised as a :class:`~incentsim.errors.ScenarioError` naming the file and, for
validation problems, the dotted path of the field at fault. Validation problems of a merged
scenario name the file that was loaded, whichever file in the ``extends`` chain (or ``--set``)
the value came from.

A *program file* holds only the incentive program: either the program's keys at top level
(``tiers``, ``rebate``, ``budget``, ...) or a single top-level ``program`` key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import types
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from incentsim._merge import deep_merge
from incentsim.errors import ScenarioError
from incentsim.program.spec import Program
from incentsim.scenario.model import Scenario
from incentsim.scenario.paths import Change, KeyPath, PathError, set_path, update_path
from incentsim.scenario.reader import (
    YamlProblem,
    is_file,
    parse_yaml,
    read_yaml_file,
    shown_path,
)

EXTENDS = "extends"

#: Fields whose free-form mappings are partial programs keyed by segment or region name; error
#: paths inside them are walked as :class:`Program` to suggest key names.
_SHAPED_AS: dict[tuple[type[BaseModel], str], Any] = {
    (Program, "segment_overrides"): dict[str, Program],
    (Program, "region_overrides"): dict[str, Program],
}

#: Pydantic messages reworded in the designer's terms.
_MESSAGES = {
    "Extra inputs are not permitted": "unknown key",
    "Field required": "missing required key",
}

_UNKNOWN_KEY = "unknown key"
_DOTTED_PREFIX = re.compile(r"^([A-Za-z_]\w*(?:\.[\w-]+)*): (.+)$", re.DOTALL)

Kind = Literal["scenario", "program"]
M = TypeVar("M", bound=BaseModel)


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, merge and validate a scenario file.

    Parameters
    ----------
    path
        The scenario's YAML file.
    overrides
        ``KEY.PATH=VALUE`` strings applied after ``extends`` is resolved.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        The file cannot be read, is not valid YAML, or does not validate.
    """
    return _with_partner_file(_validate(Scenario, read_document(path, overrides), path), path)


def load_program(path: str | Path, overrides: Sequence[str] = ()) -> Program:
    """Read and validate a program file, or take the program of a full scenario file.

    Parameters
    ----------
    path
        A program file (program keys at top level, or a single ``program`` key) or a scenario
        file; a scenario is validated whole, so its cross-references are checked too.
    overrides
        ``KEY.PATH=VALUE`` strings, with paths as they appear in the file.

    Returns
    -------
    Program
        The validated program.
    """
    document = load_document(path, overrides)
    return document.program if isinstance(document, Scenario) else document


def load_document(path: str | Path, overrides: Sequence[str] = ()) -> Scenario | Program:
    """Read a file and validate it as what it holds: a scenario or a program.

    See :func:`document_kind` for how the two are told apart.
    """
    data = read_document(path, overrides)
    if document_kind(data) == "scenario":
        return _with_partner_file(_validate(Scenario, data, path), path)
    if set(data) == {"program"}:
        return _validate(Program, data["program"], path, prefix=("program",))
    return _validate(Program, data, path)


def document_kind(data: Mapping[str, Any]) -> Kind:
    """Whether a merged document is a scenario or a program.

    A document is a program when its only key is ``program``, or when it has program keys
    (``tiers``, ``rebate``, ...) and no scenario keys (``name``, ``population``, ...) at top level.
    Anything else is a scenario, so a scenario with a misspelt key is reported as one.
    """
    keys = set(data)
    if keys == {"program"}:
        return "program"
    if keys & set(Program.model_fields) and not keys & set(Scenario.model_fields):
        return "program"
    return "scenario"


def scenario_from_dict(data: Mapping[str, Any], file: str | Path | None = None) -> Scenario:
    """Validate a scenario given as a mapping (as if read from ``file``).

    Parameters
    ----------
    data
        The scenario's keys. An ``extends`` key is resolved relative to ``file``'s folder, or to
        the working directory when ``file`` is ``None``.
    file
        The file the mapping stands for, named in errors.
    """
    origin = None if file is None else Path(file).resolve()
    chain = () if origin is None else (origin,)
    scenario = _validate(Scenario, _resolve_extends(dict(data), origin, chain), file)
    return _with_partner_file(scenario, file)


#: Values to set at paths: a mapping, or ``(path, value)`` pairs when one path is set twice.
Values = Mapping[str, Any] | Mapping[tuple[str, ...], Any] | Iterable[tuple[KeyPath, Any]]


def with_values(scenario: Scenario, values: Values) -> Scenario:
    """``scenario`` with each path of ``values`` set to its value, validated again.

    The paths are in the one path language (:mod:`incentsim.scenario.paths`, as ``--set``
    writes them: ``market.shocks``, ``program.budget.reserve.initial``, ``*`` for every key of
    a mapping; or as their parts, for keys holding a dot); values are set in the order given
    (a mapping, or ``(path, value)`` pairs when one path is changed twice), on the scenario's
    JSON form (:func:`set_values`). A :class:`~incentsim.scenario.paths.Change` is computed
    from the value it replaces (which must exist); any other value is set, creating missing
    mappings on the way.

    Raises
    ------
    PathError
        A path that does not fit the scenario.
    ScenarioError
        The changed scenario is invalid.
    """
    data = scenario.model_dump(mode="json")
    set_values(data, values)
    return scenario_from_dict(data)


def set_values(data: MutableMapping[str, Any], values: Values, document: str = "scenario") -> None:
    """Set ``values`` in a document's JSON form ``data`` (in place) as :func:`with_values`
    does, for a caller that validates the document itself (a program: ``document`` names it
    in messages).

    Raises
    ------
    PathError
        A path that does not fit ``data``.
    """
    for path, value in values.items() if isinstance(values, Mapping) else values:
        if isinstance(value, Change):
            update_path(data, path, value.function, document=document)
        else:
            set_path(data, path, value, document=document)


def scenario_hash(scenario: BaseModel) -> str:
    """The SHA-256 of the validated scenario's canonical JSON (no spaces).

    Two files that validate to the same scenario (whatever their ``extends`` chain, comments,
    number spelling or the order of a model's fields) have the same hash. The order of
    designer-named entries (segments, regions, tiers, SPIFFs...) is kept, because it matters:
    tiers rank lowest first, and segment order sets how partners are drawn. A scenario without
    a ``calibration`` block hashes as before the block existed.
    """
    data = scenario.model_dump(mode="json")
    if "calibration" in data and data["calibration"] is None:
        del data["calibration"]
    canonical = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_document(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """A file's mapping with ``extends`` resolved and ``overrides`` applied, not yet validated."""
    data = _read_tree(Path(path), chain=())
    for override in overrides:
        apply_override(data, override, file=path)
    return data


# --- files and extends ---------------------------------------------------------------------------


def _read_tree(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """One file merged over everything it extends; ``chain`` holds the files extending it."""
    resolved = path.resolve()
    if resolved in chain:
        names = " -> ".join(shown_path(p) for p in (*chain, resolved))
        raise ScenarioError(shown_path(chain[-1]), [(EXTENDS, f"cycle: {names}")])
    return _resolve_extends(_read_yaml(path), resolved, (*chain, resolved))


def _resolve_extends(
    data: dict[str, Any], origin: Path | None, chain: tuple[Path, ...]
) -> dict[str, Any]:
    """``data`` merged over the files its ``extends`` key names (the key is removed), with a
    relative ``population.source`` made relative to the folder of the file that names it."""
    targets = _extends_targets(data.pop(EXTENDS, []), origin)
    population = data.get("population")
    if origin is not None and isinstance(population, dict):
        source = population.get("source")
        if isinstance(source, str) and source and not Path(source).is_absolute():
            data = {**data, "population": {**population, "source": str(origin.parent / source)}}
    merged: dict[str, Any] = {}
    for written, target in targets:
        if not is_file(target):
            problem = f"cannot find '{written}' (looked for {shown_path(target)})"
            raise ScenarioError(origin and shown_path(origin), [(EXTENDS, problem)])
        merged = deep_merge(merged, _read_tree(target, chain))
    return deep_merge(merged, data)


def _extends_targets(value: Any, origin: Path | None) -> list[tuple[str, Path]]:
    """The files an ``extends`` value names, as written and as paths."""
    written = [value] if isinstance(value, str) else value
    if not isinstance(written, list) or not all(isinstance(w, str) and w for w in written):
        problem = "must be a file name or a list of file names"
        raise ScenarioError(origin and shown_path(origin), [(EXTENDS, problem)])
    folder = Path.cwd() if origin is None else origin.parent
    return [(w, folder / w) for w in written]


def _read_yaml(path: Path) -> dict[str, Any]:
    """A YAML file's top-level mapping."""
    data = read_yaml_file(path)
    if data is None:
        raise ScenarioError(
            shown_path(path), [("", "the file is empty; expected a mapping of keys")]
        )
    if not isinstance(data, dict):
        found = type(data).__name__
        problem = f"the top level must be a mapping of keys, not a {found}"
        raise ScenarioError(shown_path(path), [("", problem)])
    return data


# --- command-line overrides ----------------------------------------------------------------------


def apply_override(data: dict[str, Any], override: str, file: str | Path | None = None) -> None:
    """Set one ``KEY.PATH=VALUE`` in ``data`` (in place).

    The path is in the one path language (:mod:`incentsim.scenario.paths`): missing mappings
    along it are created, numeric parts index lists and must be in range, ``*`` sets every key
    of a mapping (``program.tiers.*.rebate_rate=0.03``).

    Raises
    ------
    ScenarioError
        The override is malformed or its path does not fit ``data``; the message quotes it.
    """
    key, sep, text = override.partition("=")
    if not sep or not all(key.strip().split(".")):
        _bad_override(file, override, "expected KEY.PATH=VALUE with a non-empty dotted path")
    try:
        value = parse_yaml(text)
    except YamlProblem as exc:
        _bad_override(file, override, str(exc))
    try:
        set_path(data, key, value)
    except PathError as exc:
        _bad_override(file, override, str(exc))


def _bad_override(file: str | Path | None, override: str, reason: str) -> NoReturn:
    raise ScenarioError(file, [("", f"bad --set '{override}': {reason}")])


# --- validation and readable errors --------------------------------------------------------------


def _with_partner_file(scenario: Scenario, file: str | Path | None) -> Scenario:
    """``scenario`` with ``population.partners`` taken from its partner file (when it names
    one), after checking the file (see :func:`~incentsim.population.sample.load_partners_csv`).

    Raises
    ------
    DataError
        The partner file is missing, unreadable or invalid.
    ScenarioError
        ``population.partners`` is written and differs from the number of partners listed.
    """
    # pandas loads only for a partner file, so validating a scenario stays quick
    from incentsim.population.sample import load_partners_csv

    population = scenario.population
    if population.source is None:
        return scenario
    listed = len(load_partners_csv(population.source, population))
    if population.partners == listed:
        return scenario
    if "partners" in population.model_fields_set:
        problem = (
            f"is {population.partners} but the partner file {shown_path(Path(population.source))}"
            f" lists {listed} partners; set population.partners to {listed} or leave it out"
        )
        raise ScenarioError(file, [("population.partners", problem)])
    counted = population.model_copy(update={"partners": listed})
    return scenario.model_copy(update={"population": counted})


def _validate(
    model: type[M], data: Any, file: str | Path | None, prefix: tuple[str, ...] = ()
) -> M:
    """``data`` validated as ``model``, with pydantic's errors turned into a ScenarioError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(model, error, prefix) for error in exc.errors()]
        raise ScenarioError(file, problems) from None


def _problem(
    model: type[BaseModel], error: Mapping[str, Any], prefix: tuple[str, ...]
) -> tuple[str, str]:
    """One pydantic error as (dotted path, message)."""
    loc = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    embedded = _DOTTED_PREFIX.match(message)
    if error["type"] == "value_error" and embedded:
        loc += tuple(embedded.group(1).split("."))
        message = embedded.group(2).removeprefix("Value error, ")
    message = _MESSAGES.get(message, message)
    if message == _UNKNOWN_KEY:
        path, parent = _walk(model, loc[:-1])
        return _joined(prefix, [*path, str(loc[-1])]), _unknown_key(str(loc[-1]), parent)
    path, node = _walk(model, loc)
    if error["type"] == "union_tag_not_found":
        message = f"missing key {error['ctx']['discriminator']} ({_tags(node)})"
    elif error["type"] == "union_tag_invalid":
        message = _unknown_tag(error["ctx"], node)
    elif error["type"] not in ("value_error", "missing") and _is_scalar(error.get("input")):
        message = f"{message} (got {error['input']!r})"
    return _joined(prefix, path), message


def _joined(prefix: tuple[str, ...], path: Sequence[str]) -> str:
    return ".".join([*prefix, *path])


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _unknown_key(key: str, parent: Any) -> str:
    """'unknown key', with the closest allowed key when the location's model is known."""
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return _UNKNOWN_KEY
    close = difflib.get_close_matches(key, list(parent.model_fields), n=1, cutoff=0.6)
    return f"{_UNKNOWN_KEY} (did you mean '{close[0]}'?)" if close else _UNKNOWN_KEY


def _walk(model: type[BaseModel], loc: Sequence[Any]) -> tuple[list[str], Any]:
    """Follow an error location through the model's types.

    Returns the location as readable parts (without the tag a discriminated union adds, such as
    ``lognormal``) and the type reached, or ``None`` where the types cannot be followed.
    """
    path: list[str] = []
    node: Any = model
    for item in loc:
        node = _unwrap(node)
        member = _tagged_member(node, item)
        if member is not None:
            node = member
            continue
        path.append(str(item))
        node = _step(node, item)
    return path, _unwrap(node)


def _step(node: Any, item: Any) -> Any:
    """The type found at ``item`` below ``node``: a model's field, a mapping's or list's item."""
    if isinstance(node, type) and issubclass(node, BaseModel):
        if (node, item) in _SHAPED_AS:
            return _SHAPED_AS[node, item]
        field = node.model_fields.get(str(item))
        return None if field is None else field.annotation
    if get_origin(node) is dict:
        return get_args(node)[1]
    if get_origin(node) is list:
        return get_args(node)[0]
    return None


def _unwrap(node: Any) -> Any:
    """``node`` without ``Annotated`` and without ``None`` as a union alternative."""
    while True:
        if get_origin(node) is Annotated:
            node = get_args(node)[0]
        elif _is_union(node) and len(_members(node)) == 1:
            node = _members(node)[0]
        else:
            return node


def _is_union(node: Any) -> bool:
    return get_origin(node) in (Union, types.UnionType)


def _members(node: Any) -> list[Any]:
    return [arg for arg in get_args(node) if arg is not type(None)]


def _tagged_member(node: Any, item: Any) -> Any:
    """The union member ``item`` is the tag of, when ``node`` is a tagged union of models."""
    if not _is_union(node):
        return None
    for member in _members(node):
        if isinstance(item, str) and item in _member_tags(member):
            return member
    return None


def _member_tags(member: Any) -> set[Any]:
    """The literal values a model's fields can take (a tagged union member's tag among them)."""
    if not (isinstance(member, type) and issubclass(member, BaseModel)):
        return set()
    tags: set[Any] = set()
    for field in member.model_fields.values():
        if get_origin(field.annotation) is Literal:
            tags.update(get_args(field.annotation))
    return tags


def _union_tags(node: Any) -> list[Any]:
    """The tags a tagged union of models accepts, in the union's order."""
    return [tag for member in _members(node) for tag in sorted(_member_tags(member))]


def _tags(node: Any) -> str:
    """The tags a union accepts, for a message about a missing or unknown one."""
    tags = _union_tags(node)
    return "one of " + ", ".join(f"'{tag}'" for tag in tags) if tags else "it selects the kind"


def _unknown_tag(ctx: Mapping[str, Any], node: Any) -> str:
    """A tag no union member has, with the closest one when there is one."""
    tags = [str(tag) for tag in _union_tags(node)]
    close = difflib.get_close_matches(str(ctx["tag"]), tags, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    key = str(ctx["discriminator"]).strip("'")
    return f"unknown {key} '{ctx['tag']}' ({_tags(node)}{hint})"
