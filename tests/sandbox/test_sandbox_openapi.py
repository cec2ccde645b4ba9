"""Every kind of answer the fake Calendly gives, validated against Calendly's OpenAPI document.

The document (Calendly API v2, April 2023) lives beside the repository in
``../shared/calendly/`` and is never copied into it; ``CALENDLY_OPENAPI_PATH`` overrides the
location. Its schemas are OpenAPI 3.0, so before validating with ``jsonschema`` we turn
``nullable: true`` into ``null`` being allowed and a scalar ``enum`` (the document's 401 has one)
into a list; ``$ref``s resolve against the whole document registered as one resource.

Where the 2023 document has no answer to compare with (``GET /organizations/{uuid}``, rate
limiting, scopes, OAuth), the test says so and checks what it can: the closest schema of the
document plus the fields Calendly's newer documentation adds.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
import secrets
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jsonschema
import pytest
import requests
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_sandbox

DOC_URI = "urn:calendly-openapi-2023-04"
DEFAULT_PATH = (
    Path(__file__).resolve().parents[3] / "shared" / "calendly" / "calendly-openapi-v2-2023-04.yaml"
)


def document_path() -> Path:
    return Path(os.environ.get("CALENDLY_OPENAPI_PATH") or DEFAULT_PATH)


@cache
def load_document() -> dict:
    path = document_path()
    if not path.is_file():
        pytest.skip(
            f"Calendly OpenAPI document not found at {path}; it lives in ../shared/calendly/ "
            "beside the repository"
        )
    with path.open(encoding="utf-8") as handle:
        return to_json_schema(yaml.safe_load(handle))


def to_json_schema(node):
    """OpenAPI 3.0 schema objects -> JSON Schema 2020-12 (recursively, on a copy)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items()}
    if "enum" in out and not isinstance(out["enum"], list):
        out["enum"] = [out["enum"]]
    if out.pop("nullable", False) is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        for key in ("oneOf", "anyOf"):
            if key in out:
                out[key] = [*out[key], {"type": "null"}]
    return out


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema(path: str, method: str, status: str) -> dict:
    """A ``$ref`` to the schema of one documented answer (response ``$ref``s followed)."""
    doc = load_document()
    answer = doc["paths"][path][method]["responses"][status]
    if "$ref" in answer:
        name = answer["$ref"].rsplit("/", 1)[-1]
        return {
            "$ref": DOC_URI
            + pointer("components", "responses", name, "content", "application/json", "schema")
        }
    return {
        "$ref": DOC_URI
        + pointer(
            "paths", path, method, "responses", status, "content", "application/json", "schema"
        )
    }


def component(name: str) -> dict:
    return {"$ref": DOC_URI + pointer("components", "schemas", name)}


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_datetime(value) -> bool:
    """RFC 3339 with a ``Z``; jsonschema only checks date-time with an optional package.
    Formats apply to strings only (``null`` is the type keyword's business)."""
    if not isinstance(value, str):
        return True
    if not value.endswith("Z"):
        return False
    datetime.fromisoformat(value[:-1] + "+00:00")
    return True


@FORMATS.checks("uri", raises=ValueError)
def is_uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parsed = urlparse(value)
    return bool(parsed.scheme and parsed.netloc)


def validate(body, schema: dict) -> None:
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(load_document(), default_specification=DRAFT202012)
    )
    validator = jsonschema.Draft202012Validator(schema, registry=registry, format_checker=FORMATS)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def check(response: requests.Response, status: int, path: str, method: str = "get") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    validate(body, response_schema(path, method, str(status)))
    return body


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def doc():
    return load_document()


@pytest.fixture
def sb(doc):
    with start_sandbox(members=120, plan="enterprise", seed=1) as handle:
        yield handle


def get(sb, path, token, method="GET", **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, sb.url + path, headers=headers, params=params, timeout=10)


# -- the validation is real ------------------------------------------------------------------------
def test_it_rejects_a_deliberately_broken_membership(sb):
    org = sb.state.default_org
    body = get(sb, "/organization_memberships", org.admin_token, organization=org.uri).json()
    validate(body, response_schema("/organization_memberships", "get", "200"))
    broken = copy.deepcopy(body)
    broken["collection"][0]["role"] = "superuser"
    del broken["collection"][1]["user"]["email"]
    broken["pagination"]["count"] = "twenty"
    with pytest.raises(AssertionError) as failure:
        validate(broken, response_schema("/organization_memberships", "get", "200"))
    assert "superuser" in str(failure.value)
    with pytest.raises(AssertionError):
        validate({"resource": {"uri": "x"}}, response_schema("/users/me", "get", "200"))
    with pytest.raises(AssertionError):  # nullable handling must not make everything nullable
        validate({"title": None, "message": "m"}, component("ErrorResponse"))


