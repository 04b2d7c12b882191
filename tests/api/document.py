"""Checking an answer against /api/v1/openapi.json: the documented response of its operation and status, and
whether the body is valid against that response's schema (references resolved in the document)."""
from __future__ import annotations

import jsonschema_rs


def documented(client, path: str, method: str, status: str) -> dict:
    """The documented response of an operation, references resolved."""
    doc = client.get("/api/v1/openapi.json").get_json()
    response = doc["paths"][path][method]["responses"][status]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].split("/")[-1]]
    return response


def json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema's own null type, which the validator knows."""
    if isinstance(node, list):
        return [json_schema(each) for each in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def assert_matches(client, response, path: str, method: str) -> None:
    """The answer's status is documented for the operation, it is JSON, and its body has the documented shape."""
    described = documented(client, path, method, str(response.status_code))
    assert response.mimetype == "application/json"
    schema = described["content"]["application/json"]["schema"]
    components = client.get("/api/v1/openapi.json").get_json()["components"]
    validator = jsonschema_rs.Draft4Validator(json_schema({**schema, "components": components}))
    problems = [error.message for error in validator.iter_errors(response.get_json())]
    assert problems == [], (path, method, response.status_code, problems)
