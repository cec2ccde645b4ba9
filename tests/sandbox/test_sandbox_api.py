"""The fake Calendly over real HTTP: pagination, errors, faults, roles, plans, OAuth.

No database: these tests only talk to ``calendly_integration.sandbox`` with ``requests``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from calendly_integration.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    Faults,
    SandboxState,
    start_sandbox,
)

REDIRECT = "http://localhost:9999/callback"


@pytest.fixture
def sb():
    with start_sandbox(members=250, plan="enterprise", seed=1) as handle:
        yield handle


def call(sb, method, path, token, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, sb.url + path, headers=headers, params=params, timeout=10)


def members_page(sb, token, org=None, **params):
    org = org or sb.state.default_org
    return call(sb, "GET", "/organization_memberships", token, organization=org.uri, **params)


def first_user_membership(org):
    return next(m for m in org.members if m.role == "user")


# -- pagination -------------------------------------------------------------------------------------
def test_it_pages_every_member_by_following_next_page_token(sb):
    org = sb.state.default_org
    seen, token, pages = [], None, 0
    while True:
        params = {"count": 37, **({"page_token": token} if token else {})}
        body = members_page(sb, org.admin_token, **params).json()
        seen += [m["uri"] for m in body["collection"]]
        pages += 1
        assert body["pagination"]["count"] == len(body["collection"])
        token = body["pagination"]["next_page_token"]
        if token is None:
            assert body["pagination"]["next_page"] is None
            break
    assert len(seen) == len(set(seen)) == 250
    assert pages == 7  # 6 x 37 + 28


def test_it_follows_next_page_and_previous_page_urls(sb):
    org = sb.state.default_org
    headers = {"Authorization": f"Bearer {org.admin_token}"}
    first = members_page(sb, org.admin_token, count=10).json()
    assert first["pagination"]["previous_page"] is None
    next_url = first["pagination"]["next_page"]
    assert next_url.startswith(sb.url + "/organization_memberships?")
    second = requests.get(next_url, headers=headers, timeout=10).json()
    assert second["collection"][0]["uri"] != first["collection"][0]["uri"]
    back = requests.get(second["pagination"]["previous_page"], headers=headers, timeout=10).json()
    assert [m["uri"] for m in back["collection"]] == [m["uri"] for m in first["collection"]]


def test_it_uses_public_resource_uris_and_the_default_page_size(sb):
    org = sb.state.default_org
    body = members_page(sb, org.admin_token).json()
    assert len(body["collection"]) == 20
    membership = body["collection"][0]
    assert membership["uri"].startswith("https://api.calendly.com/organization_memberships/")
    assert (
        membership["organization"]
        == org.uri
        == f"https://api.calendly.com/organizations/{org.uuid}"
    )
    assert membership["role"] == "owner"


def test_it_does_not_skip_anyone_when_a_member_is_removed_between_pages(sb):
    org = sb.state.default_org
    first = members_page(sb, org.admin_token, count=50).json()
    removed = sb.state.remove_member(org, org.members[10])  # on the page already read
    rest, token = [], first["pagination"]["next_page_token"]
    while token:
        body = members_page(sb, org.admin_token, count=50, page_token=token).json()
        rest += [m["uri"] for m in body["collection"]]
        token = body["pagination"]["next_page_token"]
    assert len(first["collection"]) + len(rest) == 250
    assert removed.uri not in rest


def test_it_refuses_count_above_100_with_details(sb):
    response = members_page(sb, sb.state.default_org.admin_token, count=101)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Invalid Argument"
    assert body["message"] == "The supplied parameters are invalid."
    assert body["details"][0]["parameter"] == "count"


def test_it_refuses_forged_foreign_and_stale_page_tokens(sb):
    org = sb.state.default_org
    token = members_page(sb, org.admin_token, count=10).json()["pagination"]["next_page_token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "not-a-token", token.replace(".", "")):
        response = members_page(sb, org.admin_token, count=10, page_token=bad)
        assert response.status_code == 400
        assert response.json()["details"][0]["parameter"] == "page_token"
    # A token of another listing (here: filtered by e-mail) is refused too.
    other = members_page(sb, org.admin_token, count=10, page_token=token, email="x@example.com")
    assert other.status_code == 400

    sb.faults.expire_page_tokens = True
    stale = members_page(sb, org.admin_token, count=10, page_token=token)
    assert stale.status_code == 400
    assert "expired" in stale.json()["details"][0]["message"]
    sb.faults.expire_page_tokens = False
    assert members_page(sb, org.admin_token, count=10, page_token=token).status_code == 200


def test_it_expires_page_tokens_after_their_ttl(sb):
    org = sb.state.default_org
    sb.faults.page_token_ttl = 0
    token = members_page(sb, org.admin_token, count=10).json()["pagination"]["next_page_token"]
    time.sleep(1.05)  # expiry has one-second resolution
    assert members_page(sb, org.admin_token, count=10, page_token=token).status_code == 400


def test_it_filters_memberships_by_email_case_insensitively(sb):
    org = sb.state.default_org
    target = org.members[5].user
    body = members_page(sb, org.user_token, email=target.email.upper()).json()
    assert [m["user"]["uri"] for m in body["collection"]] == [target.uri]
    by_user = call(sb, "GET", "/organization_memberships", org.user_token, user=target.uri).json()
    assert by_user["collection"][0]["user"]["email"] == target.email


# -- errors and permissions -----------------------------------------------------------------------
def test_it_answers_401_for_missing_and_unknown_tokens(sb):
    for token in (None, "nope"):
        response = call(sb, "GET", "/users/me", token)
        assert response.status_code == 401
        assert response.json() == {
            "title": "Unauthenticated",
            "message": "The access token is invalid",
        }


def test_it_requires_membership_of_the_listed_organization(sb):
    other = sb.state.add_organization(name="Globex", members=10, plan="teams", seed=2)
    response = members_page(sb, sb.state.default_org.admin_token, org=other)
    assert response.status_code == 403
    assert response.json()["title"] == "Permission Denied"


def test_it_removes_a_member_and_forgets_it(sb):
    org = sb.state.default_org
    target = first_user_membership(org)
    path = f"/organization_memberships/{target.uuid}"
    assert call(sb, "DELETE", path, org.admin_token).status_code == 204
    assert call(sb, "GET", path, org.admin_token).status_code == 404
    missing = call(sb, "DELETE", path, org.admin_token)
    assert missing.status_code == 404
    assert missing.json() == {
        "title": "Resource Not Found",
        "message": "The server could not find the requested resource.",
    }
    emails = {
        m["user"]["email"]
        for m in members_page(sb, org.admin_token, count=100).json()["collection"]
    }
    assert target.user.email not in emails
    assert len(org.members) == 249


def test_it_refuses_to_remove_the_owner_or_the_caller(sb):
    org = sb.state.default_org
    admin = org.membership_of(sb.state.tokens[org.admin_token].user)
    owner = call(
        sb, "DELETE", f"/organization_memberships/{org.owner_membership.uuid}", org.admin_token
    )
    assert owner.status_code == 403
    assert owner.json()["title"] == "Permission Denied"
    assert owner.json()["message"]
    itself = call(sb, "DELETE", f"/organization_memberships/{admin.uuid}", org.admin_token)
    assert itself.status_code == 403
    assert "yourself" in itself.json()["message"]
    assert org.owner_membership in org.members and admin in org.members


def test_it_refuses_removal_by_a_plain_user_after_a_role_switch(sb):
    org = sb.state.default_org
    admin_user = sb.state.tokens[org.admin_token].user
    target = first_user_membership(org)
    response = requests.post(
        f"{sb.url}/_sandbox/role", json={"user": admin_user.uri, "role": "user"}, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["resource"]["role"] == "user"
    denied = call(sb, "DELETE", f"/organization_memberships/{target.uuid}", org.admin_token)
    assert denied.status_code == 403
    assert denied.json()["title"] == "Permission Denied"
    assert "permission" in denied.json()["message"]
    sb.state.set_role(org, admin_user, "admin")
    assert (
        call(sb, "DELETE", f"/organization_memberships/{target.uuid}", org.admin_token).status_code
        == 204
    )


def test_it_transfers_ownership(sb):
    org = sb.state.default_org
    old_owner = org.owner
    new_owner = first_user_membership(org).user
    sb.state.set_owner(org, new_owner)
    assert org.owner is new_owner and org.role_of(old_owner) == "admin"
    roles = [m["role"] for m in members_page(sb, org.admin_token, count=100).json()["collection"]]
    assert roles.count("owner") == 1


def test_it_reports_a_missing_scope_with_required_scopes(sb):
    org = sb.state.default_org
    admin = sb.state.tokens[org.admin_token].user
    read_only = sb.state.issue_token(org, admin, scopes=["organizations:read", "users:read"])
    target = first_user_membership(org)
    response = call(sb, "DELETE", f"/organization_memberships/{target.uuid}", read_only)
    assert response.status_code == 403
    assert response.json()["title"] == "Insufficient scope"
    assert response.json()["required_scopes"] == ["organizations:write"]
    activity = call(sb, "GET", "/activity_log_entries", read_only, organization=org.uri)
    assert activity.json()["required_scopes"] == ["activity_log:read"]
    # A write scope includes the matching read scope.
    write_only = sb.state.issue_token(org, admin, scopes=["organizations:write"])
    assert members_page(sb, write_only).status_code == 200


# -- invitations -----------------------------------------------------------------------------------
def invitations(sb, token, org=None, **params):
    org = org or sb.state.default_org
    return call(sb, "GET", f"/organizations/{org.uuid}/invitations", token, **params)


def test_it_lists_pending_invitations_some_older_than_30_days(sb):
    org = sb.state.default_org
    body = invitations(sb, org.admin_token, status="pending", count=100).json()
    assert len(body["collection"]) == 12
    old = [
        i
        for i in org.invitations.values()
        if i.status == "pending" and i.created_at < time.time() - 30 * 86400
    ]
    assert len(old) >= 3
    accepted = invitations(sb, org.admin_token, status="accepted").json()["collection"]
    assert accepted and all(
        i["user"].startswith("https://api.calendly.com/users/") for i in accepted
    )
    assert invitations(sb, org.user_token).status_code == 403


def test_it_revokes_a_pending_invitation_but_not_an_accepted_one(sb):
    org = sb.state.default_org
    pending = next(i for i in org.invitations.values() if i.status == "pending")
    accepted = next(i for i in org.invitations.values() if i.status == "accepted")
    base = f"/organizations/{org.uuid}/invitations/"
    assert call(sb, "DELETE", base + pending.uuid, org.admin_token).status_code == 204
    assert pending.uuid not in org.invitations
    refused = call(sb, "DELETE", base + accepted.uuid, org.admin_token)
    assert refused.status_code == 400
    assert refused.json()["title"] == "Invitation Already Accepted"


def test_it_refuses_invitation_revocation_in_a_scim_organization(sb):
    org = sb.state.default_org
    pending = next(i for i in org.invitations.values() if i.status == "pending")
    sb.state.set_scim(org, True)
    response = call(
        sb, "DELETE", f"/organizations/{org.uuid}/invitations/{pending.uuid}", org.admin_token
    )
    assert response.status_code == 403
    assert response.json()["message"] == (
        "You cannot perform this action for an organization with SCIM enabled."
    )


# -- activity and events ------------------------------------------------------------------------------
def test_it_serves_the_activity_log_within_90_days_to_admins(sb):
    org = sb.state.default_org
    body = call(
        sb, "GET", "/activity_log_entries", org.admin_token, organization=org.uri, count=1000
    ).json()
    entries = body["collection"]
    assert body["total_count"] == len(entries) > 250
    assert body["last_event_time"] == entries[0]["occurred_at"]  # newest first by default
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 90 * 86400))
    assert all(e["occurred_at"] >= cutoff for e in entries)
    assert {"User.Login", "EventType.Update"} <= {e["fully_qualified_name"] for e in entries}
    too_many = call(
        sb, "GET", "/activity_log_entries", org.admin_token, organization=org.uri, count=1001
    )
    assert too_many.status_code == 400
    denied = call(sb, "GET", "/activity_log_entries", org.user_token, organization=org.uri)
    assert denied.status_code == 403


def test_it_filters_the_activity_log(sb):
    org = sb.state.default_org
    token = org.admin_token
    everything = call(
        sb, "GET", "/activity_log_entries", token, organization=org.uri, count=1000
    ).json()
    actor = next(e["actor"]["uri"] for e in everything["collection"] if "uri" in e["actor"])
    mine = call(sb, "GET", "/activity_log_entries", token, organization=org.uri, actor=actor).json()
    assert mine["collection"] and all(e["actor"]["uri"] == actor for e in mine["collection"])
    logins = call(
        sb, "GET", "/activity_log_entries", token, organization=org.uri, namespace="User",
        action="Login", sort="occurred_at:asc", count=1000,
    ).json()  # fmt: skip
    times = [e["occurred_at"] for e in logins["collection"]]
    assert times == sorted(times) and all(
        e["fully_qualified_name"] == "User.Login" for e in logins["collection"]
    )
    week = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7 * 86400))
    recent = call(
        sb,
        "GET",
        "/activity_log_entries",
        token,
        organization=org.uri,
        min_occurred_at=week,
        count=1000,
    )
    assert 0 < recent.json()["total_count"] < everything["total_count"]


def test_it_pages_the_activity_log_in_both_directions(sb):
    org = sb.state.default_org
    seen, token = [], None
    while True:
        params = {"organization": org.uri, "count": 100, **({"page_token": token} if token else {})}
        body = call(sb, "GET", "/activity_log_entries", org.admin_token, **params).json()
        seen += [e["uri"] for e in body["collection"]]
        token = body["pagination"]["next_page_token"]
        if not token:
            break
    assert len(seen) == len(set(seen)) == body["total_count"]


def test_it_makes_the_activity_log_enterprise_only_after_a_plan_switch(sb):
    org = sb.state.default_org
    response = requests.post(
        f"{sb.url}/_sandbox/plan", json={"organization": org.uri, "plan": "teams"}, timeout=10
    )
    assert response.json()["resource"]["plan"] == "teams"
    denied = call(sb, "GET", "/activity_log_entries", org.admin_token, organization=org.uri)
    assert denied.status_code == 403
    assert denied.json() == {
        "title": "Permission Denied",
        "message": "Please upgrade your Calendly account to Enterprise.",
    }
    organization = call(sb, "GET", f"/organizations/{org.uuid}", org.admin_token).json()["resource"]
    assert (organization["plan"], organization["stage"]) == ("teams", "paid")


def test_it_lists_scheduled_events_with_their_hosts(sb):
    org = sb.state.default_org
    body = call(
        sb, "GET", "/scheduled_events", org.admin_token, organization=org.uri, count=100
    ).json()
    events = body["collection"]
    assert len(events) == 100 and body["pagination"]["next_page_token"]
    starts = [e["start_time"] for e in events]
    assert starts == sorted(starts)
    member_uris = {m.user.uri for m in org.members}
    host = events[0]["event_memberships"][0]
    assert host["user"] in member_uris and host["user_email"] and host["user_name"]
    mine = call(
        sb, "GET", "/scheduled_events", org.admin_token, organization=org.uri, user=host["user"]
    ).json()
    assert all(
        host["user"] in {m["user"] for m in e["event_memberships"]} for e in mine["collection"]
    )
    denied = call(sb, "GET", "/scheduled_events", org.user_token, organization=org.uri)
    assert denied.status_code == 403


def test_it_leaves_some_members_never_active(sb):
    org = sb.state.default_org
    call(
        sb, "GET", "/scheduled_events", org.admin_token, organization=org.uri
    )  # generates activity
    active = {org.activity.user[i] for i in range(len(org.activity))} | set(org.events.host)
    never = [u for i, u in enumerate(org.seeded_users) if i not in active]
    assert 10 < len(never) < 70


# -- rate limits and faults --------------------------------------------------------------------------
def test_it_sends_rate_limit_headers_per_plan(sb):
    org = sb.state.default_org
    first = call(sb, "GET", "/users/me", org.admin_token)
    second = call(sb, "GET", "/users/me", org.admin_token)
    assert first.headers["X-RateLimit-Limit"] == "500"
    assert (
        int(second.headers["X-RateLimit-Remaining"])
        == int(first.headers["X-RateLimit-Remaining"]) - 1
    )
    assert 0 < int(first.headers["X-RateLimit-Reset"]) <= 60
    sb.state.set_plan(org, "basic")
    assert call(sb, "GET", "/users/me", org.owner_token).headers["X-RateLimit-Limit"] == "50"
    assert "X-RateLimit-Limit" in call(sb, "GET", "/users/me", "bad").headers


def test_it_enforces_the_rate_limit_per_user():
    with start_sandbox(members=10, rate_limit=3) as sb:
        org = sb.state.default_org
        statuses = [call(sb, "GET", "/users/me", org.admin_token).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = call(sb, "GET", "/users/me", org.admin_token)
        assert limited.json()["title"] == "Too Many Requests"
        assert limited.headers["X-RateLimit-Remaining"] == "0"
        assert call(sb, "GET", "/users/me", org.owner_token).status_code == 200  # another user


def test_it_disables_enforcement_with_rate_limit_zero():
    with start_sandbox(members=10, rate_limit=0) as sb:
        token = sb.state.default_org.admin_token
        responses = [call(sb, "GET", "/users/me", token) for _ in range(60)]
        assert {r.status_code for r in responses} == {200}
        assert int(responses[-1].headers["X-RateLimit-Limit"]) >= 1_000_000


def test_it_injects_a_429_then_succeeds(sb):
    token = sb.state.default_org.admin_token
    sb.faults.update(rate_limit_next=1, reset_seconds=2)
    limited = call(sb, "GET", "/users/me", token)
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Reset"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert call(sb, "GET", "/users/me", token).status_code == 200


def test_it_fails_the_nth_request_counted_from_when_the_fault_was_set(sb):
    token = sb.state.default_org.admin_token
    call(sb, "GET", "/users/me", token)  # earlier requests do not count
    sb.faults.fail_on_request = 2
    statuses = [call(sb, "GET", "/users/me", token).status_code for _ in range(3)]
    assert statuses == [200, 500, 200]
    sb.faults.update(status_on_request={"1": 503, 3: 502})
    statuses = [call(sb, "GET", "/users/me", token).status_code for _ in range(4)]
    assert statuses == [503, 200, 502, 200]
    sb.faults.update(fail_every=2, fail_status=504)
    statuses = [call(sb, "GET", "/users/me", token).status_code for _ in range(4)]
    assert statuses == [200, 504, 200, 504]
    assert (("GET", "/users/me", 504)) in sb.state.request_log


def test_it_answers_an_injected_500_with_calendlys_body(sb):
    sb.faults.fail_on_request = 1
    response = call(sb, "GET", "/users/me", sb.state.default_org.admin_token)
    assert response.status_code == 500
    assert response.json()["title"] == "Internal Server Error"


def test_it_drops_the_connection_on_the_nth_request(sb):
    token = sb.state.default_org.admin_token
    sb.faults.drop_on_request = 1
    with pytest.raises(requests.ConnectionError):
        call(sb, "GET", "/users/me", token)
    assert call(sb, "GET", "/users/me", token).status_code == 200
    assert ("GET", "/users/me", 0) in sb.state.request_log


def test_it_delays_answers(sb):
    sb.faults.delay_seconds = 0.3
    started = time.monotonic()
    assert call(sb, "GET", "/users/me", sb.state.default_org.admin_token).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_it_changes_faults_through_the_control_endpoint(sb):
    response = requests.post(
        f"{sb.url}/_sandbox/faults", json={"fail_on_request": 1, "fail_status": 503}, timeout=10
    )
    assert response.json()["fail_on_request"] == 1
    assert call(sb, "GET", "/users/me", sb.state.default_org.admin_token).status_code == 503
    assert requests.get(f"{sb.url}/_sandbox/faults", timeout=10).json()["fail_on_request"] is None
    bad = requests.post(f"{sb.url}/_sandbox/faults", json={"no_such_fault": 1}, timeout=10)
    assert bad.status_code == 400


def test_it_accepts_faults_at_start():
    with start_sandbox(members=5, faults={"rate_limit_next": 1}) as sb:
        assert call(sb, "GET", "/users/me", sb.state.default_org.admin_token).status_code == 429
    faults = Faults(fail_on_request=1)
    with start_sandbox(members=5, faults=faults) as sb:
        assert sb.faults is faults
        assert call(sb, "GET", "/users/me", sb.state.default_org.admin_token).status_code == 500


# -- OAuth ---------------------------------------------------------------------------------------------
def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def authorize(sb, challenge, account=None, state="xyz"):
    params = {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    page = requests.get(f"{sb.url}/oauth/authorize", params=params, timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    form = {**params, "decision": "allow", **({"account": account} if account else {})}
    answer = requests.post(
        f"{sb.url}/oauth/authorize", data=form, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302
    location = urlparse(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def exchange(sb, code, verifier, **extra):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        **extra,
    }
    return requests.post(f"{sb.url}/oauth/token", data=data, timeout=10)


def refresh(sb, refresh_token):
    return requests.post(
        f"{sb.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        timeout=10,
    )


def connect(sb):
    verifier, challenge = pkce()
    return exchange(sb, authorize(sb, challenge), verifier).json()


def test_it_shows_a_consent_page_with_every_admin_and_a_plain_user(sb):
    other = sb.state.add_organization(name="Globex", members=20, plan="teams", seed=2)
    page = requests.get(
        f"{sb.url}/oauth/authorize",
        params={"client_id": DEFAULT_CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT},
        timeout=10,
    ).text
    default = sb.state.default_org
    assert f'value="{default.uuid}:{default.owner.uuid}" selected' in page
    assert other.owner.email in page and "Authorize" in page
    assert "— user, Acme Demo" in page
    unknown = requests.get(f"{sb.url}/oauth/authorize", params={"client_id": "nobody"}, timeout=10)
    assert unknown.status_code == 400


def test_it_runs_the_code_flow_with_pkce_and_refuses_a_wrong_verifier(sb):
    verifier, challenge = pkce()
    code = authorize(sb, challenge)
    wrong = exchange(sb, code, "x" * 50)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    tokens = exchange(sb, code, verifier)
    assert tokens.status_code == 200
    body = tokens.json()
    org = sb.state.default_org
    assert body["token_type"] == "Bearer" and body["expires_in"] == 7200
    assert body["owner"] == org.owner.uri and body["organization"] == org.uri
    assert isinstance(body["created_at"], int) and "organizations:write" in body["scope"].split()
    me = call(sb, "GET", "/users/me", body["access_token"]).json()["resource"]
    assert me["uri"] == org.owner.uri
    assert exchange(sb, code, verifier).json()["error"] == "invalid_grant"  # single use
    assert sb.state.token_requests == 3


def test_it_authorizes_the_chosen_account_and_a_narrower_scope(sb):
    org = sb.state.default_org
    plain = first_user_membership(org).user
    verifier, challenge = pkce()
    code = authorize(sb, challenge, account=f"{org.uuid}:{plain.uuid}")
    body = exchange(sb, code, verifier).json()
    assert body["owner"] == plain.uri
    denied = call(
        sb, "DELETE", f"/organization_memberships/{org.members[-1].uuid}", body["access_token"]
    )
    assert denied.status_code == 403


def test_it_refuses_wrong_client_credentials_and_redirect_uri(sb):
    verifier, challenge = pkce()
    code = authorize(sb, challenge)
    bad_secret = exchange(sb, code, verifier, client_secret="wrong")
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    bad_redirect = exchange(sb, code, verifier, redirect_uri="http://localhost:9999/other")
    assert bad_redirect.json()["error"] == "invalid_grant"
    sb.state.register_oauth_client("strict", "s3cret", ["https://app.example/cb"])
    refused = requests.get(
        f"{sb.url}/oauth/authorize",
        params={"client_id": "strict", "response_type": "code", "redirect_uri": REDIRECT},
        timeout=10,
    )
    assert refused.status_code == 400


def test_it_rotates_refresh_tokens_and_kills_the_old_one(sb):
    first = connect(sb)
    second = refresh(sb, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert pair["access_token"] != first["access_token"]
    reused = refresh(sb, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert reused.json()["error_description"].startswith(
        "The provided authorization grant is invalid, expired, revoked"
    )
    assert refresh(sb, pair["refresh_token"]).status_code == 200


def test_it_revokes_access_and_refresh_tokens(sb):
    tokens = connect(sb)
    revoke = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
    response = requests.post(
        f"{sb.url}/oauth/revoke", data={**revoke, "token": tokens["access_token"]}, timeout=10
    )
    assert response.status_code == 200
    assert call(sb, "GET", "/users/me", tokens["access_token"]).status_code == 401
    requests.post(
        f"{sb.url}/oauth/revoke", data={**revoke, "token": tokens["refresh_token"]}, timeout=10
    )
    assert refresh(sb, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_it_allows_8_token_requests_per_user_per_minute(sb):
    tokens = connect(sb)  # 1
    current = tokens["refresh_token"]
    for _ in range(7):  # 2..8
        response = refresh(sb, current)
        assert response.status_code == 200
        current = response.json()["refresh_token"]
    ninth = refresh(sb, current)
    assert ninth.status_code == 429
    assert ninth.headers["X-RateLimit-Limit"] == "8"
    assert int(ninth.headers["X-RateLimit-Reset"]) > 0
    assert sb.state.token_requests == 9
    assert refresh(sb, current).status_code == 429  # the refresh token survived the 429


def test_it_expires_access_tokens_early(sb):
    sb.faults.access_token_ttl = 30
    tokens = connect(sb)
    assert tokens["expires_in"] == 30
    assert call(sb, "GET", "/users/me", tokens["access_token"]).status_code == 200
    sb.faults.expire_access_tokens_now()
    expired = call(sb, "GET", "/users/me", tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json() == {"title": "Unauthenticated", "message": "The access token expired"}
    fresh = refresh(sb, tokens["refresh_token"]).json()
    assert call(sb, "GET", "/users/me", fresh["access_token"]).status_code == 200
    org = sb.state.default_org
    short = sb.state.issue_token(org, org.owner, expires_in=0.2)
    time.sleep(0.25)
    assert call(sb, "GET", "/users/me", short).json()["message"] == "The access token expired"


def test_it_fails_token_requests_on_demand(sb):
    tokens = connect(sb)
    sb.faults.update(token_fail_next=1, token_fail_status=503)
    assert refresh(sb, tokens["refresh_token"]).status_code == 503
    assert refresh(sb, tokens["refresh_token"]).status_code == 200  # still unused


# -- organizations, seeding, threading ---------------------------------------------------------------
def test_it_keeps_several_organizations_apart(sb):
    acme = sb.state.default_org
    globex = sb.state.add_organization(name="Globex", members=30, plan="teams", seed=2)
    assert globex.uri != acme.uri and globex.owner_token != acme.owner_token
    listing = members_page(sb, globex.admin_token, org=globex, count=100).json()["collection"]
    assert len(listing) == 30
    assert all(m["organization"] == globex.uri for m in listing)
    me = call(sb, "GET", "/users/me", globex.admin_token).json()["resource"]
    assert me["current_organization"] == globex.uri
    foreign = call(
        sb, "DELETE", f"/organization_memberships/{acme.members[-1].uuid}", globex.admin_token
    )
    assert foreign.status_code == 403
    assert call(sb, "GET", f"/organizations/{acme.uuid}", globex.admin_token).status_code == 403
    assert globex.user_token and globex.admin_token


def test_it_seeds_non_ascii_names_with_ascii_mixed_case_emails(sb):
    org = sb.state.default_org
    people = []
    token = None
    while True:
        params = {"count": 100, **({"page_token": token} if token else {})}
        response = members_page(sb, org.admin_token, **params)
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        people += [m["user"] for m in body["collection"]]
        token = body["pagination"]["next_page_token"]
        if not token:
            break
    names = {p["name"] for p in people}
    for name in ("José Núñez", "Zoë Šťastná", "Łukasz Żółć", "Søren Ødegård", "李 伟"):
        assert name in names
    emails = {p["name"]: p["email"] for p in people}
    assert emails["José Núñez"] == "Jose.Nunez@Acme-Demo.example"
    assert emails["李 伟"] == "Li.Wei@Acme-Demo.example"
    assert all(p["email"].isascii() for p in people)
    assert any(p["email"] != p["email"].lower() for p in people)
    assert any(p["email"] == p["email"].lower() for p in people)
    roles = [m.role for m in org.members]
    assert roles.count("owner") == 1 and 5 <= roles.count("admin") <= 25


def test_it_seeds_the_same_organization_for_the_same_seed():
    first, second = SandboxState(), SandboxState()
    a = first.add_organization(members=120, seed=5)
    b = second.add_organization(members=120, seed=5)
    c = SandboxState().add_organization(members=120, seed=6)
    assert [m.uuid for m in a.members] == [m.uuid for m in b.members]
    assert [m.user.email for m in a.members] == [m.user.email for m in b.members]
    assert (a.uuid, a.owner_token, a.admin_token, a.user_token) == (
        b.uuid,
        b.owner_token,
        b.admin_token,
        b.user_token,
    )
    assert a.uuid != c.uuid


def test_it_starts_with_250_members_and_answers_at_once():
    """How fast it starts is the benchmarks' business (no timing in tests)."""
    with start_sandbox(members=250) as sb:
        assert call(sb, "GET", "/users/me", sb.state.default_org.admin_token).status_code == 200
        assert len(sb.state.default_org.members) == 250


