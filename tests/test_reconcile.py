"""The Reconciliation API (/api/reconcile/, W3C/OpenRefine 0.2): the manifest, batches sent as OpenRefine sends
them (a form field, a GET parameter, JSONP) and as JSON, the candidates' scores and matches over the curated
companies and people (garbled aliases included), types, properties, limits, errors and query counts."""

import json
from urllib.parse import urlencode

import jsonschema
import pytest
from django.test import Client
from rest_framework.test import APIClient

from articles.models import Company, Person
from articles.reconcile import MAX_QUERIES, normalise

from .base import make_company, make_person

URL = "/api/reconcile/"


def post_form(client, batch) -> dict:
    """As OpenRefine sends a batch: form-encoded, the JSON in the field ``queries``."""
    response = client.post(
        URL, urlencode({"queries": json.dumps(batch)}), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    return response.json()


def ids(result: dict) -> list[str]:
    return [candidate["id"] for candidate in result["result"]]


def features(candidate: dict) -> dict:
    return {feature["id"]: feature["value"] for feature in candidate["features"]}


def errors(response) -> list[str]:
    assert response.status_code == 400, response.content
    return response.json()["queries"]


@pytest.fixture
def api():
    return APIClient()


class TestManifest:
    def test_it_describes_the_service_with_both_types_and_a_view_url(self, api, db):
        manifest = api.get(URL).json()
        assert manifest["versions"] == ["0.2"]
        assert manifest["name"].startswith("newsdb")
        assert manifest["identifierSpace"] == "http://testserver/api/"
        assert manifest["schemaSpace"] == "http://testserver/api/schema/"
        assert manifest["defaultTypes"] == [{"id": "company", "name": "Company"}, {"id": "person", "name": "Person"}]
        assert manifest["view"] == {"url": "http://testserver/api/{{id}}/"}

    def test_the_view_url_of_a_candidate_is_its_api_detail(self, api, db):
        make_company("acme", name="Acme Mining")
        make_person("jane-roe", name="Jane Roe")
        manifest = api.get(URL).json()
        batch = {"q0": {"query": "Acme Mining"}, "q1": {"query": "Jane Roe"}}
        results = post_form(api, batch)
        for key, name in (("q0", "Acme Mining"), ("q1", "Jane Roe")):
            url = manifest["view"]["url"].replace("{{id}}", results[key]["result"][0]["id"])
            assert api.get(url).json()["name"] == name

    def test_jsonp_wraps_the_manifest_in_the_callback(self, api, db):
        response = api.get(URL, {"callback": "jQuery123_456"})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/javascript; charset=utf-8"
        body = response.content.decode()
        assert body.startswith("/**/jQuery123_456(") and body.endswith(");")
        assert json.loads(body[len("/**/jQuery123_456(") : -2]) == api.get(URL).json()

    def test_a_callback_that_is_not_a_function_name_is_a_400(self, api, db):
        for callback in ("alert(1)//", "a b", "1abc", "x;y", "a" * 200 + "</script>", "a" * 201):
            response = api.get(URL, {"callback": callback})
            assert response.status_code == 400
            assert "function name" in response.json()["callback"][0]

    def test_an_unknown_parameter_is_a_400_listing_the_accepted_ones(self, api, db):
        response = api.get(URL, {"query": "Bitmain"})
        assert response.status_code == 400
        assert response.json() == {"query": ["Unknown query parameter; accepted: callback, format, queries."]}

    def test_the_browsable_api_shows_it(self, db):
        response = Client().get(URL, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert "identifierSpace" in response.content.decode()


class TestCuratedBatches:
    """Over the curated data set (loaded once for the class)."""

    @pytest.fixture(autouse=True)
    def data(self, curated_readonly):
        return curated_readonly

    def test_a_garbled_name_a_garble_alias_and_a_person_in_one_batch(self, api):
        results = post_form(
            api,
            {
                "q0": {"query": "Bitmian", "type": "company", "limit": 3},
                "q1": {"query": "Betland"},
                "q2": {"query": "Wu Jihan", "type": "person"},
            },
        )
        [bitmain, *others] = results["q0"]["result"]
        assert (bitmain["id"], bitmain["name"], bitmain["match"]) == ("companies/bitmain", "Bitmain", True)
        assert bitmain["type"] == [{"id": "company", "name": "Company"}]
        assert features(bitmain) == {"name_similarity": 85.7, "exact_name": False}
        assert bitmain["score"] == 85.7
        assert all(not c["match"] and c["score"] <= bitmain["score"] - 10 for c in others)
        assert len(results["q0"]["result"]) <= 3

        [garble, *_] = results["q1"]["result"]
        assert (garble["id"], garble["match"], garble["score"]) == ("companies/bitmain", True, 100.0)
        assert features(garble)["exact_name"] is True
        assert "matched the alias “Betland” (a garble)" in garble["description"]

        [wu] = results["q2"]["result"]
        assert (wu["id"], wu["name"], wu["match"]) == ("people/jihan-wu", "Jihan Wu", True)
        assert wu["type"] == [{"id": "person", "name": "Person"}]

    def test_get_post_form_and_json_bodies_give_the_same_answer(self, api):
        batch = {"q0": {"query": "Cannan", "limit": 2}, "q1": {"query": "core scientifc"}}
        expected = post_form(api, batch)
        assert ids(expected["q0"])[0] == "companies/canaan" and expected["q0"]["result"][0]["match"] is True
        assert ids(expected["q1"]) == ["companies/core-scientific"]
        assert api.get(URL, {"queries": json.dumps(batch)}).json() == expected
        assert api.post(URL, {"queries": batch}, format="json").json() == expected
        assert api.post(URL, {"queries": json.dumps(batch)}, format="json").json() == expected
        assert api.post(URL, batch, format="json").json() == expected

    def test_a_logged_in_browser_needs_no_csrf_token(self, editor):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(editor)
        assert ids(post_form(client, {"q0": {"query": "MicroBT"}})["q0"]) == ["companies/microbt"]

    def test_an_unsure_best_candidate_is_no_match(self, api):
        results = post_form(api, {"q0": {"query": "Jihan"}, "q1": {"query": "Marathon"}})
        assert [c["match"] for c in results["q0"]["result"]] == [False]
        assert ids(results["q0"]) == ["people/jihan-wu"]
        assert ids(results["q1"])[0] == "companies/marathon-digital"
        assert not any(c["match"] for c in results["q1"]["result"])

    def test_an_unknown_name_has_no_candidates(self, api):
        assert post_form(api, {"q0": {"query": "Zyxwv Quorp"}}) == {"q0": {"result": []}}

    def test_the_type_limits_the_candidates_to_it(self, api):
        results = post_form(
            api,
            {
                "q0": {"query": "Jihan Wu", "type": "company"},
                "q1": {"query": "Wu", "type": "person"},
                "q2": {"query": "Bitmain", "type": ["Company", "person"]},
            },
        )
        assert "people/jihan-wu" not in ids(results["q0"])
        assert ids(results["q1"]) and all(i.startswith("people/") for i in ids(results["q1"]))
        assert ids(results["q2"])[0] == "companies/bitmain"

    def test_a_matching_property_lifts_a_candidate_and_a_contradicting_one_takes_away_the_match(self, api):
        plain = post_form(api, {"q0": {"query": "Bitmain Technologies", "type": "company"}})["q0"]["result"]
        assert (plain[0]["id"], plain[0]["match"]) == ("companies/bitmain", True)
        assert plain[1]["id"] == "companies/bitmain-technologies-delaware"

        query = {"query": "Bitmain Technologies", "type": "company", "properties": [{"pid": "country", "v": "us"}]}
        us = post_form(api, {"q0": query})["q0"]["result"]
        assert [c["id"] for c in us[:2]] == ["companies/bitmain-technologies-delaware", "companies/bitmain"]
        assert features(us[0])["property_country"] is True and features(us[1])["property_country"] is False
        assert us[0]["score"] == pytest.approx(plain[1]["score"] + 5) and us[1]["score"] == plain[0]["score"] - 15
        assert not any(c["match"] for c in us)

    def test_properties_of_people_and_reconciled_values(self, api):
        query = {
            "query": "Wu",
            "type": "person",
            "properties": [{"pid": "affiliation", "v": {"id": "companies/bitmain"}}],
        }
        [wu, *_] = post_form(api, {"q0": query})["q0"]["result"]
        assert wu["id"] == "people/jihan-wu" and features(wu)["property_affiliation"] is True
        by_alias = {**query, "properties": [{"pid": "affiliation", "v": ["Nobody Inc", "Bitmain Technologies"]}]}
        assert features(post_form(api, {"q0": by_alias})["q0"]["result"][0])["property_affiliation"] is True

    def test_founded_year_kind_and_title_compare_as_their_values_do(self, api):
        bitmain = {"query": "Bitmain", "type": "company"}
        for properties, expected in [
            ([{"pid": "founded_year", "v": 2013}], True),
            ([{"pid": "founded_year", "v": "2013"}], True),
            ([{"pid": "founded_year", "v": 2014}], False),
            ([{"pid": "kind", "v": "Hardware maker"}], True),
            ([{"pid": "kind", "v": "HARDWARE_MAKER"}], True),
            ([{"pid": "kind", "v": "miner"}], False),
        ]:
            [top, *_] = post_form(api, {"q0": {**bitmain, "properties": properties}})["q0"]["result"]
            pid = properties[0]["pid"]
            assert (top["id"], features(top)[f"property_{pid}"], top["match"]) == (
                "companies/bitmain",
                expected,
                expected,
            )
        title = Person.objects.get(slug="jihan-wu").title
        assert title
        query = {"query": "Jihan Wu", "properties": [{"pid": "title", "v": title.upper()}]}
        [wu] = post_form(api, {"q0": query})["q0"]["result"]
        assert features(wu)["property_title"] is True and wu["score"] == 100

    def test_jsonp_answers_a_batch_too(self, api):
        batch = json.dumps({"q0": {"query": "Bitmian"}})
        body = api.get(URL, {"queries": batch, "callback": "cb"}).content.decode()
        assert body.startswith("/**/cb(") and json.loads(body[len("/**/cb(") : -2]) == post_form(api, json.loads(batch))

    def test_properties_alone_find_what_has_them_up_to_the_limit(self, api):
        query = {"type": "company", "properties": [{"pid": "kind", "v": "Government"}], "limit": 1000}
        result = post_form(api, {"q0": query})["q0"]["result"]
        governments = set(Company.objects.filter(kind="government").values_list("slug", flat=True))
        assert len(governments) >= 3
        assert {c["id"].removeprefix("companies/") for c in result} == governments
        assert not any(c["match"] for c in result)
        limited = post_form(api, {"q0": {**query, "limit": 2}})["q0"]["result"]
        assert len(limited) == 2

    def test_limit_caps_the_candidates(self, api):
        many = post_form(api, {"q0": {"query": "Bit"}})["q0"]["result"]
        assert 1 < len(many) <= 5
        assert len(post_form(api, {"q0": {"query": "Bit", "limit": 1}})["q0"]["result"]) == 1

    def test_scores_are_best_first(self, api):
        result = post_form(api, {"q0": {"query": "Bitman", "limit": 10}})["q0"]["result"]
        scores = [c["score"] for c in result]
        assert scores == sorted(scores, reverse=True) and result[0]["id"] == "companies/bitmain"


MALFORMED_BATCHES = [
    ("[1, 2]", 'Give an object of queries, e.g. {"q0": {"query": "Bitmain"}}.'),
    ("{}", 'Give an object of queries, e.g. {"q0": {"query": "Bitmain"}}.'),
    ('{"q0": "Bitmain"}', 'q0: a query is an object such as {"query": "Bitmain"}.'),
    ('{"q0": {"query": 5}}', "q0.query: a string."),
    ('{"q0": {}}', "q0: give a query, properties, or both."),
    ('{"q0": {"query": "x", "qurey": 1}}', "q0: unknown keys qurey; a query may have limit, properties, "),
    ('{"q0": {"query": "x", "type": "org"}}', "q0.type: unknown type 'org'; the types are company, person."),
    ('{"q0": {"query": "x", "type": [1]}}', "q0.type: a type or a list of types (company, person)."),
    ('{"q0": {"query": "x", "type": null}}', "q0.type: a type or a list of types (company, person)."),
    ('{"q0": {"query": "x", "limit": 0}}', "q0.limit: a positive whole number, not '0'."),
    ('{"q0": {"query": "x", "limit": "3"}}', "q0.limit: a positive whole number, not '3'."),
    ('{"q0": {"query": "x", "limit": true}}', "q0.limit: a positive whole number, not 'True'."),
    ('{"q0": {"query": "x", "limit": 2.5}}', "q0.limit: a positive whole number, not '2.5'."),
    ('{"q0": {"query": "x", "type_strict": "most"}}', "q0.type_strict: one of any, should, all."),
    ('{"q0": {"query": "x", "type_strict": ["any"]}}', "q0.type_strict: one of any, should, all."),
    ('{"q0": {"query": "x", "type_strict": {}}}', "q0.type_strict: one of any, should, all."),
    ('{"q0": {"query": "x", "properties": {}}}', "q0.properties: a list such as"),
    ('{"q0": {"query": "x", "properties": [{"pid": "country"}]}}', "q0.properties[0]: an object with a pid"),
    (
        '{"q0": {"query": "x", "type": "person", "properties": [{"pid": "country", "v": "CN"}]}}',
        "q0.properties[0].pid: unknown property 'country'; the properties are person: affiliation, title.",
    ),
    ('{"q0": {"query": "x", "properties": [{"pid": "kind", "v": [[1]]}]}}', "q0.properties[0].v: a string,"),
    ('{"q0": {"query": "x", "properties": [{"pid": "kind", "v": []}]}}', "q0.properties[0].v: a string,"),
]


class TestErrors:
    @pytest.mark.parametrize(("batch", "message"), MALFORMED_BATCHES)
    def test_a_malformed_batch_is_a_400_naming_the_problem(self, api, db, batch, message):
        for response in (
            api.get(URL, {"queries": batch}),
            api.post(URL, urlencode({"queries": batch}), content_type="application/x-www-form-urlencoded"),
        ):
            [problem] = errors(response)
            assert problem.startswith(message), problem

    def test_every_problem_of_a_batch_is_named(self, api, db):
        batch = {"q0": {"query": "x", "limit": -1}, "q1": {"query": "y"}, "q2": {"query": "z", "type": "org"}}
        assert errors(api.post(URL, {"queries": batch}, format="json")) == [
            "q0.limit: a positive whole number, not '-1'.",
            "q2.type: unknown type 'org'; the types are company, person.",
        ]

    def test_invalid_json_is_a_400(self, api, db):
        [problem] = errors(api.get(URL, {"queries": '{"q0": {"query": "x"'}))
        assert problem.startswith("Not valid JSON: ")
        [problem] = errors(api.post(URL, {"queries": "{nope"}, format="json"))
        assert problem.startswith("Not valid JSON: ")
        response = api.post(URL, b'{"queries": ', content_type="application/json")
        assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
        response = api.post(URL, b"\xa7L\x1bp", content_type="application/json")
        assert response.status_code == 400
        assert response.json() == {
            "detail": "JSON parse error - 'utf-8' codec can't decode byte 0xa7 in position 0: invalid start byte"
        }

    def test_a_form_without_queries_is_a_400(self, api, db):
        response = api.post(URL, urlencode({"query": "Bitmain"}), content_type="application/x-www-form-urlencoded")
        assert errors(response) == ["Required: the batch of queries as JSON."]

    def test_too_many_queries_or_too_long_a_query_is_a_400(self, api, db):
        batch = {f"q{i}": {"query": "Bitmain"} for i in range(MAX_QUERIES + 1)}
        assert errors(api.post(URL, {"queries": batch}, format="json")) == [
            f"At most {MAX_QUERIES} queries per batch, not {MAX_QUERIES + 1}."
        ]
        assert errors(api.post(URL, {"queries": {"q0": {"query": "x" * 501}}}, format="json")) == [
            "q0.query: at most 500 characters."
        ]


MALFORMED = [
    json.loads(batch)
    for batch, _ in TestErrors.test_a_malformed_batch_is_a_400_naming_the_problem.pytestmark[0].args[1]
]
WELL_FORMED = [
    {"q0": {"query": "Bitmain"}},
    {"q0": {"properties": [{"pid": "country", "v": "CN"}]}},
    {"q0": {"query": "x", "type": ["person", "company"], "properties": [{"pid": "country", "v": ["CN", 1, True]}]}},
    {"q0": {"query": "x", "type": "", "limit": 500, "type_strict": "should"}},
    {"q0": {"query": "x", "type": []}, "q1": {"query": "Wu", "type": ["person"]}},
    {"q0": {"query": "x", "type": "person", "properties": [{"pid": "affiliation", "v": {"id": "companies/bitmain"}}]}},
]


class TestSchema:
    """The batch's schema, as /api/schema/ publishes it (a query parameter's JSON content, a JSON body), accepts
    what the service accepts and refuses what it refuses."""

    @pytest.fixture(scope="class")
    @classmethod
    def schemas(cls, django_db_blocker):
        with django_db_blocker.unblock():
            document = APIClient().get("/api/schema/", {"format": "json"}).json()
        operation = document["paths"][URL]
        [queries] = [p for p in operation["get"]["parameters"] if p["name"] == "queries"]
        body = operation["post"]["requestBody"]["content"]
        assert body["application/x-www-form-urlencoded"]["encoding"] == {"queries": {"contentType": "application/json"}}
        return queries["content"]["application/json"]["schema"], body["application/json"]["schema"]

    @pytest.mark.parametrize("batch", WELL_FORMED)
    def test_a_batch_the_schema_accepts_is_answered(self, api, db, schemas, batch):
        parameter, body = schemas
        jsonschema.validate(batch, parameter)
        jsonschema.validate({"queries": batch}, body)
        assert api.get(URL, {"queries": json.dumps(batch)}).status_code == 200
        assert set(post_form(api, batch)) == set(batch)

    @pytest.mark.parametrize("batch", [json.loads(batch) for batch, _ in MALFORMED_BATCHES])
    def test_a_batch_the_service_refuses_is_one_the_schema_refuses(self, schemas, batch):
        parameter, body = schemas
        assert not jsonschema.Draft4Validator(parameter).is_valid(batch)
        assert not jsonschema.Draft4Validator(body).is_valid({"queries": batch})


def test_normalising_a_name_drops_case_accents_punctuation_and_a_trailing_legal_form():
    assert normalise("Block, Inc.") == "block"
    assert normalise("U.S. Department of the Treasury") == "us department of the treasury"
    assert normalise("Canaan Creative Co., Ltd.") == "canaan creative"
    assert normalise("Société Générale") == "societe generale"
    assert normalise("比特大陆") == "比特大陆"
    assert normalise("Inc") == "inc"


@pytest.mark.parametrize("size", [1, 20])
def test_a_batch_reads_the_database_three_times_whatever_its_size(api, db, django_assert_num_queries, size):
    acme = make_company("acme", name="Acme Mining", aliases=("Akme Minning",))
    for i in range(30):
        make_company(f"company-{i}", name=f"Company {i}", aliases=(f"Alias {i}",), parent=acme)
        make_person(f"person-{i}", name=f"Person {i}", affiliation=acme, aliases=(f"P. {i}",))
    batch = {f"q{i}": {"query": f"Company {i}", "properties": [{"pid": "parent", "v": "acme"}]} for i in range(size)}
    with django_assert_num_queries(3):
        results = post_form(api, batch)
    assert len(results) == size
    for i in range(size):
        top = results[f"q{i}"]["result"][0]
        assert (top["id"], top["match"]) == (f"companies/company-{i}", True)
        assert features(top)["property_parent"] is True
