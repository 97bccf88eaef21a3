"""Cost limits of the GraphQL endpoint: what one request may ask before anything runs.

Every limit is a :class:`~twsbridge.service.settings.ServiceSettings` field
(``TWSBRIDGE_GRAPHQL_...``) and applies to ``POST`` / ``GET /graphql`` and to
every ``subscribe`` of the ``graphql-transport-ws`` WebSocket alike. A request
over a limit is refused before it is parsed, validated or executed, with a
GraphQL error whose ``extensions`` carry ``status`` 400, ``type``
``urn:twsbridge:problem:validation-error``, ``limit`` (the setting's name) and
``max`` (its value); over HTTP the answer is a ``400`` with ``{"errors": [...]}``.

In the order they are checked:

* the request's JSON (HTTP body, ``variables`` of a GET, a WebSocket message):
  nesting (``graphql_max_nesting``, counted on the text before it is decoded, so
  nothing recurses) and the number of values (``graphql_max_json_values``).
  A WebSocket message over a limit closes the socket with 4400 (the protocol's
  "invalid message") and the reason;
* the query text: its length (``graphql_max_query_length``), its tokens
  (``graphql_max_tokens``, Strawberry's :class:`~strawberry.extensions.MaxTokensLimiter`
  enforces the same in the parser) and the nesting of its ``{ [ (``
  (``graphql_max_nesting``), read with graphql-core's lexer before parsing;
* the parsed operation, fragments expanded (each spread counted where it is
  used, memoised per fragment so that this costs one pass): its nesting,
  fragment spreads included (``graphql_max_nesting``), its fields
  (``graphql_max_fields``) and the fields that send TWS a request (:class:`TWSCall`:
  ``contract``, ``contracts``, ``searchContracts``, ``quote``, ``bars``,
  ``orders``, ``positions``, ``Account.summary``, ``Account.values``, ``historicalTicks``,
  ``histogram``, ``marketRule``, ``smartComponents``; ``graphql_max_tws_fields``);
* Strawberry's own validation rules: :class:`~strawberry.extensions.QueryDepthLimiter`
  (``graphql_max_depth``, introspection fields not counted) and
  :class:`~strawberry.extensions.MaxAliasesLimiter` (``graphql_max_aliases``).

While a request runs, at most ``graphql_tws_concurrency`` of its TWS fields
wait for TWS at once (per HTTP request; per socket on the WebSocket), so that
one request cannot fill the client's pacing queue ahead of everybody else.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import operator
import re
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    get_named_type,
)
from graphql.language import Lexer, Source, TokenKind
from strawberry.extensions import (
    FieldExtension,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from ..settings import ServiceSettings

__all__ = [
    "GraphQLLimits",
    "RequestRefused",
    "TWSCall",
    "decode_request_json",
    "limit_error",
    "schema_extensions",
]

_PROBLEM_TYPE = "urn:twsbridge:problem:validation-error"


def _default(name: str) -> int:
    default: int = ServiceSettings.model_fields[name].default
    return default


@dataclass(frozen=True)
class GraphQLLimits:
    """The limits (see the module doc); the defaults are the settings' defaults."""

    max_depth: int = _default("graphql_max_depth")
    max_aliases: int = _default("graphql_max_aliases")
    max_tokens: int = _default("graphql_max_tokens")
    max_query_length: int = _default("graphql_max_query_length")
    max_nesting: int = _default("graphql_max_nesting")
    max_json_values: int = _default("graphql_max_json_values")
    max_fields: int = _default("graphql_max_fields")
    max_tws_fields: int = _default("graphql_max_tws_fields")
    tws_concurrency: int = _default("graphql_tws_concurrency")

    @classmethod
    def of(cls, settings: ServiceSettings) -> GraphQLLimits:
        """The limits a service's settings set (``graphql_max_depth`` ...)."""
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_query_length=settings.graphql_max_query_length,
            max_nesting=settings.graphql_max_nesting,
            max_json_values=settings.graphql_max_json_values,
            max_fields=settings.graphql_max_fields,
            max_tws_fields=settings.graphql_max_tws_fields,
            tws_concurrency=settings.graphql_tws_concurrency,
        )


