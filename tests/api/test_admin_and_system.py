"""Accounts (the installation token and admins only), engines, status and the OpenAPI
document."""

from __future__ import annotations

import httpx

from engines import registry
from tests.api.conftest import UserClient, error_of

PASSWORD = "correct horse battery staple 42"


def test_the_installation_token_manages_accounts_and_a_plain_user_may_not(
        clients: UserClient, alice: httpx.Client):
    installation = clients(user="root-operator")
    made = installation.post("/users", json={"name": "erin", "password": PASSWORD,
                                             "admin": True})
    assert made.status_code == 201, made.text
    assert made.json() == {"name": "erin", "admin": True}
    assert "erin" in [u["name"] for u in installation.get("/users").json()]
    weak = error_of(installation.post("/users", json={"name": "frank", "password": "abc"}), 422)
    assert weak["type"] == "InvalidRequest"
    assert error_of(alice.get("/users"), 403)["type"] == "NotAllowed"
    error_of(alice.post("/users", json={"name": "mallory", "password": PASSWORD}), 403)
    # erin is an admin: her own token may add and remove accounts
    erin = clients(installation.post("/tokens", headers={"X-DBPlay-User": "erin"}).json()
                   ["token"])
    assert erin.post("/users", json={"name": "gus", "password": PASSWORD}).status_code == 201
    assert erin.delete("/users/gus").json() == {"deleted": "gus"}
    assert error_of(erin.delete("/users/gus"), 404)["type"] == "NotFound"
    assert "gus" not in [u["name"] for u in installation.get("/users").json()]


def test_engines_and_status(alice: httpx.Client):
    served = alice.get("/engines").json()
    assert served == [d.to_dict() for d in registry.descriptors()]
    sqlite = next(e for e in served if e["kind"] == "sqlite")
    assert sqlite["is_sql"] is True and sqlite["language"] == "sql" and sqlite["example"]
    status = alice.get("/status").json()
    assert status["redis"] is True and all(status["workers"].values())


def test_the_openapi_document_lists_every_route(api_stack):
    response = httpx.get(f"http://127.0.0.1:{api_stack.settings.api_port}/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/v1/health": {"get"},
        "/api/v1/engines": {"get"},
        "/api/v1/status": {"get"},
        "/api/v1/templates": {"get", "post"},
        "/api/v1/templates/{name}": {"delete"},
        "/api/v1/sandboxes": {"get", "post"},
        "/api/v1/sandboxes/{sandbox_id}": {"get", "delete"},
        "/api/v1/sandboxes/{sandbox_id}/reset": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/extend": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/connection": {"get"},
        "/api/v1/sandboxes/{sandbox_id}/events": {"get"},
        "/api/v1/sandboxes/{sandbox_id}/snapshots": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/schedules": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/query": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/query-jobs": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/build": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/build/preview": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/explain": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/schema": {"get"},
        "/api/v1/sandboxes/{sandbox_id}/schema/dbml": {"get"},
        "/api/v1/sandboxes/{sandbox_id}/design": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/design/validator": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/design/index": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/import": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/export": {"post"},
        "/api/v1/sandboxes/{sandbox_id}/workload": {"get"},
        "/api/v1/sandboxes/{sandbox_id}/advice": {"get", "post"},
        "/api/v1/sandboxes/{sandbox_id}/shares": {"post"},
        "/api/v1/shares": {"get"},
        "/api/v1/shares/{share_id}": {"get", "delete"},
        "/api/v1/shares/{share_id}/open": {"post"},
        "/api/v1/results/{result_id}": {"get"},
        "/api/v1/results/{result_id}/page": {"get"},
        "/api/v1/results/{result_id}/chart": {"post"},
        "/api/v1/results/{result_id}/chart-suggestion": {"get"},
        "/api/v1/results/{result_id}/export": {"get"},
        "/api/v1/schedules": {"get"},
        "/api/v1/schedules/{schedule_id}": {"delete"},
        "/api/v1/jobs": {"get"},
        "/api/v1/jobs/{job_id}": {"get"},
        "/api/v1/jobs/{job_id}/cancel": {"post"},
        "/api/v1/queries": {"get", "post"},
        "/api/v1/dashboards": {"get", "post"},
        "/api/v1/dashboards/{dashboard_id}": {"get", "delete"},
        "/api/v1/dashboards/{dashboard_id}/items": {"post"},
        "/api/v1/dashboards/{dashboard_id}/items/{item_id}": {"delete"},
        "/api/v1/dashboards/{dashboard_id}/layout": {"put"},
        "/api/v1/dashboards/{dashboard_id}/filters": {"put"},
        "/api/v1/dashboards/{dashboard_id}/schedule": {"put"},
        "/api/v1/dashboards/{dashboard_id}/refresh": {"post"},
        "/api/v1/tokens": {"get", "post"},
        "/api/v1/tokens/{token_id}": {"delete"},
        "/api/v1/users": {"get", "post"},
        "/api/v1/users/{name}": {"delete"},
    }
    assert {path: set(ops) for path, ops in paths.items()} == expected
