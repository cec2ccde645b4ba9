"""Unit tests for the Calendly HTTP client: error mapping, retries, rate limits, pagination."""

import logging
from datetime import UTC, datetime

import pytest
import requests
import responses
from responses import matchers

from calendly_integration.client import (
    USER_AGENT,
    CalendlyClient,
    ClientStats,
    StaticToken,
)
from calendly_integration.errors import (
    CalendlyError,
    Forbidden,
    InvalidGrant,
    InvalidRequest,
    NotFound,
    RateLimited,
    Transient,
    Unauthorized,
)
from calendly_integration.resources import uuid_from_uri

API = "https://api.calendly.com"
TOKEN = "pat-SECRET-token-0123456789"
NEW_TOKEN = "oauth-NEW-token-9876543210"
ORG = f"{API}/organizations/ORG123"


class FakeSleep:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


class FakeTokenSource:
    def __init__(self, token=TOKEN, new_token=NEW_TOKEN, error=None):
        self.token = token
        self.new_token = new_token
        self.error = error
        self.refreshed_with = []

    def access_token(self):
        return self.token

    def refresh_after_unauthorized(self, rejected_token):
        self.refreshed_with.append(rejected_token)
        if self.error:
            raise self.error
        self.token = self.new_token
        return self.new_token


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleep():
    return FakeSleep()


@pytest.fixture
def make_client(sleep):
    def make(**kwargs):
        kwargs.setdefault("token_source", StaticToken(TOKEN))
        kwargs.setdefault("sleep", sleep)
        kwargs.setdefault("jitter", lambda: 0.5)
        return CalendlyClient(**kwargs)

    return make


@pytest.fixture
def client(make_client):
    return make_client()


def error_of(call):
    with pytest.raises(CalendlyError) as info:
        call()
    return info.value


# -- status mapping ----------------------------------------------------------------------------


def test_it_maps_401_with_a_personal_token_to_unauthorized(rsps, client):
    rsps.get(f"{API}/users/me", status=401, json={"title": "Unauthenticated", "message": "x"})

    err = error_of(client.current_user)

    assert type(err) is Unauthorized
    assert err.status == 401
    assert not err.retryable
    assert "personal access token" in err.hint
    assert len(rsps.calls) == 1


def test_it_maps_403_insufficient_scope_and_parses_required_scopes(rsps, client):
    rsps.get(
        f"{API}/activity_log_entries",
        status=403,
        json={"title": "Insufficient scope", "required_scopes": ["activity_log:read"]},
    )

    err = error_of(lambda: next(client.iter_activity_log(ORG)))

    assert type(err) is Forbidden
    assert err.status == 403
    assert err.required_scopes == ["activity_log:read"]
    assert err.insufficient_scope
    assert not err.upgrade_required
    assert "activity_log:read" in err.hint
    assert not err.retryable


def test_it_recognizes_the_enterprise_upgrade_message(rsps, client):
    rsps.get(
        f"{API}/activity_log_entries",
        status=403,
        json={
            "title": "Permission Denied",
            "message": "Please upgrade your Calendly account to Enterprise.",
        },
    )

    err = error_of(lambda: next(client.iter_activity_log(ORG)))

    assert isinstance(err, Forbidden)
    assert err.upgrade_required is True
    assert err.permission_denied is True
    assert err.required_scopes == []
    assert "Enterprise" in err.hint
    assert err.message == "Please upgrade your Calendly account to Enterprise."


def test_it_recognizes_permission_denied_on_owner_removal(rsps, client):
    rsps.delete(
        f"{API}/organization_memberships/MEM1",
        status=403,
        json={"title": "Permission Denied", "message": "You can not change owner role"},
    )

    err = error_of(lambda: client.remove_membership(f"{API}/organization_memberships/MEM1"))

    assert isinstance(err, Forbidden)
    assert err.permission_denied
    assert not err.upgrade_required
    assert "admin or owner" in err.hint
    assert err.method == "DELETE"
    assert err.path == "/organization_memberships/MEM1"
    assert "You can not change owner role" in str(err)