def limit_error(detail: str, limit: str, maximum: int, nodes: Any = None) -> GraphQLError:
    """The GraphQL error of a request over ``limit`` (a setting's name) of ``maximum``."""
    extensions = {"code": None, "status": 400, "type": _PROBLEM_TYPE, "limit": limit,
                  "max": maximum}
    return GraphQLError(f"{detail} (limit {limit} = {maximum})", nodes, extensions=extensions)


def is_limit_error(error: GraphQLError) -> bool:
    """True for an error made by :func:`limit_error`."""
    return "limit" in (error.extensions or {})


class RequestRefused(Exception):
    """A request's JSON is over a limit; :attr:`error` says which."""

    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


# --- the request's JSON, before it is decoded ---------------------------------------------

# a string, or an unterminated one to the end (one pass: never tried again from inside it)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEPS = str.maketrans({"[": "\x02", "{": "\x02", "]": "\x00", "}": "\x00"})


def json_nesting(text: str) -> int:
    """How deep ``[`` and ``{`` nest in the JSON ``text`` (strings skipped), without
    decoding it: the brackets become steps of +1 / -1 whose running sum is summed in C."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = brackets.translate(_STEPS).encode("latin-1")  # an opener 2, a closer 0
    # depth after the i-th bracket (from 1) = sum of its first i steps - i
    return max(map(operator.sub, itertools.accumulate(steps), itertools.count(1)), default=0)


def _json_values(value: object, cap: int) -> int:
    """The number of values in decoded JSON (objects, arrays and scalars), up to ``cap + 1``."""
    count, stack = 0, [value]
    while stack and count <= cap:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def decode_request_json(data: str | bytes, limits: GraphQLLimits) -> object:
    """``json.loads(data)`` once ``data`` is known to be within the limits.

    Raises:
        RequestRefused: nested deeper than ``max_nesting`` or more than
            ``max_json_values`` values.
        json.JSONDecodeError: not JSON.
    """
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(
        data, bytes) else data
    depth = json_nesting(text)
    if depth > limits.max_nesting:
        raise RequestRefused(limit_error(
            f"the request's JSON (variables) nests {depth} levels deep",
            "graphql_max_nesting", limits.max_nesting))
    value = json.loads(text)
    if _json_values(value, limits.max_json_values) > limits.max_json_values:
        raise RequestRefused(limit_error(
            f"the request's JSON (variables) holds more than {limits.max_json_values} values",
            "graphql_max_json_values", limits.max_json_values))
    return value


# --- the query text, before it is parsed -----------------------------------------------------

_OPENERS = frozenset({TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L})
_CLOSERS = frozenset({TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R})


def check_query_text(query: str, limits: GraphQLLimits) -> GraphQLError | None:
    """The limit error of a query text too long, of too many tokens or nested too deep
    (``None``: within the limits, or a syntax error the parser reports at a token
    already counted here)."""
    if len(query) > limits.max_query_length:
        return limit_error(f"the query has {len(query)} characters",
                           "graphql_max_query_length", limits.max_query_length)
    lexer = Lexer(Source(query))
    tokens = depth = 0
    try:
        token = lexer.advance()
        while token.kind is not TokenKind.EOF:
            tokens += 1
            if tokens > limits.max_tokens:
                return limit_error(f"the query has more than {limits.max_tokens} tokens",
                                   "graphql_max_tokens", limits.max_tokens)
            if token.kind in _OPENERS:
                depth += 1
                if depth > limits.max_nesting:
                    return limit_error(
                        f"the query nests more than {limits.max_nesting} levels deep "
                        f"(line {token.line}, column {token.column})",
                        "graphql_max_nesting", limits.max_nesting)
            elif token.kind in _CLOSERS:
                depth -= 1
            token = lexer.advance()
    except GraphQLError:
        return None
    return None


def _placeholder(operation_name: str | None) -> DocumentNode:
    """A document standing for a refused query text (never executed: the refusal is
    already its pre-execution error), with the asked operation's name."""
    field = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
    operation = OperationDefinitionNode(
        operation=OperationType.QUERY,
        name=NameNode(value=operation_name) if operation_name else None,
        variable_definitions=(), directives=(),
        selection_set=SelectionSetNode(selections=(field,)))
    return DocumentNode(definitions=(operation,))


