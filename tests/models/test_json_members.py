import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_code_oauth.models.json_members import (
    DuplicateKey,
    generated,
    parse_members,
    parse_object,
    render_members,
    render_object,
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(st.text(), values, max_size=8)


@settings(max_examples=200, deadline=None)
@given(objects, st.sampled_from([None, 0, 2, 4, "\t"]))
def test_parse_agrees_with_json_loads_and_keeps_each_values_text(obj, indent) -> None:
    text = json.dumps(obj, indent=indent)
    members = parse_members(text)
    assert [m.key for m in members] == list(obj)
    for member in members:
        assert member.value == obj[member.key]
        assert json.loads(member.value_text) == member.value
        assert member.value_text in text


@settings(max_examples=200, deadline=None)
@given(objects, st.sampled_from([None, 2]))
def test_render_round_trips_content_and_order(obj, indent) -> None:
    text = json.dumps(obj, indent=indent)
    again = json.loads(render_members(parse_members(text)))
    assert list(again) == list(obj)
    assert json.dumps(again, sort_keys=False) == json.dumps(obj, sort_keys=False)


@given(st.dictionaries(st.text(), values, max_size=5))
def test_generated_members_render_like_json(obj) -> None:
    text = render_members([generated(k, v) for k, v in obj.items()])
    assert json.dumps(json.loads(text)) == json.dumps(obj)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1,}', "Expecting property name"),
        ('{"a" 1}', "Expecting ':' delimiter"),
        ('{"a": 1 "b": 2}', "Expecting ',' delimiter"),
        ('{"a": }', "Expecting value"),
        ('{"a": 1} x', "Extra data"),
        ("{", "Expecting property name"),
    ],
)
def test_invalid_json_is_reported_with_position(text, message) -> None:
    with pytest.raises(json.JSONDecodeError, match=message) as info:
        parse_members(text)
    assert info.value.lineno == 1 and info.value.colno >= 1


def test_duplicate_top_level_key_is_refused_but_nested_ones_are_kept_verbatim() -> None:
    with pytest.raises(DuplicateKey):
        parse_members('{"a": 1, "a": 2}')
    (member,) = parse_members('{"a": {"x": 1, "x": 2}}')
    assert member.value_text == '{"x": 1, "x": 2}'


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(TypeError, match="list"):
        parse_members("[1, 2]")
    assert parse_members("  {  }  ") == []


blanks = st.text(alphabet=" \t\r\n", max_size=3)


@st.composite
def laid_out(draw: st.DrawFn) -> tuple[str, dict]:
    """An object as someone might type it: arbitrary blanks around every token."""
    obj = draw(st.dictionaries(st.text(max_size=5), values, max_size=6))
    members = [
        f"{json.dumps(k)}{draw(blanks)}:{draw(blanks)}{json.dumps(v)}" for k, v in obj.items()
    ]
    body = "".join(
        (f"{draw(blanks)},{draw(blanks)}" if i else "") + m for i, m in enumerate(members)
    )
    text = f"{draw(blanks)}{{{draw(blanks)}{body}{draw(blanks)}}}{draw(blanks)}"
    return text, obj


@settings(max_examples=300, deadline=None)
@given(laid_out(), st.data())
def test_removing_what_was_added_restores_the_text_exactly(sample, data) -> None:
    text, obj = sample
    document = parse_object(text)
    assert render_object(document, document.members) == text  # nothing changed: same text
    added = [generated(f"ours-{i}", {"n": i}) for i in range(data.draw(st.integers(1, 3)))]
    grown = render_object(document, [*document.members, *added])
    assert json.loads(grown) == {**obj, **{m.key: m.value for m in added}}
    again = parse_object(grown)
    kept = [m for m in again.members if not m.key.startswith("ours-")]
    emptied = f"{document.head}{{}}{document.tail}"  # an object emptied of members
    assert render_object(again, kept) == (text if obj else emptied)


@settings(max_examples=300, deadline=None)
@given(laid_out(), st.data())
def test_any_removal_and_replacement_keeps_the_rest_verbatim(sample, data) -> None:
    text, _ = sample
    document = parse_object(text)
    result = []
    for member in document.members:
        action = data.draw(st.sampled_from(["keep", "drop", "replace"]))
        if action == "keep":
            result.append(member)
        elif action == "replace":
            result.append(member.replaced_by(generated(member.key, {"new": True})))
    rendered = render_object(document, result)
    assert json.loads(rendered) == {m.key: m.value for m in result}
    for member in result:
        assert member.text in rendered