def test_it_recognizes_scim_managed_organizations(rsps, client):
    rsps.delete(
        f"{API}/organizations/ORG123/invitations/INV1",
        status=403,
        json={
            "title": "Permission Denied",
            "message": "You cannot perform this action for an organization with SCIM enabled.",
        },
    )

    err = error_of(lambda: client.revoke_invitation(f"{ORG}/invitations/INV1"))

    assert isinstance(err, Forbidden)
    assert err.scim_enabled
    assert "SCIM" in err.hint


def test_it_maps_404_to_not_found(rsps, client):
    rsps.get(
        f"{API}/organizations/NOPE",
        status=404,
        json={
            "title": "Resource Not Found",
            "message": "The server could not find the requested resource.",
        },
    )

    err = error_of(lambda: client.organization(f"{API}/organizations/NOPE"))

    assert type(err) is NotFound
    assert err.status == 404
    assert err.title == "Resource Not Found"
    assert not err.retryable


def test_it_maps_400_with_details(rsps, client):
    rsps.delete(
        f"{API}/organizations/ORG123/invitations/INV1",
        status=400,
        json={
            "title": "Invitation Already Accepted",
            "message": "The invitation has already been accepted.",
        },
    )

    err = error_of(lambda: client.revoke_invitation(f"{ORG}/invitations/INV1"))

    assert type(err) is InvalidRequest
    assert err.status == 400
    assert err.title == "Invitation Already Accepted"
    assert not err.stale_page_token


def test_it_flags_a_stale_page_token(rsps, client):
    rsps.get(
        f"{API}/organization_memberships",
        status=400,
        json={
            "title": "Invalid Argument",
            "message": "The supplied parameters are invalid.",
            "details": [{"parameter": "page_token", "message": "is invalid"}],
        },
    )

    err = error_of(lambda: client.get("/organization_memberships", {"page_token": "old"}))

    assert isinstance(err, InvalidRequest)
    assert err.stale_page_token is True
    assert err.details == [{"parameter": "page_token", "message": "is invalid"}]
    assert "restart" in err.hint
    assert "page_token: is invalid" in str(err)


def test_it_maps_other_4xx_to_invalid_request(rsps, client):
    rsps.get(f"{API}/users/me", status=409, json={"title": "Conflict", "message": "no"})

    err = error_of(client.current_user)

    assert type(err) is InvalidRequest
    assert err.status == 409
    assert len(rsps.calls) == 1


def test_it_maps_a_non_json_error_body(rsps, client):
    rsps.get(f"{API}/users/me", status=418, body="<html>teapot</html>")

    err = error_of(client.current_user)

    assert type(err) is InvalidRequest
    assert err.status == 418


def test_every_error_class_is_a_calendly_error():
    for cls in (Unauthorized, Forbidden, NotFound, RateLimited, Transient, InvalidRequest):
        assert issubclass(cls, CalendlyError)
    assert issubclass(InvalidGrant, CalendlyError)
    assert RateLimited("x").retryable and Transient("x").retryable
    assert not InvalidGrant("x").retryable
    assert (
        "reconnect the alias in the admin (connect to calendly)" in InvalidGrant("x").hint.lower()
    )


# -- retries -----------------------------------------------------------------------------------


def test_it_retries_5xx_then_succeeds(rsps, client, sleep):
    rsps.get(f"{API}/users/me", status=502, body="bad gateway")
    rsps.get(f"{API}/users/me", status=503, json={"title": "Unavailable", "message": "later"})
    rsps.get(f"{API}/users/me", json={"resource": {"uri": f"{API}/users/U1"}})

    user = client.current_user()

    assert user == {"uri": f"{API}/users/U1"}
    assert len(rsps.calls) == 3
    # Full jitter with jitter()=0.5: 0.5 * min(30, 0.5 * 2**attempt).
    assert sleep.calls == [0.25, 0.5]
    assert client.stats.retries == 2
    assert client.stats.api_calls == 3


def test_it_raises_transient_when_retries_are_exhausted(rsps, make_client, sleep):
    client = make_client(max_retries=3)
    rsps.get(f"{API}/users/me", status=500, json={"title": "Internal Server Error"})

    err = error_of(client.current_user)

    assert type(err) is Transient
    assert err.status == 500
    assert err.retryable
    assert err.attempts == 4
    assert len(rsps.calls) == 4
    assert len(sleep.calls) == 3


