"""Read an action manifest as GitHub's runner does, and list what makes the runner refuse it.

The runner reads every `action.yml` through a template schema (`action_yaml.json`, vendored in
`tests/fixtures/actions-runner/` from actions/runner) with its `TemplateReader`, then converts the
result in `ActionManifestManager`. Any error there fails the job at "Set up job" with "Failed to
load .../action.yml", before a step runs. Linters check GitHub's published JSON schema instead,
which knows nothing of the rules below. This module ports the runner's rules, with the runner's
messages:

- YAML as the runner reads it: one document, no anchors or aliases, YAML 1.2 core scalars, only
  the `!!str`, `!!bool`, `!!int`, `!!float` and `!!null` tags.
- every string holding `${{` is parsed as a template expression; outside a definition that names
  a context (a description, a name, `runs.entrypoint`, `runs.post-if` ...) any expression but a
  quoted literal is refused; inside one, only the named values and functions of that context
  (plus the built-in functions) are known, and functions take their number of parameters;
- mappings take only the properties their definition names, unless it has loose keys; keys are
  unique ignoring case; required properties must be there; a `one-of` mapping (`runs`) must say
  enough to pick one definition;
- a sequence, mapping or scalar only where the definition has one; a non-empty string where it
  says so;
- what `ActionManifestManager` adds: `runs` is required, `runs.using` is one it knows, a Docker
  action names an `image`, a JavaScript action its `main`, a composite one its `steps`; an input's
  `deprecationMessage` is a string.

Not ported: the expression grammar beyond its tokens (two operands in a row, say), the memory
limits, and the conversion of a composite action's steps (`WorkflowTemplateConverter`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCHEMA_FILE = Path(__file__).parent / "fixtures" / "actions-runner" / "action_yaml.json"

# The functions every expression knows (actions/runner, src/Sdk/Expressions/ExpressionConstants.cs).
BUILT_IN_FUNCTIONS: dict[str, tuple[int, int]] = {
    "case": (3, 255),
    "contains": (2, 2),
    "endswith": (2, 2),
    "format": (1, 255),
    "join": (1, 2),
    "startswith": (2, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
}
NODE_VERSIONS = ("node12", "node16", "node20", "node24")


@dataclass(frozen=True)
class Problem:
    """One error the runner would report while loading the manifest."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"(Line: {self.line}, Col: {self.column}): {self.message}"


# --- the schema ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    type: str
    required: bool = False


@dataclass(frozen=True)
class Definition:
    """A schema definition: null, boolean, number, string, sequence, mapping, one-of."""

    kind: str
    context: tuple[str, ...] = ()
    properties: dict[str, Property] = field(default_factory=dict)
    loose_key: str | None = None
    loose_value: str | None = None
    item_type: str | None = None
    one_of: tuple[str, ...] = ()
    require_non_empty: bool = False
    constant: str | None = None
    ignore_case: bool = False


SCALAR_KINDS = ("null", "boolean", "number", "string")


def _definition(raw: dict[str, Any]) -> Definition:
    context = tuple(raw.get("context", ()))
    if "mapping" in raw:
        mapping = raw["mapping"]
        properties = {
            name: Property(value)
            if isinstance(value, str)
            else Property(value["type"], bool(value.get("required")))
            for name, value in mapping.get("properties", {}).items()
        }
        return Definition(
            "mapping",
            context,
            properties=properties,
            loose_key=mapping.get("loose-key-type"),
            loose_value=mapping.get("loose-value-type"),
        )
    if "sequence" in raw:
        return Definition("sequence", context, item_type=raw["sequence"]["item-type"])
    if "one-of" in raw:
        return Definition("one-of", context, one_of=tuple(raw["one-of"]))
    if "string" in raw:
        string = raw["string"]
        return Definition(
            "string",
            context,
            require_non_empty=bool(string.get("require-non-empty")),
            constant=string.get("constant"),
            ignore_case=bool(string.get("ignore-case")),
        )
    for kind in ("null", "boolean", "number"):
        if kind in raw:
            return Definition(kind, context)
    raise ValueError(f"unknown definition: {sorted(raw)}")