# -- success bodies -------------------------------------------------------------------------------
def test_it_answers_users_me_and_users_uuid_per_the_user_schema(sb):
    org = sb.state.default_org
    me = check(get(sb, "/users/me", org.admin_token), 200, "/users/me")
    assert me["resource"]["current_organization"] == org.uri
    other = org.members[7].user
    check(get(sb, f"/users/{other.uuid}", org.admin_token), 200, "/users/{uuid}")


def test_it_answers_membership_listings_and_lookups_per_the_schema(sb):
    org = sb.state.default_org
    first = check(
        get(sb, "/organization_memberships", org.admin_token, organization=org.uri, count=100),
        200,
        "/organization_memberships",
    )
    second = get(
        sb,
        "/organization_memberships",
        org.admin_token,
        organization=org.uri,
        count=100,
        page_token=first["pagination"]["next_page_token"],
    )
    last = check(second, 200, "/organization_memberships")
    assert last["pagination"]["next_page"] is None and last["pagination"]["previous_page"]
    by_email = get(
        sb,
        "/organization_memberships",
        org.user_token,
        organization=org.uri,
        email=org.members[3].user.email,
    )
    check(by_email, 200, "/organization_memberships")
    uuid = org.members[3].uuid
    check(
        get(sb, f"/organization_memberships/{uuid}", org.admin_token),
        200,
        "/organization_memberships/{uuid}",
    )


def test_it_answers_invitation_listings_and_lookups_per_the_schema(sb):
    org = sb.state.default_org
    for status in ("pending", "accepted", "declined"):
        body = check(
            get(sb, f"/organizations/{org.uuid}/invitations", org.admin_token, status=status),
            200,
            "/organizations/{uuid}/invitations",
        )
        assert body["collection"] and {i["status"] for i in body["collection"]} == {status}
    paged = get(
        sb,
        f"/organizations/{org.uuid}/invitations",
        org.admin_token,
        count=5,
        sort="created_at:desc",
    )
    check(paged, 200, "/organizations/{uuid}/invitations")
    accepted = next(i for i in org.invitations.values() if i.status == "accepted")
    one = check(
        get(sb, f"/organizations/{org.uuid}/invitations/{accepted.uuid}", org.admin_token),
        200,
        "/organizations/{org_uuid}/invitations/{uuid}",
    )
    assert one["resource"]["user"] == accepted.user.uri


def test_it_answers_the_activity_log_per_the_schema(sb):
    org = sb.state.default_org
    body = check(
        get(sb, "/activity_log_entries", org.admin_token, organization=org.uri, count=1000),
        200,
        "/activity_log_entries",
    )
    actors = {e["actor"]["type"] for e in body["collection"]}
    assert actors == {"User", "System"}  # Calendly System entries carry no actor URI
    empty = get(
        sb,
        "/activity_log_entries",
        org.admin_token,
        organization=org.uri,
        max_occurred_at="2000-01-01T00:00:00Z",
    )
    assert check(empty, 200, "/activity_log_entries")["last_event_time"] is None


def test_it_answers_scheduled_events_per_the_schema(sb):
    org = sb.state.default_org
    body = check(
        get(sb, "/scheduled_events", org.admin_token, organization=org.uri, count=100),
        200,
        "/scheduled_events",
    )
    assert {e["status"] for e in body["collection"]} == {"active", "canceled"}
    desc = get(
        sb,
        "/scheduled_events",
        org.admin_token,
        organization=org.uri,
        sort="start_time:desc",
        status="canceled",
    )
    check(desc, 200, "/scheduled_events")
    mine = get(
        sb, "/scheduled_events", org.admin_token, user=sb.state.tokens[org.admin_token].user.uri
    )
    check(mine, 200, "/scheduled_events")


def test_it_answers_get_organization_per_the_organization_component(sb):
    # GET /organizations/{uuid} arrived in 2025 and is not among the 2023 document's paths; its
    # resource is the document's Organization component (plus "name", which the schema allows).
    org = sb.state.default_org
    response = get(sb, f"/organizations/{org.uuid}", org.admin_token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"resource"}
    validate(body["resource"], component("Organization"))
    assert body["resource"]["name"] == org.name
    for plan, stage in (("basic", "free"), ("teams", "paid")):
        sb.state.set_plan(org, plan)
        resource = get(sb, f"/organizations/{org.uuid}", org.admin_token).json()["resource"]
        validate(resource, component("Organization"))
        assert resource["stage"] == stage


