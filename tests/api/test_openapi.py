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