def test_it_serves_concurrent_requests(sb):
    token = sb.state.default_org.admin_token
    statuses: list[int] = []

    def worker():
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            for _ in range(15):
                statuses.append(session.get(f"{sb.url}/users/me", timeout=10).status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 120


def test_it_adds_members_and_accepts_their_invitations(sb):
    org = sb.state.default_org
    pending = next(i for i in org.invitations.values() if i.status == "pending")
    membership = sb.state.add_member(org, email=pending.email, name="Nová Osoba", role="admin")
    assert membership.role == "admin" and pending.status == "accepted"
    assert pending.user is membership.user
    found = members_page(sb, org.admin_token, email=pending.email).json()["collection"]
    assert found[0]["user"]["name"] == "Nová Osoba"


def test_it_starts_from_the_management_command_options():
    from calendly_integration.sandbox.management.commands.calendly_sandbox import (
        banner,
        start_from_options,
    )

    handle = start_from_options(
        port=0, members=20, token="demo-admin-token", client_id="my-app", client_secret="s3",
        faults='{"delay_seconds": 0.01}', extra_orgs=1,
    )  # fmt: skip
    try:
        text = banner(handle, "my-app", "s3")
        org = handle.state.default_org
        assert handle.url in text and "demo-admin-token" in text and org.owner_token in text
        assert "client_id=sandbox-client client_secret=sandbox-secret" in text
        assert len(handle.state.organizations) == 2 and handle.faults.delay_seconds == 0.01
        me = call(handle, "GET", "/users/me", "demo-admin-token").json()["resource"]
        assert org.role_of(handle.state.get_user(me["uri"])) == "admin"
        assert "my-app" in handle.state.oauth_clients
    finally:
        handle.stop()


def test_a_fresh_rate_window_resets_in_60_seconds_whatever_the_clock(monkeypatch):
    # 2000.123456 + 60 - 2000.123456 is 60.00000000000023 in floating point: the header said 61.
    from calendly_integration.sandbox import ratelimits

    monkeypatch.setattr(ratelimits.time, "monotonic", lambda: 2000.123456)
    with start_sandbox(members=10) as sb:
        org = sb.state.default_org
        allowed, _limit, _remaining, reset = sb.state.rates.take(org.owner, org)
    assert allowed and reset == 60