# --- the parsed operation, fragments expanded ------------------------------------------------


@dataclass
class _Cost:
    fields: int = 0
    tws: int = 0
    height: int = 0  # nesting below this point, fragment spreads counted as a level


class _Refusal(Exception):
    def __init__(self, error: GraphQLError) -> None:
        super().__init__(error.message)
        self.error = error


def _calls_tws(field: GraphQLField) -> bool:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return isinstance(definition, StrawberryField) and any(
        isinstance(e, TWSCall) for e in definition.extensions)


class _CostWalk:
    """Fields, TWS fields and nesting of the operations of a document, each fragment
    walked once (memoised) and never deeper than ``max_nesting`` (bounded recursion)."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode,
                 limits: GraphQLLimits) -> None:
        self.schema, self.limits = schema, limits
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.memo: dict[str, _Cost] = {}
        self.walking: set[str] = set()

    def _too_deep(self, node: Any) -> _Refusal:
        return _Refusal(limit_error(
            f"the operation nests more than {self.limits.max_nesting} levels deep "
            "(fragments expanded)", "graphql_max_nesting", self.limits.max_nesting, node))

    def operation(self, node: OperationDefinitionNode) -> _Cost:
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root, 1)

    def selections(self, node: SelectionSetNode, parent: GraphQLNamedType | None,
                   depth: int) -> _Cost:
        if depth > self.limits.max_nesting:
            raise self._too_deep(node)
        total = _Cost()
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                field = None
                if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
                    field = parent.fields.get(selection.name.value)
                cost = _Cost(1, int(field is not None and _calls_tws(field)))
                if selection.selection_set is not None:
                    child = get_named_type(field.type) if field is not None else None
                    cost = _add(cost, self.selections(selection.selection_set, child,
                                                      depth + 1))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                cost = _add(_Cost(), self.selections(selection.selection_set, kind, depth + 1))
            elif isinstance(selection, FragmentSpreadNode):
                cost = _add(_Cost(), self.fragment(selection, depth + 1))
            else:  # pragma: no cover - graphql-core knows no other selection
                continue
            total = _Cost(total.fields + cost.fields, total.tws + cost.tws,
                          max(total.height, cost.height))
        return total

    def fragment(self, node: FragmentSpreadNode, depth: int) -> _Cost:
        name = node.name.value
        known = self.memo.get(name)
        if known is not None:
            if depth + known.height > self.limits.max_nesting:
                raise self._too_deep(node)
            return known
        definition = self.fragments.get(name)
        if definition is None:  # what graphql-core's KnownFragmentNamesRule answers
            raise _Refusal(GraphQLError(f"Unknown fragment '{name}'.", node.name))
        if name in self.walking:
            return _Cost()  # a cycle: graphql-core's NoFragmentCyclesRule reports it
        self.walking.add(name)
        kind = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selections(definition.selection_set, kind, depth)
        self.walking.discard(name)
        self.memo[name] = cost
        return cost


def _add(outer: _Cost, inner: _Cost) -> _Cost:
    """``outer`` (a field or fragment) with what it selects, one level deeper."""
    return _Cost(outer.fields + inner.fields, outer.tws + inner.tws, inner.height + 1)


def check_operations(schema: GraphQLSchema, document: DocumentNode,
                     limits: GraphQLLimits) -> GraphQLError | None:
    """The first limit error of an operation of ``document`` (fragments expanded)."""
    walk = _CostWalk(schema, document, limits)
    try:
        for node in document.definitions:
            if not isinstance(node, OperationDefinitionNode):
                continue
            cost = walk.operation(node)
            name = f"operation {node.name.value!r}" if node.name else "the operation"
            if cost.fields > limits.max_fields:
                return limit_error(f"{name} selects {cost.fields} fields (fragments expanded)",
                                   "graphql_max_fields", limits.max_fields, node)
            if cost.tws > limits.max_tws_fields:
                return limit_error(
                    f"{name} selects {cost.tws} fields that each send TWS a request "
                    "(contract, contracts, searchContracts, quote, bars, orders, positions, "
                    "account summary / values, marketDepth, historicalTicks, histogram, "
                    "marketRule, smartComponents)", "graphql_max_tws_fields",
                    limits.max_tws_fields, node)
    except _Refusal as refusal:
        return refusal.error
    return None


# --- the schema extensions -------------------------------------------------------------------


class CostGuard(SchemaExtension):
    """Checks the query text before parsing and the operation before validation (see
    the module doc); answers a refusal over HTTP with status 400."""

    def __init__(self, limits: GraphQLLimits) -> None:
        super().__init__()
        self.limits = limits

    def _refuse(self, error: GraphQLError) -> None:
        self.execution_context.pre_execution_errors = [error]
        if is_limit_error(error):
            self._http_status_400()

    def _http_status_400(self) -> None:
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
            response.status_code = 400

    def on_parse(self) -> Iterator[None]:
        """Before parsing: the query text's length, tokens and nesting."""
        context = self.execution_context
        if context.graphql_document is None and context.query:
            error = check_query_text(context.query, self.limits)
            if error is not None:  # the parser never sees it
                context.graphql_document = _placeholder(context.operation_name)
                self._refuse(error)
        yield

    def on_validate(self) -> Iterator[None]:
        """Before the validation rules: the operation's nesting, fields and TWS fields
        (the rules then walk a tree known to be small); after: HTTP status 400 when a
        rule refused a limit."""
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            schema: GraphQLSchema = context.schema._schema
            error = check_operations(schema, context.graphql_document, self.limits)
            if error is not None:
                self._refuse(error)  # the validation rules do not run
        yield
        if any(is_limit_error(e) for e in context.pre_execution_errors or ()):
            self._http_status_400()