def test_it_caps_the_backoff(make_client, sleep):
    client = make_client(backoff_base=1, backoff_cap=4, jitter=lambda: 1.0)
    assert [client.policy.backoff(n) for n in range(5)] == [1, 2, 4, 4, 4]


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("connection reset"),
        requests.exceptions.ChunkedEncodingError("connection dropped mid-body"),
    ],
)
def test_it_maps_timeouts_and_connection_errors_to_transient(rsps, make_client, exc):
    client = make_client(max_retries=2)
    rsps.get(f"{API}/users/me", body=exc)

    err = error_of(client.current_user)

    assert type(err) is Transient
    assert err.status is None
    assert err.retryable
    assert len(rsps.calls) == 3


def test_it_recovers_after_a_timeout(rsps, client):
    rsps.get(f"{API}/users/me", body=requests.exceptions.ReadTimeout("slow"))
    rsps.get(f"{API}/users/me", json={"resource": {"name": "Ada"}})

    assert client.current_user() == {"name": "Ada"}


def test_it_does_not_resend_a_post_after_a_read_timeout(rsps, client):
    rsps.post(f"{API}/things", body=requests.exceptions.ReadTimeout("slow"))

    err = error_of(lambda: client.request("POST", "/things", json={"a": 1}))

    assert type(err) is Transient
    assert len(rsps.calls) == 1


def test_it_treats_invalid_json_on_success_as_transient(rsps, make_client):
    client = make_client(max_retries=1)
    rsps.get(f"{API}/users/me", body="<html>proxy login</html>", status=200)

    err = error_of(client.current_user)

    assert type(err) is Transient
    assert err.status == 200
    assert len(rsps.calls) == 2


def test_it_sends_explicit_timeouts_and_a_user_agent(rsps, make_client):
    client = make_client(connect_timeout=3, read_timeout=11)
    rsps.get(f"{API}/users/me", json={"resource": {}})

    client.current_user()

    request = rsps.calls[0].request
    assert request.req_kwargs["timeout"] == (3, 11)
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


# -- rate limits -------------------------------------------------------------------------------


def test_it_waits_x_ratelimit_reset_on_429(rsps, client, sleep):
    rsps.get(
        f"{API}/users/me",
        status=429,
        json={"title": "Too Many Requests", "message": "slow down"},
        headers={
            "X-RateLimit-Limit": "500",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "7",
        },
    )
    rsps.get(f"{API}/users/me", json={"resource": {"name": "Ada"}})

    assert client.current_user() == {"name": "Ada"}
    assert sleep.calls == [7.5]  # reset + jitter (0.5)
    assert client.stats.rate_limit_waits == 1
    assert client.stats.retries == 1


def test_it_raises_rate_limited_when_the_retry_budget_is_spent(rsps, make_client, sleep):
    client = make_client(max_retries=2)
    rsps.get(f"{API}/users/me", status=429, headers={"X-RateLimit-Reset": "3"})

    err = error_of(client.current_user)

    assert type(err) is RateLimited
    assert err.status == 429
    assert err.reset_seconds == 3.0
    assert err.retryable
    assert len(rsps.calls) == 3
    assert sleep.calls == [3.5, 3.5]
    assert client.stats.rate_limit_waits == 2


def test_it_caps_the_rate_limit_wait(rsps, make_client, sleep):
    client = make_client(rate_limit_cap=120)
    rsps.get(f"{API}/users/me", status=429, headers={"X-RateLimit-Reset": "3600"})
    rsps.get(f"{API}/users/me", json={"resource": {}})

    client.current_user()

    assert sleep.calls == [120]


