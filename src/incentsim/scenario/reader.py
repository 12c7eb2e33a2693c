"""Read the YAML of every incentsim file kind (scenario, program, experiment, optimisation,
factors) and of ``--set`` values, the same safe way.

- A key written twice in one mapping is refused (plain ``safe_load`` keeps the last silently).
- Every problem is a :class:`~incentsim.errors.ScenarioError` (or the subclass the caller asks
  for) naming the file and, where known, the line: a file that cannot be read (missing, a
  folder, no permission, a name too long, not UTF-8, larger than :data:`MAX_FILE_BYTES`), YAML
  that does not parse, a value its tag cannot hold (``2027-02-30``, ``!!int abc``), and a
  document larger than :data:`MAX_NODES` values once its aliases are expanded (an alias bomb)
  or nested deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from incentsim.errors import ScenarioError

#: The largest YAML file read (bytes); incentsim's own files are a few kilobytes.
MAX_FILE_BYTES = 5_000_000
#: The most values (mappings, lists and scalars, aliases counted each time they are used) a
#: document may hold; the largest bundled file holds about 600.
MAX_NODES = 200_000
#: The deepest nesting of mappings and lists a document may have; scenarios nest about 8 deep.
MAX_DEPTH = 64


#: What PyYAML's constructors raise for a value their tag cannot hold (``!!bool maybe`` is a
#: KeyError, ``!!int ""`` an IndexError, ``!!timestamp x`` an AttributeError...).
_CONSTRUCTION_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class YamlProblem(ValueError):
    """YAML text that cannot be read safely; the message says why and where (line, column)."""


def read_yaml_file(path: Path, error: type[ScenarioError] = ScenarioError) -> Any:
    """The document in a YAML file (``None`` when it is empty).

    Parameters
    ----------
    path
        The file.
    error
        The error raised, named after the file (``OptimizationSpecError`` for an optimisation).

    Raises
    ------
    ScenarioError
        Of type ``error``: the file cannot be read or its YAML cannot be (see the module notes).
    """
    shown = shown_path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problem = f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB"
            raise error(shown, [("", problem)])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error(shown, [("", f"cannot read the file: {reason}")]) from None
    try:
        return parse_yaml(text)
    except YamlProblem as exc:
        raise error(shown, [("", str(exc))]) from None


def parse_yaml(text: str) -> Any:
    """The document in YAML ``text`` (``None`` when it holds none).

    Raises
    ------
    YamlProblem
        The text does not parse, a value does not fit its tag, or the document is too large or
        too deep once aliases are expanded.
    """
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlProblem(_yaml_problem(exc)) from None
    except _CONSTRUCTION_ERRORS as exc:  # a mapping's tag on a list, say: no line known
        raise YamlProblem(f"invalid YAML: a value does not fit its tag ({exc})") from None
    except RecursionError:
        raise YamlProblem(f"invalid YAML: nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def is_file(path: Path) -> bool:
    """Whether ``path`` is a file; ``False`` rather than an error for a name that cannot be one
    (too long, a loop of links)."""
    try:
        return path.is_file()
    except OSError:
        return False


def shown_path(path: Path) -> str:
    """A path as short as it can be shown: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


class _SafeLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key written twice in one mapping, and reports a value
    its tag cannot hold (``2027-02-30``, ``!!int abc``) as a YAML error with its line."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):  # !!map on a list, say
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, but found a {node.id}", node.start_mark
            )
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found key '{key_node.value}' twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except _CONSTRUCTION_ERRORS as exc:
            value = node.value if isinstance(node, yaml.ScalarNode) else getattr(node, "id", "node")
            tag = node.tag.rsplit(":", 1)[-1]
            detail = f" ({exc})" if type(exc) is ValueError else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"'{value}' is not a valid {tag}{detail}", node.start_mark
            ) from None


def _check_size(root: yaml.Node) -> None:
    """Refuse a document too large (aliases expanded) or too deep, without expanding it."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise _too_large(
                    node,
                    f"the document holds more than {MAX_NODES:,} values once its aliases are "
                    "expanded",
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _too_large(node, "an alias refers to the mapping or list that holds it")
        if depth > MAX_DEPTH:
            raise _too_large(node, f"the document is nested deeper than {MAX_DEPTH} levels")
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _too_large(node: yaml.Node, problem: str) -> yaml.YAMLError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error as one line naming the line and column where it was found."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
    detail = f" ({context})" if context else ""
    return f"invalid YAML{where}: {problem}{detail}"
