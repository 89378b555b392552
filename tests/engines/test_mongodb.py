"""The MongoDB adapter against a real server: ``MONGO_URL`` or the nx-27017 stand-in.

Tests marked ``standin_gap`` prove behaviour the stand-in lacks (Decimal128, Int64 and
boolean round trips, regex values, collection options, index names, maxTimeMS, plan
stages); they are expected failures only while the stand-in is in use.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from bson import json_util

from engines.errors import ImportRowError, RestoreError, UnsupportedCommand
from engines.mongodb.convert import convert, read_json_lines
from tests.conftest import REPO, SHARED

BUILTIN = REPO / "orchestrator/store/builtin_templates"
DATASETS = {
    "restaurant.json": BUILTIN / "restaurants/restaurant.json",
    "books.json": BUILTIN / "books/books.json",
    **{name: SHARED / "datasets/mongodb/ozlerhakan" / name
       for name in ("countries-small.json", "grades.json", "products.json", "students.json")},
}
TEMPLATE_DUMPS = {
    "restaurants": (BUILTIN / "restaurants/restaurant.json",
                    BUILTIN / "restaurants/restaurants.dump.json"),
    "books": (BUILTIN / "books/books.json",
              BUILTIN / "books/books.dump.json"),
}


@pytest.fixture(autouse=True)
def _standin_gaps(request):
    """``standin_gap`` tests are expected to fail only when the stand-in serves them."""
    if request.node.get_closest_marker("standin_gap") is None:
        return
    if request.getfixturevalue("mongo_server").is_standin:
        request.applymarker(pytest.mark.xfail(reason="known gap of the nx-27017 stand-in",
                                              strict=False))


@pytest.fixture
def mongo(engine_for):
    return engine_for("mongodb")


def ok(engine, script, **options):
    results = engine.execute(script, **options)
    for result in results:
        assert result.error is None, (result.statement, result.error)
    return results


def one(engine, script, **options):
    [result] = ok(engine, script, **options)
    return result


def records(result):
    """Rows as dicts without the cells of absent fields."""
    names = [c.name for c in result.columns]
    return [{n: v for n, v in zip(names, row) if v is not None} for row in result.rows]


def types(result):
    return {c.name: c.type for c in result.columns}


def checksum(documents):
    lines = sorted(json_util.dumps(d, json_options=json_util.CANONICAL_JSON_OPTIONS,
                                   sort_keys=True) for d in documents)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def database_checksums(engine):
    return {name: checksum(engine.db[name].find())
            for name in engine.db.list_collection_names()}


# -- parsing ----------------------------------------------------------------

def test_split_gives_one_statement_per_expression_with_its_start_line(mongo):
    script = ('db.a.insertOne({s: "x; y\\nz"}); db.a.find()\n'
              "// a comment; not a statement\n"
              "\n"
              "  db.getCollection('a')\n    .countDocuments({})\n;;")
    statements = mongo.split(script)
    assert [s.text for s in statements] == [
        'db.a.insertOne({s: "x; y\\nz"})', "db.a.find()",
        "db.getCollection('a')\n    .countDocuments({})"]
    assert [(s.line, s.column) for s in statements] == [(1, 1), (1, 33), (4, 3)]


def test_syntax_error_reports_line_and_column(mongo):
    first, result = mongo.execute("db.a.find()\ndb.a.find({x: 1)")
    assert first.ok
    assert result.error["type"] == "QuerySyntaxError"
    assert result.error["line"] == 2
    assert result.error["column"] == 16


def test_a_malformed_second_statement_is_reported_on_it_after_the_first_ran(mongo):
    script = ('db.fresh.insertOne({n: 1})\n'
              'db.fresh.find(\n'
              '    {n: 1)\n'
              'db.fresh.insertOne({n: 2})')
    results = mongo.execute(script)
    assert len(results) == 2
    assert results[0].ok and results[0].statement == "db.fresh.insertOne({n: 1})"
    assert results[1].statement.startswith("db.fresh.find(")
    assert results[1].error["type"] == "QuerySyntaxError"
    assert (results[1].error["line"], results[1].line) == (3, 2)
    assert [d["n"] for d in mongo.db["fresh"].find()] == [1]  # statement 1 ran, 3 did not


def test_a_syntax_error_in_the_first_statement_runs_nothing(mongo):
    [result] = mongo.execute("db.a.find({x: 1)\ndb.a.insertOne({y: 1})")
    assert result.error["type"] == "QuerySyntaxError"
    assert result.error["line"] == 1
    assert mongo.db["a"].count_documents({"y": 1}) == 0


@pytest.mark.parametrize("script, line", [
    ("var x = 1", 1),
    ("function f() {}", 1),
    ("db.a.find()\nfor (;;) {}", 2),
    ("db.a.mapReduce(1, 2)", 1),
    ("db.a.find().map(d => d)", 1),
    ("db.a.insertOne({r: Math.random()})", 1),
    ("db.a.find({name: someVariable})", 1),
    ("db.a.find().count().limit(1)", 1),
    ("db.dropDatabase()", 1),
    ("print(1)", 1),
])
def test_unsupported_construct_is_refused_with_what_is_supported(mongo, script, line):
    [result] = mongo.execute(script)
    assert result.error["type"] == "UnsupportedCommand"
    assert "Supported mongosh syntax" in result.error["message"]
    assert result.error["line"] == line


def test_error_position_counts_from_the_script_line(mongo):
    results = mongo.execute("db.a.find(); db.a.mapReduce()")
    assert results[-1].error["type"] == "UnsupportedCommand"
    assert (results[-1].error["line"], results[-1].error["column"]) == (1, 19)


def test_wrong_argument_shape_is_a_syntax_error(mongo):
    [result] = mongo.execute("db.a.find(1)")
    assert result.error["type"] == "QuerySyntaxError"
    assert "document" in result.error["message"]


def test_nothing_runs_when_the_script_does_not_parse(mongo):
    [result] = mongo.execute('db.a.insertOne({x: 1})\nvar y = 2')
    assert result.error["type"] == "UnsupportedCommand"
    assert one(mongo, "db.a.countDocuments({})").rows == [[0]]


# -- commands -----------------------------------------------------------------

PEOPLE = ('db.people.insertMany(['
          '{_id: 1, name: "ann", age: 31, city: "Oslo"},'
          '{_id: 2, name: "bob", age: 25, city: "Rome"},'
          '{_id: 3, name: "cid", age: 42, city: "Oslo"},'
          '{_id: 4, name: "dee", age: 19, city: "Lima"},'
          '{_id: 5, name: "eve", age: -7, city: "Rome"}])')


@pytest.fixture
def people(mongo):
    assert one(mongo, PEOPLE).rowcount == 5
    return mongo


def test_find_chains_filter_projection_sort_skip_limit(people):
    result = one(people, 'db.people.find({age: {$gt: 0}}, {_id: 0, name: 1, age: 1})'
                         '.sort({age: -1}).skip(1).limit(2).toArray()')
    assert [c.name for c in result.columns] == ["name", "age"]
    assert result.rows == [["ann", 31], ["bob", 25]]
    assert result.rowcount == 2


def test_find_count_ignores_skip_and_limit_unless_asked(people):
    assert one(people, 'db.people.find({city: "Oslo"}).count()').rows == [[2]]
    assert one(people, "db.people.find().limit(2).count()").rows == [[5]]
    assert one(people, "db.people.find().skip(1).limit(3).count(true)").rows == [[3]]


def test_find_one_gives_one_row_or_none(people):
    assert records(one(people, 'db.people.findOne({name: "bob"}, {city: 1})')) == [
        {"_id": 2, "city": "Rome"}]
    assert one(people, 'db.people.findOne({name: "nobody"})').rows == []


def test_aggregate_groups_and_sorts(people):
    result = one(people, 'db.people.aggregate([{$group: {_id: "$city", n: {$sum: 1}}},'
                         '{$sort: {n: -1, _id: 1}}])')
    assert records(result) == [{"_id": "Oslo", "n": 2}, {"_id": "Rome", "n": 2},
                               {"_id": "Lima", "n": 1}]


def test_update_one_upserts_and_update_many_counts(people):
    many = one(people, 'db.people.updateMany({city: "Oslo"}, {$inc: {age: 1}})')
    assert records(many)[0]["matchedCount"] == 2 and many.rowcount == 2
    upsert = one(people, 'db.people.updateOne({_id: 9}, {$set: {name: "zed"}}, {upsert: true})')
    assert records(upsert)[0]["upsertedId"] == 9 and upsert.rowcount == 1
    missed = one(people, 'db.people.updateOne({_id: 99}, {$set: {name: "x"}})')
    assert records(missed)[0]["matchedCount"] == 0 and missed.rowcount == 0
    assert one(people, 'db.people.findOne({_id: 3}, {_id: 0, age: 1})').rows == [[43]]


def test_replace_and_delete_report_counts(people):
    replaced = one(people, 'db.people.replaceOne({_id: 1}, {name: "ann", retired: true})')
    assert replaced.rowcount == 1
    assert records(one(people, "db.people.findOne({_id: 1})")) == [
        {"_id": 1, "name": "ann", "retired": True}]
    assert one(people, "db.people.deleteOne({_id: 2})").rowcount == 1
    assert one(people, 'db.people.deleteMany({city: {$in: ["Oslo", "Rome"]}})').rowcount == 2
    assert one(people, "db.people.countDocuments({})").rows == [[2]]


def test_counts_and_distinct(people):
    assert one(people, "db.people.countDocuments({age: {$lt: 30}})").rows == [[3]]
    assert one(people, "db.people.estimatedDocumentCount()").rows == [[5]]
    result = one(people, 'db.people.distinct("city", {age: {$gt: 0}})')
    assert [c.name for c in result.columns] == ["city"]
    assert sorted(r[0] for r in result.rows) == ["Lima", "Oslo", "Rome"]


def test_unique_index_is_created_listed_enforced_and_dropped(people):
    one(people, 'db.people.createIndex({name: 1}, {unique: true})')
    indexes = records(one(people, "db.people.getIndexes()"))
    assert any(ix["key"] == {"name": 1} and ix.get("unique") for ix in indexes)
    [result] = people.execute('db.people.insertOne({name: "ann"})')
    assert result.error["type"] == "ExecutionError" and "11000" in result.error["message"]
    name = next(ix["name"] for ix in indexes if ix["key"] == {"name": 1})
    one(people, f'db.people.dropIndex("{name}")')
    assert len(one(people, "db.people.getIndexes()").rows) == 1


@pytest.mark.standin_gap
def test_index_keeps_its_name_and_direction(mongo):
    assert one(mongo, 'db.t.createIndex({a: -1, b: 1}, {name: "a_desc"})').rows == [["a_desc"]]
    indexes = records(one(mongo, "db.t.getIndexes()"))
    assert {"name": "a_desc", "key": {"a": -1, "b": 1}, "v": 2} in indexes


def test_collections_are_created_listed_addressed_and_dropped(mongo):
    one(mongo, 'db.createCollection("book_list")')
    ok(mongo, 'db.getCollection("book_list").insertOne({n: 1})\n'
              'db["book_list"].insertOne({n: 2})\ndb.plain.insertOne({n: 3})')
    assert one(mongo, "db.getCollectionNames()").rows == [["book_list"], ["plain"]]
    assert one(mongo, 'db["book_list"].countDocuments({})').rows == [[2]]
    assert records(one(mongo, "db.plain.drop()")) == [{"dropped": True}]
    assert one(mongo, "db.getCollectionNames()").rows == [["book_list"]]


@pytest.mark.standin_gap
def test_collection_names_with_spaces_are_reachable(mongo):
    one(mongo, 'db.createCollection("address book")')
    ok(mongo, 'db.getCollection("address book").insertOne({n: 1})\n'
              'db["address book"].insertOne({n: 2})')
    assert one(mongo, 'db["address book"].countDocuments({})').rows == [[2]]


def test_error_in_statement_three_of_five_stops_there(people):
    results = people.execute('db.people.countDocuments({})\n'
                             'db.people.insertOne({_id: 10})\n'
                             'db.people.insertOne({_id: 1})\n'
                             'db.people.insertOne({_id: 11})\n'
                             'db.people.countDocuments({})')
    assert [r.error is None for r in results] == [True, True, False]
    assert results[2].line == 3
    assert results[2].error["type"] == "ExecutionError"
    assert "11000" in results[2].error["message"]
    assert one(people, "db.people.countDocuments({})").rows == [[6]]


def test_server_error_keeps_the_code(people):
    [result] = people.execute('db.people.aggregate([{$nosuchstage: {}}])')
    assert result.error["type"] == "ExecutionError"


# -- values and columns -------------------------------------------------------

def test_nested_documents_flatten_to_dotted_columns_arrays_stay_whole(mongo):
    one(mongo, 'db.r.insertMany([{_id: 1, name: "a", address: {zipcode: "10", geo: {lat: 1.5}},'
               ' tags: ["x", {y: 1}]}, {_id: 2, name: 7, extra: null, address: {}}])')
    result = one(mongo, "db.r.find().sort({_id: 1})")
    assert [c.name for c in result.columns] == [
        "_id", "name", "address.zipcode", "address.geo.lat", "tags", "extra", "address"]
    assert types(result) == {"_id": "int", "name": "mixed", "address.zipcode": "string",
                             "address.geo.lat": "double", "tags": "array", "extra": "null",
                             "address": "object"}
    assert result.rows[0] == [1, "a", "10", 1.5, ["x", {"y": 1}], None, None]
    assert result.rows[1] == [2, 7, None, None, None, None, {}]


def test_id_column_comes_first_even_when_seen_late(mongo):
    result = one(mongo, "db.x.aggregate([{$project: {_id: 0, a: 1}}])")
    assert result.columns == []
    one(mongo, 'db.x.insertOne({a: 1, _id: "k"})')
    assert [c.name for c in one(mongo, "db.x.find()").columns] == ["_id", "a"]


def test_object_ids_and_dates_come_back_as_extended_json(mongo):
    one(mongo, 'db.v.insertOne({_id: ObjectId("5f1d7f3b2c7c8a0a1c2b3d4e"), '
               'at: ISODate("2020-02-03T04:05:06.789Z"), epoch: new Date(0), '
               'local: ISODate("2009-04-01T00:00:00.000-07:00"), n: NumberInt("5"), '
               'neg: -2.5, none: null, made: ObjectId(), now: new Date()})')
    result = one(mongo, "db.v.find()")
    row = records(result)[0]
    assert row["_id"] == {"$oid": "5f1d7f3b2c7c8a0a1c2b3d4e"}
    assert row["at"] == {"$date": "2020-02-03T04:05:06.789Z"}
    assert row["epoch"] == {"$date": "1970-01-01T00:00:00Z"}
    assert row["local"] == {"$date": "2009-04-01T07:00:00Z"}
    assert (row["n"], row["neg"]) == (5, -2.5)
    assert set(row["made"]) == {"$oid"} and set(row["now"]) == {"$date"}
    assert types(result) == {"_id": "objectId", "at": "date", "epoch": "date", "local": "date",
                             "n": "int", "neg": "double", "none": "null", "made": "objectId",
                             "now": "date"}
    found = one(mongo, 'db.v.find({at: {$gt: new Date("2020-01-01")}}, {_id: 1})')
    assert found.rowcount == 1


@pytest.mark.standin_gap
def test_number_long_keeps_its_type(mongo):
    one(mongo, 'db.v.insertOne({_id: 1, big: NumberLong("9007199254740993"), '
               'small: NumberLong(2)})')
    result = one(mongo, "db.v.find()")
    assert types(result)["big"] == "long" and types(result)["small"] == "long"
    assert records(result)[0]["big"] == 9007199254740993


@pytest.mark.standin_gap
def test_number_decimal_keeps_its_digits(mongo):
    one(mongo, 'db.v.insertOne({_id: 1, price: NumberDecimal("0.10")})')
    result = one(mongo, "db.v.find()")
    assert types(result)["price"] == "decimal"
    assert records(result)[0]["price"] == {"$numberDecimal": "0.10"}


@pytest.mark.standin_gap
def test_booleans_stay_booleans(mongo):
    one(mongo, "db.v.insertOne({_id: 1, yes: true, no: false})")
    result = one(mongo, "db.v.aggregate([{$project: {yes: 1, no: 1}}])")
    assert records(result) == [{"_id": 1, "yes": True, "no": False}]
    assert types(result)["yes"] == "bool"


@pytest.mark.standin_gap
def test_regex_literal_filters(people):
    result = one(people, 'db.people.find({name: /^[ab]/i}, {name: 1})')
    assert sorted(r["name"] for r in records(result)) == ["ann", "bob"]


def test_regex_operator_filters(people):
    result = one(people, 'db.people.find({name: {$regex: "^[AB]", $options: "i"}}, {name: 1})')
    assert sorted(r["name"] for r in records(result)) == ["ann", "bob"]


# -- limits -------------------------------------------------------------------

def test_row_cap_truncates_a_large_collection(mongo):
    docs = ",".join(f"{{i: {i}, pad: \"{'x' * 20}\"}}" for i in range(2500))
    assert one(mongo, f"db.big.insertMany([{docs}])").rowcount == 2500
    capped = one(mongo, "db.big.find().sort({i: 1})", max_rows=1000)
    assert len(capped.rows) == 1000 and capped.truncated is True and capped.rowcount is None
    small = one(mongo, "db.big.aggregate([{$sort: {i: -1}}])", max_rows=3)
    assert [r[1] for r in small.rows] == [2499, 2498, 2497] and small.truncated is True
    whole = one(mongo, "db.big.find({i: {$lt: 10}})", max_rows=10)
    assert len(whole.rows) == 10 and whole.truncated is False


@pytest.mark.standin_gap
def test_max_time_ms_stops_a_slow_query_as_a_timeout(mongo):
    docs = ",".join(f"{{i: {i}}}" for i in range(50))
    one(mongo, f"db.slow.insertMany([{docs}])")
    started = time.perf_counter()
    [result] = mongo.execute('db.slow.find({$where: "sleep(200) || true"})', timeout_s=0.5)
    assert result.error is not None and result.error["type"] == "QueryTimeout"
    assert time.perf_counter() - started < 5
    assert one(mongo, "db.slow.countDocuments({})").rows == [[50]]


def test_unreachable_server_is_engine_unavailable(engine_for):
    from engines.registry import connect
    from tests.servers import free_port

    engine = connect("mongodb", f"mongodb://127.0.0.1:{free_port()}/x?serverSelectionTimeoutMS=300")
    with engine:
        [result] = engine.execute("db.a.find()")
        assert result.error["type"] == "EngineUnavailable"
        assert engine.ping() is False


def test_ping_answers(mongo):
    assert mongo.ping() is True


# -- explain ------------------------------------------------------------------

def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def test_explain_normalises_find_aggregate_and_count(people):
    one(people, "db.people.createIndex({age: 1})")
    for statement in ('db.people.find({age: {$gt: 20}}).sort({age: 1})',
                      'db.people.aggregate([{$match: {age: {$gt: 20}}}, '
                      '{$group: {_id: "$city", n: {$sum: 1}}}])',
                      'db.people.countDocuments({age: {$gt: 20}})',
                      'db.people.find({city: "Oslo"}).explain("executionStats")'):
        explained = people.explain(statement)
        assert explained.plan is not None, statement
        assert explained.plan.node
        assert isinstance(explained.raw, dict) and explained.raw
        json.dumps(explained.to_dict())


@pytest.mark.standin_gap
def test_explain_names_stages_index_rows_and_time(people):
    one(people, "db.people.createIndex({age: 1})")
    explained = people.explain("db.people.find({age: {$gt: 20}})")
    nodes = list(walk(explained.plan))
    assert {"FETCH", "IXSCAN"} <= {n.node for n in nodes}
    scan = next(n for n in nodes if n.node == "IXSCAN")
    assert "age_1" in scan.detail
    assert explained.plan.actual_rows == 3 and explained.plan.time_ms is not None
    assert "executionStats" in explained.raw
    grouped = people.explain('db.people.aggregate([{$match: {age: {$gt: 20}}}, '
                             '{$group: {_id: "$city", n: {$sum: 1}}}])')
    assert any(n.node in ("IXSCAN", "COLLSCAN") for n in walk(grouped.plan))


def test_explain_inside_a_script_returns_the_explain_document(people):
    result = one(people, 'db.people.find({city: "Oslo"}).explain("executionStats")')
    assert len(result.rows) == 1
    assert "queryPlanner" in [c.name for c in result.columns]


def test_explain_refuses_writes(people):
    with pytest.raises(UnsupportedCommand):
        people.explain("db.people.insertOne({a: 1})")


# -- schema -------------------------------------------------------------------

def test_schema_samples_field_types_indexes_and_counts(mongo):
    one(mongo, 'db.s.insertMany([{_id: 1, name: "a", n: 1, at: new Date(0), sub: {k: "x"}},'
               ' {_id: ObjectId(), name: "b", n: 2.5, tags: []}])')
    one(mongo, 'db.s.createIndex({name: 1}, {unique: true})')
    one(mongo, 'db.createCollection("empty")')
    schema = mongo.schema()
    assert [t.name for t in schema.tables] == ["empty", "s"]
    table = schema.table("s")
    columns = {c.name: c for c in table.columns}
    assert table.columns[0].name == "_id" and table.columns[0].primary_key
    assert {n: c.type for n, c in columns.items()} == {
        "_id": "mixed", "name": "string", "n": "mixed", "at": "date", "sub.k": "string",
        "tags": "array"}
    assert columns["name"].nullable is False and columns["tags"].nullable is True
    assert table.row_count == 2 and table.kind == "collection" and table.primary_key == ["_id"]
    assert any(ix.unique and ix.columns == ["name"] for ix in table.indexes)
    assert schema.table("empty").row_count == 0 and schema.table("empty").columns == []
    json.dumps(schema.to_dict())


@pytest.mark.standin_gap
def test_schema_reports_collection_options(mongo):
    one(mongo, 'db.createCollection("log", {capped: true, size: 65536})')
    assert mongo.schema().table("log").extra["options"]["capped"] is True


# -- dump and restore ---------------------------------------------------------

def dump_json(engine, path):
    engine.dump(path)
    return json.loads(path.read_text())


def test_dump_restore_round_trip_keeps_documents_indexes_and_empty_collections(
        engine_for, tmp_path: Path):
    source = engine_for("mongodb")
    ok(source, 'db.items.insertMany([{_id: ObjectId("5f1d7f3b2c7c8a0a1c2b3d4e"), '
               'name: "a", at: ISODate("2021-05-06T07:08:09.010Z"), n: 1, x: 1.5, '
               'nested: {deep: {list: [1, "two", {three: 3}]}}}, {_id: 7, name: "b"}])\n'
               'db.items.createIndex({name: 1}, {unique: true})\n'
               'db.items.createIndex({n: 1, x: 1})\n'
               'db.createCollection("nothing_yet")')
    first = dump_json(source, tmp_path / "a.json")
    assert first["format"] == "dbplay-mongodb-dump" and first["version"] == 1
    assert [c["name"] for c in first["collections"]] == ["items", "nothing_yet"]
    assert first["collections"][1]["documents"] == []
    assert first["collections"][0]["documents"][0]["n"] == {"$numberInt": "1"}
    target = engine_for("mongodb")
    target.restore(tmp_path / "a.json")
    assert dump_json(target, tmp_path / "b.json") == first
    assert database_checksums(target) == database_checksums(source)
    [dup] = target.execute('db.items.insertOne({name: "a"})')
    assert dup.error["type"] == "ExecutionError"


@pytest.mark.standin_gap
def test_dump_restore_keeps_collection_options_and_bson_number_types(engine_for, tmp_path):
    source = engine_for("mongodb")
    ok(source, 'db.createCollection("log", {capped: true, size: 65536, max: 100})\n'
               'db.createCollection("checked", {validator: {n: {$type: "long"}}})\n'
               'db.checked.insertOne({n: NumberLong(5), d: NumberDecimal("1.10"), b: true})\n'
               'db.checked.createIndex({n: -1}, {name: "n_desc", sparse: true})')
    first = dump_json(source, tmp_path / "a.json")
    target = engine_for("mongodb")
    target.restore(tmp_path / "a.json")
    again = dump_json(target, tmp_path / "b.json")
    assert again == first
    log = next(c for c in again["collections"] if c["name"] == "log")
    assert log["options"]["capped"] is True
    checked = next(c for c in again["collections"] if c["name"] == "checked")
    assert checked["documents"][0]["n"] == {"$numberLong": "5"}
    assert checked["documents"][0]["d"] == {"$numberDecimal": "1.10"}


def test_restore_refuses_a_non_empty_database_and_foreign_files(mongo, tmp_path: Path):
    one(mongo, "db.items.insertOne({a: 1})")
    mongo.dump(tmp_path / "d.json")
    with pytest.raises(RestoreError, match="already exists"):
        mongo.restore(tmp_path / "d.json")
    (tmp_path / "raw.json").write_text('{"a": 1}\n{"a": 2}\n')
    with pytest.raises(RestoreError, match=r"engines\.mongodb\.convert"):
        mongo.restore(tmp_path / "raw.json")


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_sample_dataset_loads_dumps_and_restores_identically(engine_for, tmp_path, name):
    source_file = DATASETS[name]
    expected = list(read_json_lines(source_file))
    collection = source_file.stem.replace("-", "_")
    assert convert(source_file, collection, tmp_path / "seed.json") == len(expected)
    first = engine_for("mongodb")
    first.restore(tmp_path / "seed.json")
    assert one(first, f'db["{collection}"].countDocuments({{}})').rows == [[len(expected)]]
    assert database_checksums(first) == {collection: checksum(expected)}
    first.dump(tmp_path / "dump.json")
    second = engine_for("mongodb")
    second.restore(tmp_path / "dump.json")
    assert database_checksums(second) == {collection: checksum(expected)}
    assert {t.name: t.row_count for t in second.schema().tables} == {collection: len(expected)}


@pytest.mark.parametrize("template", sorted(TEMPLATE_DUMPS))
def test_builtin_template_dump_is_generated_from_its_source(tmp_path, template):
    source, committed = TEMPLATE_DUMPS[template]
    convert(source, template, tmp_path / "fresh.json")
    assert (tmp_path / "fresh.json").read_text() == committed.read_text()


# -- import and export --------------------------------------------------------

@pytest.mark.parametrize("transactional", [False, True])
def test_import_with_a_bad_row_names_it_and_leaves_nothing(mongo, monkeypatch, transactional):
    monkeypatch.setattr(mongo, "_has_transactions", lambda: transactional)
    rows = [{"_id": 1, "v": "a"}, {"_id": 2, "v": "b"}, {"_id": 1, "v": "dup"}, {"_id": 4}]
    with pytest.raises(ImportRowError) as info:
        mongo.import_rows("fresh", rows)
    assert info.value.row == 3
    assert "fresh" not in mongo.db.list_collection_names()
    one(mongo, 'db.kept.insertOne({_id: 9, v: "old"})')
    with pytest.raises(ImportRowError) as info:
        mongo.import_rows("kept", [{"_id": 1}, {"_id": 2}, "not a record"])
    assert info.value.row == 3
    assert records(one(mongo, "db.kept.find()")) == [{"_id": 9, "v": "old"}]
    with pytest.raises(ImportRowError) as info:
        mongo.import_rows("kept", [{"_id": 5}, {"_id": 9}])
    assert info.value.row == 2
    assert one(mongo, "db.kept.countDocuments({})").rows == [[1]]


def test_import_reads_extended_json_values(mongo):
    report = mongo.import_rows("imp", [
        {"_id": {"$oid": "5f1d7f3b2c7c8a0a1c2b3d4e"},
         "at": {"$date": "2009-04-01T00:00:00.000-0700"}, "n": "7"},
        {"_id": 2, "nested": {"when": {"$date": "2020-01-01T00:00:00Z"}}},
    ])
    assert report.rows == 2 and report.target == "imp"
    result = one(mongo, "db.imp.find()")
    assert types(result) == {"_id": "mixed", "at": "date", "n": "string", "nested.when": "date"}
    assert records(result)[0]["at"] == {"$date": "2009-04-01T07:00:00Z"}


def test_export_has_every_field_of_every_document(mongo, tmp_path: Path):
    one(mongo, 'db.e.insertMany([{_id: 1, a: 1}, {_id: 2, b: {c: "x"}}, {_id: 3, d: [1, 2]}])')
    out = tmp_path / "e.jsonl"
    assert mongo.export("db.e.find().sort({_id: 1})", "jsonl", out) == 3
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0] == {"_id": 1, "a": 1, "b.c": None, "d": None}
    assert lines[2]["d"] == [1, 2]
    from engines.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        mongo.export("db.e.deleteMany({})", "csv", tmp_path / "x.csv")


def test_plan_normaliser_reads_classic_and_pipeline_explain_output():
    """The shapes MongoDB 7 returns, as documented (the stand-in cannot produce them)."""
    from engines.mongodb.plan import plan_tree

    classic = {
        "queryPlanner": {"winningPlan": {"stage": "FETCH", "inputStage": {
            "stage": "IXSCAN", "indexName": "age_1", "keyPattern": {"age": 1}}}},
        "executionStats": {"nReturned": 3, "executionTimeMillis": 1, "executionStages": {
            "stage": "FETCH", "nReturned": 3, "executionTimeMillisEstimate": 1, "docsExamined": 3,
            "inputStage": {"stage": "IXSCAN", "nReturned": 3, "executionTimeMillisEstimate": 0,
                           "indexName": "age_1", "keyPattern": {"age": 1}, "keysExamined": 3}}}}
    plan = plan_tree(classic)
    assert (plan.node, plan.actual_rows, plan.time_ms) == ("FETCH", 3, 1)
    [scan] = plan.children
    assert scan.node == "IXSCAN" and "index age_1" in scan.detail and scan.actual_rows == 3
    pipeline = {"stages": [
        {"$cursor": classic, "nReturned": 3, "executionTimeMillisEstimate": 1},
        {"$group": {"_id": "$city"}, "nReturned": 2, "executionTimeMillisEstimate": 2},
        {"$sort": {"sortKey": {"n": -1}}, "nReturned": 2, "executionTimeMillisEstimate": 2}]}
    root = plan_tree(pipeline)
    assert [n.node for n in walk(root)] == ["$sort", "$group", "FETCH", "IXSCAN"]
    assert root.children[0].actual_rows == 2
    sbe = {"queryPlanner": {"winningPlan": {"queryPlan": {"stage": "GROUP", "inputStage": {
        "stage": "COLLSCAN"}}, "slotBasedPlan": {"stages": "..."}}},
        "executionStats": {"nReturned": 2, "executionTimeMillis": 4,
                           "executionStages": {"stage": "project"}}}
    root = plan_tree(sbe)
    assert [n.node for n in walk(root)] == ["GROUP", "COLLSCAN"]
    assert (root.actual_rows, root.time_ms) == (2, 4)


def test_number_literals_are_typed_like_mongosh(mongo):
    one(mongo, "db.n.insertOne({_id: 1, whole: 2.0, frac: 1.5, big: 3000000000, neg: -4})")
    result = one(mongo, "db.n.find()")
    assert records(result) == [{"_id": 1, "whole": 2, "frac": 1.5, "big": 3000000000.0,
                                "neg": -4}]
    assert types(result) == {"_id": "int", "whole": "int", "frac": "double", "big": "double",
                             "neg": "int"}


def test_run_command_sets_a_validator_with_coll_mod(mongo):
    ok(mongo, 'db.createCollection("checked")\ndb.checked.insertOne({n: 1})')
    answer = records(one(mongo, 'db.runCommand({collMod: "checked", validator: {$jsonSchema: '
                                '{bsonType: "object", required: ["n"]}}, validationLevel: '
                                '"strict", validationAction: "error"})'))
    assert answer[0]["ok"] == 1


@pytest.mark.standin_gap
def test_a_validator_set_with_coll_mod_rejects_a_failing_document(mongo):
    ok(mongo, 'db.createCollection("checked")\n'
              'db.runCommand({collMod: "checked", validator: {$jsonSchema: {bsonType: "object", '
              'required: ["n"]}}, validationLevel: "strict", validationAction: "error"})')
    [result] = mongo.execute('db.checked.insertOne({m: 1})')
    assert result.error is not None and "121" in result.error["message"]  # DocumentValidation


@pytest.mark.parametrize("command", ['db.runCommand({dropDatabase: 1})',
                                    'db.runCommand({collMod: "t", index: {name: "a_1"}})'])
def test_run_command_refuses_other_commands_and_fields(mongo, command):
    [result] = mongo.execute(command)
    assert result.error is not None and result.error["type"] == "UnsupportedCommand"