class Schema:
    """The definitions of a template schema, with the runner's built-in ones."""

    def __init__(self, definitions: dict[str, Definition]) -> None:
        self.definitions: dict[str, Definition] = {
            "null": Definition("null"),
            "boolean": Definition("boolean"),
            "number": Definition("number"),
            "string": Definition("string"),
            "sequence": Definition("sequence", item_type="any"),
            "mapping": Definition("mapping", loose_key="string", loose_value="any"),
            "any": Definition(
                "one-of", one_of=("null", "boolean", "number", "string", "sequence", "mapping")
            ),
            **definitions,
        }

    @classmethod
    def load(cls, path: Path = SCHEMA_FILE) -> Schema:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
        return cls({name: _definition(value) for name, value in raw["definitions"].items()})

    def get(self, name: str) -> Definition:
        return self.definitions[name]

    def of_kind(self, name: str, *kinds: str) -> list[Definition]:
        """The definition itself if of one of `kinds`, or those it names directly in its one-of."""
        definition = self.get(name)
        if definition.kind in kinds:
            return [definition]
        if definition.kind == "one-of":
            return [self.get(n) for n in definition.one_of if self.get(n).kind in kinds]
        return []


# --- expressions --------------------------------------------------------------------------------

_KEYWORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_NUMBER = re.compile(
    r"[-+]?(?:0x[0-9A-Fa-f]+|0o[0-7]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|Infinity)\Z"
)
_BOUNDARY = set("()[],.!><=&|")
_OPERATORS = ("!=", ">=", "<=", "==", "&&", "||", "!", ">", "<")
_LITERAL_KEYWORDS = ("null", "true", "false", "NaN", "Infinity")
_CONTEXT_FUNCTION = re.compile(r"([A-Za-z0-9_]+)\(([0-9]+),([0-9]+|MAX)\)\Z")


def _is_boundary(char: str) -> bool:
    return char in _BOUNDARY or char.isspace()


def _context(allowed: Sequence[str]) -> tuple[set[str], dict[str, tuple[int, int]]]:
    """The named values and functions a context list allows, names lower-cased."""
    names: set[str] = set()
    functions = dict(BUILT_IN_FUNCTIONS)
    for item in allowed:
        match = _CONTEXT_FUNCTION.match(item)
        if match:
            high = 2**31 - 1 if match[3] == "MAX" else int(match[3])
            functions[match[1].lower()] = (int(match[2]), high)
        else:
            names.add(item.lower())
    return names, functions


def expression_error(expression: str, allowed: Sequence[str]) -> str | None:
    """Why the runner's expression parser refuses `expression` in `allowed`, or None.

    Follows the runner's lexical analyser token by token; the grammar itself is not checked.
    """
    names, functions = _context(allowed)

    def at(message: str, index: int) -> str:
        return f"{message}. Located at position {index + 1} within expression: {expression}"

    last: str | None = None  # kind of the previous token
    pending = ""  # the function whose "(" comes next
    calls: list[
        list[Any]
    ] = []  # one entry per open "(": [function name or None, parameters, start]
    i = 0
    n = len(expression)
    while i < n:
        char = expression[i]
        if char.isspace():
            i += 1
            continue
        start = i
        if char == "(":
            if last == "function":
                calls.append([pending, 0, start])
            else:
                calls.append([None, 0, start])
            i += 1
            kind = "("
        elif char == ")":
            if not calls:
                return at(f"Unexpected symbol: '{char}'", start)
            name, count, open_at = calls.pop()
            if name is not None:
                params = count + (0 if last == "(" else 1)
                low, high = functions[name.lower()]
                if params < low:
                    return at(f"Too few parameters supplied: '{name}'", open_at)
                if params > high:
                    return at(f"Too many parameters supplied: '{name}'", open_at)
            i += 1
            kind = ")"
        elif char in "[]*":
            i += 1
            kind = char
        elif char == ",":
            if calls and calls[-1][0] is not None:
                calls[-1][1] += 1
            i += 1
            kind = ","
        elif char == "'":
            i += 1
            while True:
                if i >= n:
                    return at(f"Unexpected symbol: '{expression[start:]}'", start)
                if expression[i] == "'":
                    if i + 1 < n and expression[i + 1] == "'":
                        i += 2
                        continue
                    i += 1
                    break
                i += 1
            kind = "string"
        elif char in "!><=&|":
            operator = next((o for o in _OPERATORS if expression.startswith(o, i)), None)
            if operator is None:
                return at(f"Unexpected symbol: '{char}'", start)
            i += len(operator)
            kind = "operator"
        elif char == "." and last not in (None, ",", "(", "[", "operator"):
            i += 1
            kind = "."
        elif char in "-+." or char.isdigit():
            i += 1
            while i < n and (not _is_boundary(expression[i]) or expression[i] == "."):
                i += 1
            if not _NUMBER.match(expression[start:i]):
                return at(f"Unexpected symbol: '{expression[start:i]}'", start)
            kind = "number"
        else:
            i += 1
            while i < n and not _is_boundary(expression[i]):
                i += 1
            word = expression[start:i]
            if not _KEYWORD.match(word):
                return at(f"Unexpected symbol: '{word}'", start)
            ahead = i
            while ahead < n and expression[ahead].isspace():
                ahead += 1
            if last == ".":
                kind = "property"
            elif word in _LITERAL_KEYWORDS:
                kind = "literal"
            elif ahead < n and expression[ahead] == "(":
                if word.lower() not in functions:
                    return at(f"Unrecognized function: '{word}'", start)
                pending = word
                kind = "function"
            else:
                if word.lower() not in names:
                    return at(f"Unrecognized named-value: '{word}'", start)
                kind = "named-value"
        last = kind
    if calls:
        return at("Unexpected end of expression", n - 1)
    return None