class _LimitReporter:
    """A validation context whose reported errors become :func:`limit_error` s."""

    def __init__(self, context: ValidationContext, limit: str, maximum: int) -> None:
        self._context, self._limit, self._maximum = context, limit, maximum

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(limit_error(error.message, self._limit, self._maximum,
                                               error.nodes))


def _naming_limit(rule: type[ASTValidationRule], limit: str, maximum: int,
                  ) -> type[ASTValidationRule]:
    """Strawberry's ``rule`` reporting its errors with the limit's name and value."""

    class Named(rule):  # type: ignore[misc, valid-type]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(cast(ValidationContext, _LimitReporter(context, limit, maximum)))

    Named.__name__ = rule.__name__
    return Named


class _DepthLimit(QueryDepthLimiter):
    def __init__(self, max_depth: int) -> None:
        super().__init__(max_depth=max_depth)
        self.validation_rules = [_naming_limit(r, "graphql_max_depth", max_depth)
                                 for r in self.validation_rules]


class _AliasLimit(MaxAliasesLimiter):
    def __init__(self, max_alias_count: int) -> None:
        super().__init__(max_alias_count=max_alias_count)
        self.validation_rules = [_naming_limit(r, "graphql_max_aliases", max_alias_count)
                                 for r in self.validation_rules]


def schema_extensions(limits: GraphQLLimits) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions enforcing ``limits`` (a factory each: one per operation)."""
    return [
        partial(CostGuard, limits),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(_DepthLimit, limits.max_depth),
        partial(_AliasLimit, limits.max_aliases),
    ]


# --- the TWS fields while they run -----------------------------------------------------------

_GATES: weakref.WeakKeyDictionary[object, asyncio.Semaphore] = weakref.WeakKeyDictionary()


class TWSCall(FieldExtension):
    """Marks a field that sends TWS a request (counted by ``graphql_max_tws_fields``) and
    lets at most ``graphql_tws_concurrency`` of them wait for TWS at once per context
    (an HTTP request, or a WebSocket)."""

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        context = info.context
        gate = _GATES.get(context)
        if gate is None:
            settings: ServiceSettings = context.settings
            gate = _GATES[context] = asyncio.Semaphore(settings.graphql_tws_concurrency)
        async with gate:
            return await next_(source, info, **kwargs)
