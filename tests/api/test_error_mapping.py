"""Error classes map to HTTP statuses in one place: the nearest listed ancestor wins."""

from __future__ import annotations

import json

import pytest

from engines import errors
from orchestrator.api.http.errors import dbplay_error_response, status_of


@pytest.mark.parametrize(("error", "status"), [
    (errors.NotFound("x"), 404),
    (errors.InvalidRequest("x"), 422),
    (errors.Conflict("x"), 409),
    (errors.NotAllowed("x"), 403),
    (errors.QuotaExceeded("x"), 429),
    (errors.Unauthorized("x"), 401),
    (errors.ServiceUnavailable("x"), 503),  # a ProvisionError, but its own status
    (errors.ProvisionError("x"), 400),
    (errors.PermissionDenied("x"), 400),
    (errors.ParseLimitExceeded("x"), 400),
    (errors.DBPlayError("x"), 400),
])
def test_each_error_class_has_its_status(error, status):
    assert status_of(error) == status


def test_the_body_keeps_the_errors_own_details():
    response = dbplay_error_response(errors.QuerySyntaxError("bad", line=3, column=7))
    assert response.status_code == 400
    assert json.loads(bytes(response.body)) == {"error": {
        "type": "QuerySyntaxError", "message": "bad", "line": 3, "column": 7}}