def _is_expression_string(trimmed: str) -> str | None:
    """The text of an expression made only of quoted strings (`'a''b'`), else None."""
    text: list[str] = []
    in_string = False
    for index, char in enumerate(trimmed):
        if char == "'":
            in_string = not in_string
            if in_string and index != 0:
                text.append(char)
        elif not in_string:
            return None
        else:
            text.append(char)
    return "".join(text)


# --- tokens -------------------------------------------------------------------------------------


@dataclass
class Scalar:
    kind: str  # null, boolean, number, string or expression
    value: Any
    line: int
    column: int

    def text(self) -> str:
        """The scalar as the runner's `ToString()` writes it."""
        if self.kind == "null":
            return ""
        if self.kind == "boolean":
            return "true" if self.value else "false"
        if self.kind == "number":
            number = float(self.value)
            if math.isnan(number):
                return "NaN"
            if math.isinf(number):
                return "Infinity" if number > 0 else "-Infinity"
            return f"{number:.15g}"
        return str(self.value)


@dataclass
class Mapping:
    pairs: list[tuple[Scalar, Node]]
    line: int
    column: int

    def get(self, key: str) -> Node | None:
        """The value of `key`, compared as the runner's conversion does (ordinal)."""
        return next((v for k, v in self.pairs if k.kind != "expression" and k.text() == key), None)


@dataclass
class SequenceNode:
    items: list[Node]
    line: int
    column: int


Node = Scalar | Mapping | SequenceNode