def test_it_slows_down_when_the_remaining_budget_is_low(rsps, client, sleep):
    low = {"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "20", "X-RateLimit-Reset": "40"}
    rsps.get(f"{API}/users/me", json={"resource": {}}, headers=low)
    rsps.get(f"{API}/organizations/ORG123", json={"resource": {"plan": "teams"}})

    client.current_user()
    assert sleep.calls == []  # no pause after the last call, only before the next one
    client.organization(ORG)

    assert sleep.calls == [2.0]  # 40 s spread over the 20 calls left
    assert client.stats.slowdowns == 1
    assert client.stats.rate_limit_waits == 0


def test_it_does_not_slow_down_with_plenty_of_budget(rsps, client, sleep):
    ok = {"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "400", "X-RateLimit-Reset": "40"}
    rsps.get(f"{API}/users/me", json={"resource": {}}, headers=ok)

    client.current_user()
    client.current_user()

    assert sleep.calls == []


# -- 401 refresh -------------------------------------------------------------------------------


def test_it_refreshes_once_on_401_then_succeeds(rsps, make_client):
    source = FakeTokenSource()
    client = make_client(token_source=source)
    rsps.get(f"{API}/users/me", status=401, json={"title": "Unauthenticated"})
    rsps.get(f"{API}/users/me", json={"resource": {"name": "Ada"}})

    assert client.current_user() == {"name": "Ada"}
    assert source.refreshed_with == [TOKEN]
    assert rsps.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert rsps.calls[1].request.headers["Authorization"] == f"Bearer {NEW_TOKEN}"


def test_it_raises_unauthorized_on_a_second_401(rsps, make_client):
    source = FakeTokenSource()
    client = make_client(token_source=source)
    rsps.get(f"{API}/users/me", status=401, json={"title": "Unauthenticated", "message": "bad"})

    err = error_of(client.current_user)

    assert type(err) is Unauthorized
    assert len(source.refreshed_with) == 1
    assert len(rsps.calls) == 2


def test_it_passes_on_invalid_grant_from_the_token_source(rsps, make_client):
    source = FakeTokenSource(error=InvalidGrant("refresh token already used", status=400))
    client = make_client(token_source=source)
    rsps.get(f"{API}/users/me", status=401)

    err = error_of(client.current_user)

    assert type(err) is InvalidGrant
    assert len(rsps.calls) == 1


# -- pagination and URLs -----------------------------------------------------------------------


def test_it_follows_page_tokens_with_the_same_params(rsps, client):
    params = {"organization": ORG, "count": "100"}
    rsps.get(
        f"{API}/organization_memberships",
        match=[matchers.query_param_matcher(params)],
        json={
            "collection": [{"uri": "m1"}, {"uri": "m2"}],
            "pagination": {
                "next_page_token": "TOKEN2",
                "next_page": "https://elsewhere.example/organization_memberships?page_token=TOKEN2",
            },
        },
    )
    rsps.get(
        f"{API}/organization_memberships",
        match=[matchers.query_param_matcher({**params, "page_token": "TOKEN2"})],
        json={"collection": [{"uri": "m3"}], "pagination": {"next_page_token": None}},
    )

    pages = list(client.iter_memberships(ORG))

    assert pages == [[{"uri": "m1"}, {"uri": "m2"}], [{"uri": "m3"}]]
    assert len(rsps.calls) == 2
    assert all(c.request.url.startswith(API) for c in rsps.calls)


def test_it_stops_at_the_page_cap(rsps, make_client):
    client = make_client(max_pages=3)
    for n in range(5):
        rsps.get(
            f"{API}/organization_memberships",
            json={"collection": [{"n": n}], "pagination": {"next_page_token": f"T{n}"}},
        )

    pages = []
    with pytest.raises(InvalidRequest) as info:
        for page in client.iter_memberships(ORG):
            pages.append(page)

    assert len(pages) == 3
    assert len(rsps.calls) == 3
    assert "max_pages" in str(info.value)


def test_it_stops_when_a_page_token_repeats(rsps, client):
    rsps.get(
        f"{API}/organization_memberships",
        json={"collection": [], "pagination": {"next_page_token": "SAME"}},
    )

    with pytest.raises(InvalidRequest):
        list(client.iter_memberships(ORG))
    assert len(rsps.calls) == 2


def test_it_rewrites_full_uris_onto_the_base_url(rsps, make_client):
    client = make_client(base_url="http://sandbox.test:8001/calendly/")
    rsps.delete("http://sandbox.test:8001/calendly/organization_memberships/MEM1", status=204)
    rsps.get("http://sandbox.test:8001/calendly/users/U1", json={"resource": {"uri": "x"}})

    client.delete(f"{API}/organization_memberships/MEM1")
    client.get(f"{API}/users/U1")
    client.get("http://sandbox.test:8001/calendly/users/U1")

    assert [c.request.url for c in rsps.calls] == [
        "http://sandbox.test:8001/calendly/organization_memberships/MEM1",
        "http://sandbox.test:8001/calendly/users/U1",
        "http://sandbox.test:8001/calendly/users/U1",
    ]


def test_it_revokes_an_invitation_by_org_and_invitation_uuid(rsps, client):
    rsps.delete(f"{API}/organizations/ORG123/invitations/INV9", status=204)

    assert client.revoke_invitation(f"{API}/organizations/ORG123/invitations/INV9") is None
    with pytest.raises(ValueError):
        client.revoke_invitation(f"{API}/organization_memberships/MEM1")


def test_it_lists_invitations_activity_and_events_with_documented_params(rsps, client):
    rsps.get(
        f"{API}/organizations/ORG123/invitations",
        match=[matchers.query_param_matcher({"status": "pending", "count": "100"})],
        json={"collection": [{"uri": "i1"}], "pagination": {"next_page_token": None}},
    )
    rsps.get(
        f"{API}/activity_log_entries",
        match=[
            matchers.query_param_matcher(
                {
                    "organization": ORG,
                    "count": "1000",
                    "sort": "occurred_at:asc",
                    "min_occurred_at": "2026-01-02T03:04:05.000000Z",
                    "action": "Add,Remove",
                }
            )
        ],
        json={"collection": [{"uri": "a1"}], "pagination": {"next_page_token": None}},
    )
    rsps.get(
        f"{API}/scheduled_events",
        match=[
            matchers.query_param_matcher(
                {
                    "organization": ORG,
                    "count": "100",
                    "sort": "start_time:asc",
                    "min_start_time": "2026-01-01T00:00:00.000000Z",
                }
            )
        ],
        json={"collection": [{"uri": "e1"}], "pagination": {"next_page_token": None}},
    )

    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert list(client.iter_invitations(ORG)) == [[{"uri": "i1"}]]
    assert list(client.iter_activity_log(ORG, since, action=["Add", "Remove"])) == [[{"uri": "a1"}]]
    events = client.iter_scheduled_events(ORG, min_start_time="2026-01-01T00:00:00.000000Z")
    assert list(events) == [[{"uri": "e1"}]]


def test_it_rejects_naive_datetimes(client):
    with pytest.raises(ValueError):
        next(client.iter_activity_log(ORG, datetime(2026, 1, 1)))


def test_it_extracts_uuids_from_uris():
    assert uuid_from_uri(f"{API}/organization_memberships/ABC-123") == "ABC-123"
    assert uuid_from_uri(f"{API}/users/U1/") == "U1"
    assert uuid_from_uri("BARE") == "BARE"
    with pytest.raises(ValueError):
        uuid_from_uri("")


# -- stats and secrecy -------------------------------------------------------------------------


def test_it_counts_into_a_callers_stats_object(rsps, make_client):
    class JobRun:
        api_calls = 0
        rate_limit_waits = 0

    run = JobRun()
    client = make_client(stats=run)
    rsps.get(f"{API}/users/me", status=429, headers={"X-RateLimit-Reset": "1"})
    rsps.get(f"{API}/users/me", json={"resource": {}})

    client.current_user()

    assert (run.api_calls, run.rate_limit_waits) == (2, 1)
    assert not hasattr(run, "retries")


def test_it_creates_stats_when_none_given(client):
    assert client.stats == ClientStats()


def test_it_never_logs_or_raises_the_token(rsps, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(token_source=FakeTokenSource())
    rsps.get(f"{API}/users/me", status=401, json={"title": "Unauthenticated"})
    rsps.get(f"{API}/users/me", json={"resource": {}})
    rsps.get(
        f"{API}/organizations/ORG123",
        status=403,
        json={"title": "Permission Denied", "message": f"token {NEW_TOKEN} is not allowed"},
    )
    rsps.get(f"{API}/organization_memberships/M", status=500, body=f"oops {NEW_TOKEN}")

    client.current_user()
    errors = [
        error_of(lambda: client.organization(ORG)),
        error_of(lambda: client.get(f"{API}/organization_memberships/M")),
    ]

    assert caplog.records, "the client should log method, path and status at DEBUG"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /users/me -> 401" in logged
    for secret in (TOKEN, NEW_TOKEN):
        assert secret not in logged
        for err in errors:
            assert secret not in str(err)
            assert secret not in repr(err)
            assert secret not in err.message
    assert "[redacted]" in errors[0].message
    assert TOKEN not in repr(StaticToken(TOKEN))