# -- error bodies ------------------------------------------------------------------------------------
def test_it_answers_400_per_the_invalid_argument_schema(sb):
    org = sb.state.default_org
    body = check(
        get(sb, "/organization_memberships", org.admin_token, organization=org.uri, count=101),
        400,
        "/organization_memberships",
    )
    assert body["details"][0]["parameter"] == "count"
    stale = get(
        sb, "/organization_memberships", org.admin_token, organization=org.uri, page_token="forged"
    )
    assert check(stale, 400, "/organization_memberships")["details"][0]["parameter"] == "page_token"
    check(get(sb, "/activity_log_entries", org.admin_token), 400, "/activity_log_entries")
    check(
        get(
            sb,
            "/activity_log_entries",
            org.admin_token,
            organization=org.uri,
            min_occurred_at="yesterday",
        ),
        400,
        "/activity_log_entries",
    )
    check(
        get(sb, "/scheduled_events", org.admin_token, organization=org.uri, status="maybe"),
        400,
        "/scheduled_events",
    )
    check(
        get(sb, f"/organizations/{org.uuid}/invitations", org.admin_token, status="lost"),
        400,
        "/organizations/{uuid}/invitations",
    )


def test_it_answers_401_per_the_unauthenticated_schema(sb):
    check(get(sb, "/users/me", None), 401, "/users/me")
    check(get(sb, "/organization_memberships", "unknown-token"), 401, "/organization_memberships")
    # The 2023 document lists only "The access token is invalid"; Calendly answers an expired
    # token with "The access token expired", so that body is checked against ErrorResponse.
    org = sb.state.default_org
    expired = sb.state.issue_token(org, org.owner, expires_in=0)
    response = get(sb, "/users/me", expired)
    assert response.status_code == 401
    validate(response.json(), component("ErrorResponse"))
    assert response.json() == {"title": "Unauthenticated", "message": "The access token expired"}


def test_it_answers_403_per_each_endpoints_permission_schema(sb):
    org = sb.state.default_org
    other = sb.state.add_organization(name="Globex", members=10, plan="teams", seed=2)
    owner_uuid = org.owner_membership.uuid
    admin = org.membership_of(sb.state.tokens[org.admin_token].user)
    plain = next(m for m in org.members if m.role == "user")
    cases = [
        (
            get(sb, "/organization_memberships", org.admin_token, organization=other.uri),
            "/organization_memberships",
            "get",
        ),
        (
            get(sb, f"/organization_memberships/{other.members[0].uuid}", org.admin_token),
            "/organization_memberships/{uuid}",
            "get",
        ),
        (
            get(sb, f"/organization_memberships/{owner_uuid}", org.admin_token, "DELETE"),
            "/organization_memberships/{uuid}",
            "delete",
        ),
        (
            get(sb, f"/organization_memberships/{admin.uuid}", org.admin_token, "DELETE"),
            "/organization_memberships/{uuid}",
            "delete",
        ),
        (
            get(sb, f"/organization_memberships/{admin.uuid}", org.user_token, "DELETE"),
            "/organization_memberships/{uuid}",
            "delete",
        ),
        (
            get(
                sb, f"/organization_memberships/{other.members[-1].uuid}", org.admin_token, "DELETE"
            ),
            "/organization_memberships/{uuid}",
            "delete",
        ),
        (
            get(sb, "/activity_log_entries", org.user_token, organization=org.uri),
            "/activity_log_entries",
            "get",
        ),
        (
            get(sb, "/activity_log_entries", org.admin_token, organization=other.uri),
            "/activity_log_entries",
            "get",
        ),
        (
            get(sb, "/activity_log_entries", other.admin_token, organization=other.uri),
            "/activity_log_entries",
            "get",
        ),
        (
            get(sb, "/scheduled_events", org.user_token, organization=org.uri),
            "/scheduled_events",
            "get",
        ),
        (
            get(sb, "/scheduled_events", org.admin_token, organization=other.uri),
            "/scheduled_events",
            "get",
        ),
        (
            get(
                sb,
                "/scheduled_events",
                org.user_token,
                user=plain.user.uri
                if plain.user.uri != sb.state.tokens[org.user_token].user.uri
                else admin.user.uri,
            ),
            "/scheduled_events",
            "get",
        ),
        (
            get(sb, "/scheduled_events", org.admin_token, user=other.owner.uri),
            "/scheduled_events",
            "get",
        ),
        (
            get(sb, f"/organizations/{org.uuid}/invitations", org.user_token),
            "/organizations/{uuid}/invitations",
            "get",
        ),
    ]
    for response, path, method in cases:
        check(response, 403, path, method)
    pending = next(i for i in org.invitations.values() if i.status == "pending")
    revoke = f"/organizations/{org.uuid}/invitations/{pending.uuid}"
    check(
        get(sb, revoke, org.user_token, "DELETE"),
        403,
        "/organizations/{org_uuid}/invitations/{uuid}",
        "delete",
    )
    foreign = next(iter(other.invitations))
    check(
        get(sb, f"/organizations/{org.uuid}/invitations/{foreign}", org.admin_token, "DELETE"),
        403,
        "/organizations/{org_uuid}/invitations/{uuid}",
        "delete",
    )
    sb.state.set_scim(org, True)
    scim = check(
        get(sb, revoke, org.admin_token, "DELETE"),
        403,
        "/organizations/{org_uuid}/invitations/{uuid}",
        "delete",
    )
    assert "SCIM" in scim["message"]


