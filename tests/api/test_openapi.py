"""The OpenAPI document at /api/v1/openapi.json: generated from the code, describing what the API really does."""
from __future__ import annotations

from practice.counselors.queries import FILTERS


def test_openapi_document_describes_the_counselor_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": "http://practice.test"}]
    assert {"/api/v1/counselors", "/api/v1/counselors/{slug}"} <= set(doc["paths"])

    listing = doc["paths"]["/api/v1/counselors"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == set(FILTERS)
    assert all(p["in"] == "query" and not p["required"] for p in params.values())
    assert params["specialty"]["schema"]["enum"] == list(FILTERS["specialty"])
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CounselorList"}
    assert listing["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"}

    detail = doc["paths"]["/api/v1/counselors/{slug}"]["get"]
    assert detail["parameters"][0]["name"] == "slug" and detail["parameters"][0]["in"] == "path"
    assert detail["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Counselor"}
    assert detail["responses"]["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_counselor_schema_lists_every_field_the_api_sends(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    counselor = schemas["Counselor"]
    assert set(counselor["required"]) == {"slug", "name", "pronouns", "credentials", "headline", "bio", "timezone",
                                          "photo_url", "licenses", "specialties", "modalities", "languages",
                                          "formats", "services", "profile_url"}
    assert counselor["properties"]["photo_url"]["nullable"] is True
    assert counselor["properties"]["services"]["items"] == {"$ref": "#/components/schemas/Service"}
    assert counselor["properties"]["licenses"]["items"] == {"$ref": "#/components/schemas/License"}
    assert counselor["properties"]["formats"]["items"]["enum"] == ["individual", "couple"]
    assert set(schemas["Service"]["required"]) == {"slug", "name", "format", "duration_minutes", "price", "currency",
                                                   "is_trial"}
    assert schemas["Service"]["properties"]["price"]["type"] == "integer"
    assert set(schemas["License"]["required"]) == {"state", "number"}


def test_every_documented_path_exists_and_every_api_view_is_documented(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    from practice.api.openapi import API_BLUEPRINTS

    routes = {rule.rule.replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules()
              if rule.endpoint.split(".")[0] in API_BLUEPRINTS}
    assert set(doc["paths"]) <= routes
    undocumented = {r for r in routes if r not in doc["paths"]} - {"/api/v1/openapi.json"}
    assert undocumented == set()


def test_document_is_built_once_and_reused(app, client):
    first = client.get("/api/v1/openapi.json").get_json()
    assert app.extensions["practice.openapi"] is not None
    assert client.get("/api/v1/openapi.json").get_json() == first


def test_every_reference_in_the_document_resolves(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc["paths"])
    walk(doc["components"])

    def resolves(ref: str) -> bool:
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    missing = {ref for ref in refs if not resolves(ref)}
    assert refs and missing == set()
    assert any(ref.startswith("#/components/responses/") for ref in refs)


# Every status each operation can answer, as the issue listed them: 404 where a slug, id or token may open
# nothing; 410 where a link can stop working; 422 where input is checked; 429 where the rate limit applies;
# 413 where a body is read; 500 and 503 everywhere (practice/__init__.py's handlers).
EXPECTED_STATUSES = {
    ("get", "/api/v1/counselors"): {"200", "422"},
    ("get", "/api/v1/counselors/{slug}"): {"200", "404"},
    ("get", "/api/v1/counselors/{slug}/slots"): {"200", "404", "422"},
    ("post", "/api/v1/bookings"): {"201", "409", "413", "422", "429"},
    ("get", "/api/v1/bookings/{booking_id}"): {"200", "404", "410", "429"},
    ("post", "/api/v1/bookings/{booking_id}/reschedule"): {"200", "403", "404", "409", "410", "413", "422", "429"},
    ("post", "/api/v1/bookings/{booking_id}/cancel"): {"200", "403", "404", "409", "410", "413", "422", "429"},
    ("post", "/api/v1/bookings/{booking_id}/payment"): {"200", "404", "409", "413", "429"},
    ("get", "/api/v1/intakes/{token}"): {"200", "404", "410", "429"},
    ("put", "/api/v1/intakes/{token}/sections/{section_id}"): {"200", "404", "409", "410", "413", "422", "429"},
    ("post", "/api/v1/intakes/{token}"): {"201", "404", "409", "410", "413", "422", "429"},
}


def operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_each_operation_lists_every_status_it_answers(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    found = {(method, path): set(op["responses"]) for method, path, op in operations(doc)}
    assert set(found) == set(EXPECTED_STATUSES)
    for key, statuses in EXPECTED_STATUSES.items():
        assert found[key] == statuses | {"500", "503"}, key


def test_every_answer_has_a_json_body_described_by_a_schema(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    responses = doc["components"]["responses"]
    for method, path, operation in operations(doc):
        assert operation["operationId"] and operation["tags"], (method, path)
        for status, response in operation["responses"].items():
            response = responses[response["$ref"].split("/")[-1]] if "$ref" in response else response
            assert response["description"], (method, path, status)
            assert "$ref" in response["content"]["application/json"]["schema"] or \
                response["content"]["application/json"]["schema"]["type"] == "object", (method, path, status)


def test_rate_limited_and_unavailable_answers_say_when_to_retry(client):
    responses = client.get("/api/v1/openapi.json").get_json()["components"]["responses"]
    for name in ("TooManyRequests", "Unavailable"):
        assert responses[name]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
        assert responses[name]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_links_lead_from_slots_to_a_booking_and_from_a_booking_onwards(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ops = {op["operationId"]: op for _method, _path, op in operations(doc)}
    ids = set(ops)
    book = ops["listSlots"]["responses"]["200"]["links"]["book"]
    assert book["operationId"] == "createBooking"
    assert book["requestBody"]["start"] == "$response.body#/slots/0/start"
    onwards = ops["createBooking"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in onwards.values()} == {
        "getBooking", "rescheduleBooking", "cancelBooking", "startPayment", "getIntake"}
    for _method, _path, op in operations(doc):
        for response in op["responses"].values():
            assert {link["operationId"] for link in response.get("links", {}).values()} <= ids


def test_empty_filters_are_documented_as_422(client):
    listing = client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/counselors"]["get"]
    assert "is empty" in listing["responses"]["422"]["description"]
    assert all("" not in p["schema"]["enum"] for p in listing["parameters"])


def test_every_tag_an_operation_uses_is_described(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    described = {tag["name"] for tag in doc["tags"] if tag["description"]}
    used = {tag for _method, _path, op in operations(doc) for tag in op["tags"]}
    assert used == described == {"Counselors", "Scheduling", "Bookings", "Intake"}