class _ReadError(Exception):
    """An error that stops the runner's YAML reader (it throws rather than records)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


_CORE_TAG = "tag:yaml.org,2002:"


def _position(event: yaml.Event) -> tuple[int, int]:
    """Line and column (from 1) where an event starts."""
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _core_scalar(value: str, line: int, column: int) -> Scalar:
    """A plain scalar typed by the YAML 1.2 core schema, as the runner types it."""
    if value in ("", "null", "Null", "NULL", "~"):
        return Scalar("null", None, line, column)
    if value in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return Scalar("boolean", value.lower() == "true", line, column)
    if re.fullmatch(r"[-+]?[0-9]+", value):
        return Scalar("number", float(int(value)), line, column)
    if re.fullmatch(r"0x[0-9A-Fa-f]+", value):
        return Scalar("number", float(int(value[2:], 16)), line, column)
    if re.fullmatch(r"0o[0-7]+", value):
        return Scalar("number", float(int(value[2:], 8)), line, column)
    special = {
        ".inf": math.inf,
        ".Inf": math.inf,
        ".INF": math.inf,
        ".nan": math.nan,
        ".NaN": math.nan,
    }
    special.update({".NAN": math.nan})
    sign = value[:1] if value[:1] in "+-" else ""
    if value[len(sign) :] in special and not (sign and "nan" in value.lower()):
        number = special[value[len(sign) :]]
        return Scalar("number", -number if sign == "-" else number, line, column)
    if re.fullmatch(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?", value):
        return Scalar("number", float(value), line, column)
    return Scalar("string", value, line, column)


class _Reader:
    """The runner's TemplateReader over PyYAML's events."""

    def __init__(self, schema: Schema, text: str) -> None:
        self.schema = schema
        self.problems: list[Problem] = []
        self.events: Iterator[yaml.Event] = yaml.parse(text)
        self.current: yaml.Event | None = None

    # events, as the runner's YamlObjectReader gives them

    def peek(self) -> yaml.Event:
        if self.current is None:
            event = next(self.events)
            line, column = _position(event)
            if isinstance(event, yaml.AliasEvent):
                raise _ReadError(
                    Problem(line, column, "Unexpected parsing event type: AnchorAlias")
                )
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                raise _ReadError(
                    Problem(
                        line,
                        column,
                        f"Anchors are not currently supported. Remove the anchor '{anchor}'",
                    )
                )
            self.current = event
        return self.current

    def take(self) -> yaml.Event:
        event = self.peek()
        self.current = None
        return event

    def literal(self) -> Scalar | None:
        event = self.peek()
        if not isinstance(event, yaml.ScalarEvent):
            return None
        self.take()
        line, column = _position(event)
        tag = event.tag
        if tag and tag != "!":
            if tag == _CORE_TAG + "str":
                return Scalar("string", event.value, line, column)
            if event.style:
                raise _ReadError(
                    Problem(
                        line,
                        column,
                        f"The scalar style on line {line} is not valid with the tag '{tag}'",
                    )
                )
            typed = _core_scalar(event.value, line, column)
            expected = {"bool": "boolean", "float": "number", "int": "number", "null": "null"}
            kind = expected.get(tag.removeprefix(_CORE_TAG)) if tag.startswith(_CORE_TAG) else None
            if kind is None:
                raise _ReadError(Problem(line, column, f"Unexpected tag '{tag}'"))
            if typed.kind != kind:
                message = (
                    f"The value '{event.value}' on line {line} and column {column} "
                    f"is invalid for the type '{tag}'"
                )
                raise _ReadError(Problem(line, column, message))
            return typed
        if event.style is None and tag is None:
            return _core_scalar(event.value, line, column)
        return Scalar("string", event.value, line, column)

    def error(self, node: Scalar | Mapping | SequenceNode, message: str) -> None:
        self.problems.append(Problem(node.line, node.column, message))

    # the template reader

    def read(self, root: str) -> Node | None:
        try:
            return self.document(root)
        except _ReadError as abort:
            self.problems.append(abort.problem)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.problems.append(Problem(line, column, f"{error.problem}"))
        return None

    def document(self, root: str) -> Node:
        """One document, nothing after it (YamlObjectReader.ValidateStart and ValidateEnd)."""
        self.expect(yaml.StreamStartEvent, "Expected stream start parse event")
        self.expect(yaml.DocumentStartEvent, "Expected document start parse event")
        result = self.value(root, ())
        self.expect(yaml.DocumentEndEvent, "Expected document end parse event")
        self.expect(yaml.StreamEndEvent, "Expected stream end parse event")
        return result

    def expect(self, kind: type[yaml.Event], message: str) -> None:
        event = self.take()
        if not isinstance(event, kind):
            raise _ReadError(Problem(*_position(event), message))

    def child(self, context: tuple[str, ...], name: str) -> tuple[str, tuple[str, ...]]:
        own = self.schema.get(name).context
        if not own:
            return name, context
        merged = {c.lower(): c for c in (*context, *own)}
        return name, tuple(merged.values())

    def value(self, name: str, context: tuple[str, ...]) -> Node:
        literal = self.literal()
        if literal is not None:
            scalar = self.parse_scalar(literal, context)
            return self.validate(scalar, name, context)
        event = self.take()
        line, column = _position(event)
        if isinstance(event, yaml.SequenceStartEvent):
            sequence = SequenceNode([], line, column)
            definitions = self.schema.of_kind(name, "sequence")
            if definitions:
                item = self.child(context, definitions[0].item_type or "any")
                while not isinstance(self.peek(), yaml.SequenceEndEvent):
                    sequence.items.append(self.value(*item))
            else:
                self.error(sequence, "A sequence was not expected")
                while not isinstance(self.peek(), yaml.SequenceEndEvent):
                    self.skip()
            self.take()
            return sequence
        if isinstance(event, yaml.MappingStartEvent):
            mapping = Mapping([], line, column)
            definitions = self.schema.of_kind(name, "mapping")
            if not definitions:
                self.error(mapping, "A mapping was not expected")
                while not isinstance(self.peek(), yaml.MappingEndEvent):
                    self.skip()
                    self.skip()
            else:
                self.mapping(mapping, definitions, context)
            self.take()
            return mapping
        raise _ReadError(Problem(line, column, "Expected a scalar value, a sequence, or a mapping"))

    def skip(self) -> None:
        event = self.take()
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            end = (
                yaml.SequenceEndEvent
                if isinstance(event, yaml.SequenceStartEvent)
                else yaml.MappingEndEvent
            )
            while not isinstance(self.peek(), end):
                self.skip()
            self.take()

    def mapping(
        self, mapping: Mapping, definitions: list[Definition], context: tuple[str, ...]
    ) -> None:
        first = definitions[0]
        well_known = len(definitions) > 1 or bool(first.properties) or not first.loose_key
        loose = (first.loose_key, first.loose_value) if first.loose_key else None
        keys: set[str] = set()
        expression_key = False
        while True:
            literal = self.literal()
            if literal is None:
                break
            key = self.parse_scalar(literal, context)
            if key.kind == "expression":
                expression_key = True
                if context:
                    value_type = "any" if well_known else (first.loose_value or "any")
                    mapping.pairs.append((key, self.value(*self.child(context, value_type))))
                else:
                    self.error(key, "A template expression is not allowed in this context")
                    self.skip()
                continue
            key = Scalar("string", key.text(), key.line, key.column)
            folded = key.value.casefold()
            if folded in keys:
                self.error(key, f"'{key.value}' is already defined")
                self.skip()
                continue
            keys.add(folded)
            if well_known:
                matched = self.match_key(definitions, key.value)
                if matched is not None:
                    mapping.pairs.append((key, self.value(*self.child(context, matched))))
                    continue
            if loose is not None:
                loose_key, loose_value = loose
                self.validate(key, loose_key or "string", context)
                mapping.pairs.append((key, self.value(*self.child(context, loose_value or "any"))))
                continue
            self.error(key, f"Unexpected value '{key.value}'")
            self.skip()
        if not isinstance(self.peek(), yaml.MappingEndEvent):
            raise _ReadError(Problem(*_position(self.peek()), "Expected mapping end"))
        if not well_known:
            return
        if len(definitions) > 1:
            hits: dict[str, int] = {}
            for definition in definitions:
                for known in definition.properties:
                    hits[known] = hits.get(known, 0) + 1
            unique = ", ".join(sorted(k for k, count in hits.items() if count == 1))
            self.error(
                mapping,
                "There's not enough info to determine what you meant. "
                f"Add one of these properties: {unique}",
            )
        elif not expression_key:
            for prop_name, prop in definitions[0].properties.items():
                if prop.required and prop_name.casefold() not in keys:
                    self.error(mapping, f"Required property is missing: {prop_name}")

    @staticmethod
    def match_key(definitions: list[Definition], key: str) -> str | None:
        """TemplateSchema.TryMatchKey: the key's type; keeps only the definitions that have it."""
        found = [d for d in definitions if key in d.properties]
        if not found:
            return None
        value_type = found[0].properties[key].type
        definitions[:] = found
        return value_type

    def parse_scalar(self, literal: Scalar, context: tuple[str, ...]) -> Scalar:
        if literal.kind != "string":
            return literal
        raw: str = literal.value
        start = raw.find("${{")
        if start < 0:
            return literal
        segments: list[tuple[str, str]] = []
        i = 0
        while i < len(raw):
            if i == start:
                end = -1
                in_string = False
                i += 3
                while i < len(raw):
                    if raw[i] == "'":
                        in_string = not in_string
                    elif not in_string and raw[i] == "}" and raw[i - 1] == "}":
                        end = i
                        i += 1
                        break
                    i += 1
                if end < start:
                    message = (
                        "The expression is not closed. An unescaped ${{ sequence was found, "
                        "but the closing }} sequence was not found."
                    )
                    self.error(literal, message)
                    return literal
                trimmed = raw[start + 3 : end - 1].strip()
                if not trimmed:
                    self.error(literal, "An expression was expected")
                    return literal
                if re.match(r"insert(\s|\Z)", trimmed):
                    if start != 0 or i < len(raw):
                        self.error(
                            literal,
                            "The directive 'insert' is not allowed in this context. Directives are "
                            "not supported for expressions that are embedded within a string. "
                            "Directives are only supported "
                            "when the entire value is an expression.",
                        )
                    else:
                        self.error(literal, f"Unexpected value '{raw}'")
                    return literal
                problem = expression_error(trimmed, context)
                if problem is not None:
                    self.error(literal, problem)
                    return literal
                segments.append(("expression", trimmed))
                start = raw.find("${{", i)
            elif i < start:
                segments.append(("string", raw[i:start]))
                i = start
            else:
                segments.append(("string", raw[i:]))
                break
        if len(segments) == 1 and (text := _is_expression_string(segments[0][1])) is not None:
            return Scalar("string", text, literal.line, literal.column)
        return Scalar("expression", raw, literal.line, literal.column)

    def validate(self, scalar: Scalar, name: str, context: tuple[str, ...]) -> Scalar:
        if scalar.kind == "expression":
            if not context:
                self.error(scalar, "A template expression is not allowed in this context")
            return scalar
        if any(_matches(d, scalar) for d in self.schema.of_kind(name, *SCALAR_KINDS)):
            return scalar
        if scalar.kind != "string":
            as_string = Scalar("string", scalar.text(), scalar.line, scalar.column)
            if any(_matches(d, as_string) for d in self.schema.of_kind(name, "string")):
                return as_string
        self.error(scalar, f"Unexpected value '{scalar.text()}'")
        return scalar


