"""Pieces of the navigator without a web request: values, filters, the public subset, sessions."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import time
import uuid

import numpy as np
import pytest

from labjoin import errors
from labjoin.algebra.conditions import AndList, Not
from labjoin.definition.types import parse_type
from labjoin.heading.heading import Attribute, Heading
from labjoin.navigator.config import PublicSubset
from labjoin.navigator.filters import Filter, compile_filter, compile_filters, parse_table_query, sort_order
from labjoin.navigator.routes_auth import safe_next
from labjoin.navigator.security import RateLimiter, SessionCodec
from labjoin.navigator.urls import Urls
from labjoin.navigator.values import figure_of, key_params, parse_key, parse_value, preview, to_json


def attr(name: str, type_text: str, **kw) -> Attribute:
    return Attribute(name, parse_type(type_text), **kw)


HEADING = Heading([
    attr("id", "int", in_key=True), attr("name", "varchar(32)"), attr("born", "date"), attr("t", "datetime"),
    attr("u", "uuid"), attr("kind", "enum('a','B')"), attr("x", "float", nullable=True), attr("ok", "bool"),
    attr("price", "decimal(5,2)"), attr("data", "longblob", nullable=True),
])


@pytest.mark.parametrize(("name", "text", "value"), [
    ("id", " 42 ", 42), ("x", "1.5e3", 1500.0), ("born", "2024-02-29", dt.date(2024, 2, 29)),
    ("t", "2024-02-29 10:11:12", dt.datetime(2024, 2, 29, 10, 11, 12)),
    ("t", "2024-02-29T10:11", dt.datetime(2024, 2, 29, 10, 11)),
    ("u", "00000000-0000-0000-0000-00000000000a", uuid.UUID(int=10)), ("kind", "b", "B"),
    ("ok", "yes", True), ("ok", "0", False), ("price", "1.50", decimal.Decimal("1.50")), ("name", " a b ", " a b "),
])
def test_parse_value(name: str, text: str, value: object) -> None:
    assert parse_value(HEADING[name], text) == value


@pytest.mark.parametrize(("name", "text", "message"), [
    ("id", "1.5", "whole number"), ("x", "nan", "a number"), ("x", "inf", "a number"), ("born", "2024-13-01", "date"),
    ("t", "yesterday", "date and time"), ("u", "123", "UUID"), ("kind", "c", "one of a, B"), ("ok", "maybe", "true or false"),
    ("price", "1,5", "decimal"), ("data", "x", "blob"),
])
def test_parse_value_errors_name_the_attribute_and_the_form(name: str, text: str, message: str) -> None:
    with pytest.raises(errors.DataError, match=message) as e:
        parse_value(HEADING[name], text)
    assert f"`{name}`" in str(e.value)


def test_keys_round_trip_through_urls() -> None:
    key = {"id": 3, "t": dt.datetime(2024, 1, 2, 3, 4, 5), "u": uuid.UUID(int=7)}
    params = key_params(key)
    assert params == {"id": "3", "t": "2024-01-02 03:04:05", "u": "00000000-0000-0000-0000-000000000007"}
    h = Heading([attr("id", "int", in_key=True), attr("t", "datetime", in_key=True), attr("u", "uuid", in_key=True)])
    assert parse_key(h, params) == key
    with pytest.raises(errors.MissingAttributeError, match="`u`"):
        parse_key(h, {"id": "3", "t": "2024-01-02"})
    assert Urls("/nav").row("s", "T.Part", key) == ("/nav/schemas/s/T.Part/row?id=3&t=2024-01-02+03%3A04%3A05"
                                                    "&u=00000000-0000-0000-0000-000000000007")
    assert Urls().table("s", "#odd name") == "/schemas/s/%23odd%20name"


def test_to_json() -> None:
    value = {"a": np.float32(1.5), "b": [np.int64(2), float("nan"), float("inf")], "d": dt.date(2024, 1, 1),
             "t": dt.timedelta(hours=25, seconds=3), "u": uuid.UUID(int=1), "dec": decimal.Decimal("0.10"),
             "arr": np.arange(3), "raw": b"\x00\x01", "rec": np.array([(1, 2.0)], dtype=[("i", int), ("f", float)])}
    assert to_json(value) == {"a": 1.5, "b": [2, None, None], "d": "2024-01-01", "t": "25:00:03",
                              "u": "00000000-0000-0000-0000-000000000001", "dec": "0.10", "arr": [0, 1, 2],
                              "raw": {"bytes": 2}, "rec": [{"i": 1, "f": 2.0}]}
    assert to_json(np.zeros(10_000), summarize=True) == "<array float64 (10000,)>"
    json.dumps(to_json(value), allow_nan=False)


def test_blob_previews() -> None:
    line = preview(np.linspace(0, 1, 20_000))
    assert line["kind"] == "figure" and len(line["figure"]["data"][0]["y"]) <= 5_000
    assert line["figure"]["data"][0]["type"] == "scattergl"
    rgb = preview(np.zeros((600, 800, 3), dtype=np.uint8))
    assert rgb["kind"] == "image" and rgb["figure"]["data"][0]["type"] == "image"
    assert len(rgb["figure"]["data"][0]["z"][0]) <= 512
    gray = preview(np.zeros((20, 30), dtype=np.uint8))
    assert gray["kind"] == "image" and gray["figure"]["data"][0]["type"] == "heatmap"
    heat = preview(np.random.default_rng(0).normal(size=(1000, 50)))
    assert heat["kind"] == "figure" and len(heat["figure"]["data"][0]["z"]) <= 300
    png = preview(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    assert png["kind"] == "image" and png["src"].startswith("data:image/png;base64,")
    assert preview(b"\x01\x02")["kind"] == "bytes"
    assert preview({"a": np.arange(3)}) == {"kind": "json", "value": {"a": [0, 1, 2]}, "summary": "dict"}
    assert preview("text")["kind"] == "text" and preview(None) == {"kind": "null"}
    fig = {"data": [{"type": "bar", "y": np.arange(2)}], "layout": {}}
    assert preview(fig) == {"kind": "figure", "figure": {"data": [{"type": "bar", "y": [0, 1]}], "layout": {}},
                            "summary": "plotly figure"}
    assert preview(np.array(["a", "b"]))["kind"] == "json"


def test_figure_of_reads_dicts_and_json_and_refuses_the_rest() -> None:
    fig = {"data": [{"type": "scatter", "x": [1]}]}
    assert figure_of(fig) == {"data": [{"type": "scatter", "x": [1]}], "layout": {}}
    assert figure_of(json.dumps(fig)) == figure_of(fig) == figure_of(json.dumps(fig).encode())
    assert figure_of(None) is None
    with pytest.raises(errors.DataError, match="plotly figure"):
        figure_of({"x": 1})
    with pytest.raises(errors.DataError, match="not JSON"):
        figure_of("{nope")


def test_filters_compile_to_restrictions() -> None:
    assert compile_filter(HEADING, Filter("id", "exact", "3")) == {"id": 3}
    assert isinstance(compile_filter(HEADING, Filter("id", "not", "3")), Not)
    assert compile_filter(HEADING, Filter("id", "in", "1, 2,")) == [{"id": 1}, {"id": 2}]
    assert compile_filter(HEADING, Filter("x", "isnull")) == {"x": None}
    assert compile_filter(HEADING, Filter("born", "gte", "2024-01-02")) == "`born` >= CAST('2024-01-02' AS DATE)"
    assert compile_filter(HEADING, Filter("t", "lt", "2024-01-02 03:04")) == \
        "`t` < CAST('2024-01-02 03:04:00' AS DATETIME)"
    assert compile_filter(HEADING, Filter("x", "gt", "-1.5")) == "`x` > -1.5"
    assert compile_filter(HEADING, Filter("name", "contains", "50%_off!")) == \
        "`name` LIKE '%50!%!_off!!%' ESCAPE '!'"
    assert compile_filter(HEADING, Filter("name", "gt", "it's")) == "`name` > 'it''s'"
    both = compile_filters(HEADING, [Filter("id", "exact", "1"), Filter("id", "exact", "2")], "or")
    assert both == [AndList([{"id": 1}]), AndList([{"id": 2}])]
    assert compile_filters(HEADING, []) is True
    assert sort_order(HEADING, [("born", True)]) == ["born DESC", "id ASC"]


@pytest.mark.parametrize(("params", "message"), [
    ([("nope", "1")], "not an attribute"), ([("id__like", "1")], "Unknown filter operator"),
    ([("_limit", "1")], "Unknown parameter"), ([("data", "1")], "blob"), ([("_sort", "data")], "blob"),
    ([("u__gt", "x")], "cannot be compared"), ([("id__contains", "1")], "not text"),
    ([("_page", "0")], "between 1"), ([("_size", "501")], "between 1 and 500"), ([("_combine", "xor")], "'and' or 'or'"),
    ([("id__in", ",")], "comma-separated"), ([("born", "x")], "date"),
])
def test_parse_table_query_errors(params: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(errors.DataJointError, match=message):
        parse_table_query(HEADING, params)


def test_parse_table_query_keeps_state_for_links() -> None:
    q = parse_table_query(HEADING, [("name", ""), ("id__gte", "2"), ("x__isnull", ""), ("_sort", "-born,id"),
                                    ("_page", "3"), ("_size", "10"), ("_combine", "OR"), ("_col", "name")])
    assert [f.param for f in q.filters] == ["id__gte", "x__isnull"] and q.combine == "or"
    assert q.sort == (("born", True), ("id", False)) and q.offset == 20
    assert q.params(page=4) == [("id__gte", "2"), ("x__isnull", ""), ("_combine", "or"), ("_sort", "-born,id"),
                                ("_size", "10"), ("_page", "4"), ("_col", "name")]


def test_public_subset_sources(tmp_path) -> None:
    (tmp_path / "s.json").write_text(json.dumps([{"nick": "a"}, {"nick": "b"}]))
    (tmp_path / "s.csv").write_text("lab,nick\nx,a\ny,b\n")
    assert PublicSubset.load(str(tmp_path / "s.json")).keys == ({"nick": "a"}, {"nick": "b"})
    csv_subset = PublicSubset.load(str(tmp_path / "s.csv"))
    assert csv_subset.attributes == ("lab", "nick") and len(csv_subset.keys) == 2
    assert PublicSubset.load("table:lab.public_subject").table == "`lab`.`public_subject`"
    (tmp_path / "bad.json").write_text(json.dumps([{"a": 1}, {"b": 2}]))
    with pytest.raises(errors.ConfigError, match="same attributes"):
        PublicSubset.load(str(tmp_path / "bad.json"))
    with pytest.raises(errors.ConfigError, match="does not exist"):
        PublicSubset.load(str(tmp_path / "missing.json"))
    with pytest.raises(errors.ConfigError, match=r"schema\.table_name"):
        PublicSubset.load("table:nodot")
    assert PublicSubset().empty and not csv_subset.empty


def test_session_codec_signs_and_expires() -> None:
    codec = SessionCodec("secret", max_age=60)
    data = codec.new("ana", "fp")
    cookie = codec.dump(data)
    assert codec.load(cookie) == data
    assert codec.load(cookie[:-2] + "xx") is None
    assert SessionCodec("other", max_age=60).load(cookie) is None
    assert codec.load(None) is None
    expired = SessionCodec("secret", max_age=-1)
    assert expired.load(cookie) is None
    token = codec.csrf_token(data["sid"])
    assert codec.check_csrf(data["sid"], token) and not codec.check_csrf("other", token)
    assert not codec.check_csrf(data["sid"], None)
    assert b"Max-Age=0" in codec.cookie_header(None)


def test_rate_limiter_window() -> None:
    limiter = RateLimiter(2, 0.2)
    assert limiter.retry_after("a") == 0
    limiter.fail("a", "b")
    limiter.fail("a")
    assert limiter.retry_after("a") > 0 and limiter.retry_after("b") == 0
    time.sleep(0.25)
    assert limiter.retry_after("a") == 0
    limiter.fail("c")
    limiter.fail("c")
    limiter.reset("c")
    assert limiter.retry_after("c") == 0


@pytest.mark.parametrize(("target", "expected"), [
    ("/lab/mice?x=1", "/lab/mice?x=1"), ("//evil", "/"), ("http://evil", "/"), ("", "/"), (None, "/"), ("/\\evil", "/"),
])
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target, "/") == expected