def test_it_answers_400_for_an_accepted_invitation_per_the_schema(sb):
    org = sb.state.default_org
    accepted = next(i for i in org.invitations.values() if i.status == "accepted")
    body = check(
        get(
            sb, f"/organizations/{org.uuid}/invitations/{accepted.uuid}", org.admin_token, "DELETE"
        ),
        400,
        "/organizations/{org_uuid}/invitations/{uuid}",
        "delete",
    )
    assert body["title"] == "Invitation Already Accepted"


def test_it_answers_404_and_500_per_the_schema(sb):
    org = sb.state.default_org
    check(
        get(sb, "/organization_memberships/nope", org.admin_token),
        404,
        "/organization_memberships/{uuid}",
    )
    check(
        get(sb, "/organization_memberships/nope", org.admin_token, "DELETE"),
        404,
        "/organization_memberships/{uuid}",
        "delete",
    )
    check(
        get(sb, f"/organizations/{org.uuid}/invitations/nope", org.admin_token, "DELETE"),
        404,
        "/organizations/{org_uuid}/invitations/{uuid}",
        "delete",
    )
    check(get(sb, "/no/such/endpoint", org.admin_token), 404, "/users/me")
    sb.faults.fail_on_request = 1
    check(
        get(sb, "/organization_memberships", org.admin_token, organization=org.uri),
        500,
        "/organization_memberships",
    )


def test_it_answers_scope_and_rate_limit_errors_with_the_error_shape(sb):
    # Scopes (2026) and rate limits (late 2023) postdate the document: their bodies are checked
    # against its ErrorResponse plus the fields Calendly's docs add (required_scopes; headers).
    org = sb.state.default_org
    narrow = sb.state.issue_token(org, org.owner, scopes=["users:read"])
    response = get(sb, "/organization_memberships", narrow, organization=org.uri)
    assert response.status_code == 403
    validate(response.json(), component("ErrorResponse"))
    assert response.json()["required_scopes"] == ["organizations:read"]
    sb.faults.rate_limit_next = 1
    limited = get(sb, "/users/me", org.admin_token)
    assert limited.status_code == 429
    validate(limited.json(), component("ErrorResponse"))
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        limited.headers
    )


def test_it_answers_oauth_with_the_documented_token_fields(sb):
    # The 2023 API document describes no /oauth/* paths (only the flow's URLs under
    # securitySchemes), so token answers get a structural check against Calendly's OAuth docs.
    flows = load_document()["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flows["tokenUrl"].endswith("/oauth/token") and flows["authorizationUrl"].endswith(
        "/oauth/authorize"
    )
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    params = {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": "http://localhost/cb",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    redirect = requests.post(
        f"{sb.url}/oauth/authorize", data=params, allow_redirects=False, timeout=10
    )
    code = parse_qs(urlparse(redirect.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://localhost/cb",
        "code_verifier": verifier,
    }
    token = requests.post(
        f"{sb.url}/oauth/token",
        data=form,
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        timeout=10,
    )
    token_schema = {
        "type": "object",
        "required": [
            "access_token",
            "token_type",
            "refresh_token",
            "expires_in",
            "created_at",
            "scope",
            "owner",
            "organization",
        ],
        "properties": {
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
            "created_at": {"type": "integer"},
            "owner": {"type": "string", "format": "uri"},
            "organization": {"type": "string", "format": "uri"},
        },
    }
    validate(token.json(), token_schema)
    error_schema = {
        "type": "object",
        "required": ["error", "error_description"],
        "properties": {"error": {"enum": ["invalid_grant"]}},
    }
    validate(
        requests.post(
            f"{sb.url}/oauth/token",
            data=form,
            auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            timeout=10,
        ).json(),
        error_schema,
    )