def _matches(definition: Definition, scalar: Scalar) -> bool:
    if definition.kind != scalar.kind:
        return False
    if definition.kind != "string":
        return True
    value: str = scalar.value
    if definition.constant:
        if definition.ignore_case:
            return definition.constant.casefold() == value.casefold()
        return definition.constant == value
    return bool(value) or not definition.require_non_empty


# --- the manifest -------------------------------------------------------------------------------


def _convert(root: Node | None, problems: list[Problem], file: str) -> None:
    """The checks of ActionManifestManager.Load after the template is read."""
    if not isinstance(root, Mapping):
        if not problems:
            problems.append(Problem(1, 1, "Expected a mapping at the action manifest root"))
        return
    inputs = root.get("inputs")
    if isinstance(inputs, Mapping):
        for _, metadata in inputs.pairs:
            if not isinstance(metadata, Mapping):
                continue
            for key, value in metadata.pairs:
                if key.text().casefold() == "deprecationmessage" and not (
                    isinstance(value, Scalar) and value.kind == "string"
                ):
                    problems.append(
                        Problem(
                            key.line, key.column, "input deprecationMessage: a string was expected"
                        )
                    )
    runs = root.get("runs")
    if runs is None:
        problems.append(Problem(1, 1, f"Top level 'runs:' section is required for {file}"))
        return
    if not isinstance(runs, Mapping):
        return
    using = runs.get("using")
    where = Problem(runs.line, runs.column, "")
    if isinstance(using, Scalar) and using.kind == "string":
        kind = using.value.lower()

        def missing(key: str) -> bool:
            value = runs.get(key)
            return value is None or (isinstance(value, Scalar) and not value.text())

        if kind == "docker":
            if missing("image"):
                message = (
                    f"You are using a Container Action but an image is not provided in {file}."
                )
                problems.append(Problem(where.line, where.column, message))
        elif kind in NODE_VERSIONS:
            if missing("main"):
                message = (
                    "You are using a JavaScript Action but there is not an entry JavaScript "
                    f"file provided in {file}."
                )
                problems.append(Problem(where.line, where.column, message))
        elif kind == "composite":
            if runs.get("steps") is None:
                message = (
                    f"You are using a composite action but there are no steps provided in {file}."
                )
                problems.append(Problem(where.line, where.column, message))
        else:
            message = (
                f"'using: {using.value}' is not supported, use 'docker', 'node12', 'node16', "
                "'node20' or "
                "'node24' instead."
            )
            problems.append(Problem(using.line, using.column, message))
    elif runs.get("plugin") is None:
        message = (
            "Missing 'using' value. 'using' requires 'composite', 'docker', 'node12', 'node16', "
            "'node20' or "
            "'node24'."
        )
        problems.append(Problem(where.line, where.column, message))


def check_manifest(
    text: str, file: str = "action.yml", schema: Schema | None = None
) -> list[Problem]:
    """Every error GitHub's runner would report loading this manifest (empty: it loads)."""
    reader = _Reader(schema or Schema.load(), text)
    root = reader.read("action-root")
    problems = reader.problems
    _convert(root, problems, file)
    return problems
