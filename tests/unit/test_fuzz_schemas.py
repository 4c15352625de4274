"""Bounded fuzzing (hypothesis) of every event payload schema: whatever JSON a client sends,
`schemas.parse` answers with the model or a RostrumError (`bad-request` or `too-large`),
never anything else; and every payload the model's own JSON schema describes is accepted
(the schema a client reads and the validator agree). Derandomized and bounded for CI."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meeting_server.errors import RostrumError
from meeting_server.schemas import Payload, parse
from tests.unit.test_schemas import MODELS

BOUNDED = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=20) | st.sampled_from(["", "x" * 70_000, "en", "floor", "mic"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                  max_size=4),
    max_leaves=12)


def payloads_for(model: type[Payload]) -> st.SearchStrategy[Any]:
    """Objects with the model's own field names and arbitrary values, and anything at all."""
    names = list(model.model_fields) or ["x"]
    shaped = st.dictionaries(st.sampled_from(names), json_values, max_size=len(names))
    return st.one_of(shaped, json_values)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_parse_answers_any_json_with_the_model_or_a_clear_error(model: type[Payload]) -> None:
    @BOUNDED
    @given(payloads_for(model))
    def run(data: Any) -> None:
        try:
            value = parse(model, data)
        except RostrumError as exc:
            assert exc.code in ("bad-request", "too-large"), exc.code
            assert exc.message
            return
        assert isinstance(value, model)

    run()


def from_schema(schema: dict[str, Any], defs: dict[str, Any] | None = None
                ) -> st.SearchStrategy[Any]:
    """Values a JSON schema (pydantic's subset) allows. hypothesis-jsonschema would do this,
    but its release does not run on this hypothesis; the subset here is all pydantic emits
    for our payloads, and an unknown keyword fails loudly."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind is None and {"minLength", "maxLength", "pattern"} & set(schema):
        kind = "string"
    if not {k for k in schema if k not in ("title", "description", "default")}:
        return json_values
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        ints = st.integers(min_value=None if low is None else int(low),
                           max_value=None if high is None else int(high))
        if kind == "integer":
            return ints
        return ints | st.floats(min_value=low, max_value=high, allow_nan=False,
                                allow_infinity=False)
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 200)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda v: low <= len(v) <= high)
        return st.text(min_size=low, max_size=min(high, 300))
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), defs),
                        min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        fields = {k: from_schema(v, defs) for k, v in schema["properties"].items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required})
    if kind == "object":
        keys = from_schema(schema.get("propertyNames", {"type": "string", "maxLength": 10}),
                           defs)
        return st.dictionaries(keys, from_schema(schema.get("additionalProperties", {}), defs),
                               min_size=schema.get("minProperties", 0),
                               max_size=min(schema.get("maxProperties", 4), 4))
    raise AssertionError(f"a schema keyword this generator does not know: {schema}")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_what_the_json_schema_allows_the_validator_accepts(model: type[Payload]) -> None:
    schema = model.model_json_schema()

    @BOUNDED
    @given(from_schema(schema))
    def run(data: Any) -> None:
        try:
            parse(model, data)
        except RostrumError as exc:
            # a schema cannot say "not only whitespace" (names are stripped, then measured)
            assert exc.code == "bad-request" and isinstance(data, dict), (data, exc.message)
            assert any(isinstance(v, str) and not v.strip() for v in data.values()), \
                (data, exc.message)

    run()
