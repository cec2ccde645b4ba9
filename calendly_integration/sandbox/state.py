"""In-memory data of the fake Calendly: organizations, users, memberships, invitations, tokens
(the records themselves are in ``records.py``, the rate-limit counters in ``ratelimits.py``).

Everything lives in one :class:`SandboxState` guarded by one re-entrant lock (``state.lock``):
the HTTP threads and the test code that inspects or mutates the state take it around every
change. Objects use ``__slots__`` and compact arrays (activity, events) so that an organization
with 100,000 members stays small and starts in seconds.

Resource URIs always use Calendly's public form (``https://api.calendly.com/...``) whatever host
the sandbox listens on, like the real API, so clients must strip URIs to UUIDs for path
parameters exactly as they would against Calendly.
"""

from __future__ import annotations

import bisect
import collections
import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any

from .faults import Faults
from .ratelimits import RateLimits
from .records import (
    ACCESS_TOKEN_TTL,
    ALL_SCOPES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    PLANS,
    REQUEST_LOG_SIZE,
    ROLES,
    AuthCode,
    Invitation,
    Membership,
    OAuthClient,
    Organization,
    RefreshToken,
    Token,
    User,
)


class SandboxState:
    """All sandbox data plus the operations tests use to shape it.

    Every public method takes ``self.lock``; objects may be passed as instances, URIs or UUIDs.
    """

    def __init__(self, faults: Faults | None = None, rate_limit: int | None = None):
        self.lock = threading.RLock()
        self.faults = faults if faults is not None else Faults()
        self.rates = RateLimits(self.lock, rate_limit)
        self.organizations: dict[str, Organization] = {}
        self.users: dict[str, User] = {}
        self.memberships: dict[str, Membership] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.oauth_clients: dict[str, OAuthClient] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.default_org: Organization | None = None
        self.token_requests = 0
        self.request_log: list[tuple[str, str, int]] = []
        self.page_secret = secrets.token_bytes(32)
        self.listing_cache: collections.OrderedDict = collections.OrderedDict()
        self.register_oauth_client(
            DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, name="Sandbox demo app"
        )

    # -- organizations ------------------------------------------------------------------------
    def add_organization(
        self,
        name: str = "Acme Demo",
        members: int = 250,
        plan: str = "enterprise",
        seed: int = 1,
        *,
        scim_enabled: bool = False,
        domain: str | None = None,
    ) -> Organization:
        """Seed a new organization deterministically from ``seed`` (see ``seeding.py``)."""
        from .seeding import seed_organization

        with self.lock:
            org = seed_organization(
                self, name=name, members=members, plan=plan, seed=seed, domain=domain
            )
            org.scim_enabled = scim_enabled
            if self.default_org is None:
                self.default_org = org
            return org

    def set_plan(self, org, plan: str, stage: str | None = None) -> Organization:
        """Switch the plan (e.g. to "teams" to make the activity log answer 403)."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; known: {PLANS}")
        with self.lock:
            org = self.get_org(org)
            org.plan = plan
            org.stage = stage
            org.updated_at = time.time()
            return org

    def set_scim(self, org, enabled: bool = True) -> Organization:
        with self.lock:
            org = self.get_org(org)
            org.scim_enabled = bool(enabled)
            return org

    # -- members ------------------------------------------------------------------------------
    def add_member(
        self, org, email: str, name: str | None = None, role: str = "user"
    ) -> Membership:
        """Add a new user + membership (created now). A pending invitation for the same e-mail
        becomes accepted, like it does when the invitee signs up."""
        from .seeding import new_user

        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self.lock:
            org = self.get_org(org)
            if email.lower() in org.by_email:
                raise ValueError(f"{email} is already a member of {org.name}")
            now = time.time()
            user = new_user(
                self, org, email=email, name=name or email.split("@")[0], created_at=now
            )
            membership = self._attach(org, user, "user", now)
            for invitation in org.invitations.values():
                if invitation.email.lower() == email.lower() and invitation.status == "pending":
                    invitation.status = "accepted"
                    invitation.user = user
                    invitation.updated_at = now
            if role == "owner":
                self.set_owner(org, user)
            elif role != "user":
                self.set_role(org, user, role)
            return membership

    def _attach(
        self,
        org: Organization,
        user: User,
        role: str,
        created_at: float,
        updated_at: float | None = None,
        *,
        uuid: str | None = None,
    ) -> Membership:
        """Create a membership with the next ``seq`` (callers hold the lock)."""
        from .seeding import new_uuid

        seq = org.next_seq
        org.next_seq += 1
        membership = Membership(
            uuid or new_uuid(), user, org, role, created_at, updated_at or created_at, seq
        )
        org.members.append(membership)
        org.member_seqs.append(seq)
        org.by_user[user.uuid] = membership
        org.by_email[user.email.lower()] = membership
        self.memberships[membership.uuid] = membership
        if role == "owner":
            org.owner_membership = membership
        org.version += 1
        return membership

    def remove_member(self, org, membership) -> Membership:
        """Remove a membership (the API's DELETE does the same after its permission checks)."""
        with self.lock:
            org = self.get_org(org)
            membership = self.get_membership(membership)
            if membership.organization is not org:
                raise ValueError("membership belongs to another organization")
            index = bisect.bisect_left(org.member_seqs, membership.seq)
            del org.members[index]
            del org.member_seqs[index]
            org.by_user.pop(membership.user.uuid, None)
            org.by_email.pop(membership.user.email.lower(), None)
            self.memberships.pop(membership.uuid, None)
            if org.owner_membership is membership:
                org.owner_membership = None
            org.version += 1
            return membership

    def set_role(self, org, user, role: str) -> Membership:
        """Change a member's role; ``role="owner"`` transfers ownership (see :meth:`set_owner`)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {ROLES}")
        with self.lock:
            org = self.get_org(org)
            user = self.get_user(user)
            membership = org.membership_of(user)
            if membership is None:
                raise ValueError(f"{user.email} is not a member of {org.name}")
            if role == "owner":
                return self.set_owner(org, user)
            if membership is org.owner_membership:
                raise ValueError(
                    "the owner keeps the owner role; call set_owner() with another user"
                )
            self._change_role(membership, role)
            return membership

    def set_owner(self, org, user) -> Membership:
        """Make ``user`` the owner; the previous owner becomes an admin. Tokens stay bound to
        their users, so ``org.owner_token`` then acts as an admin."""
        with self.lock:
            org = self.get_org(org)
            user = self.get_user(user)
            membership = org.membership_of(user)
            if membership is None:
                raise ValueError(f"{user.email} is not a member of {org.name}")
            previous = org.owner_membership
            if previous is not None and previous is not membership:
                self._change_role(previous, "admin")
            self._change_role(membership, "owner")
            org.owner_membership = membership
            return membership

    @staticmethod
    def _change_role(membership: Membership, role: str) -> None:
        membership.role = role
        membership.updated_at = time.time()
        membership.json = None

    def add_invitation(
        self, org, email: str, status: str = "pending", created_at: float | None = None
    ) -> Invitation:
        from .seeding import new_invitation

        with self.lock:
            org = self.get_org(org)
            return new_invitation(org, email, status, created_at or time.time(), user=None)

    # -- tokens -------------------------------------------------------------------------------
    def issue_token(
        self,
        org,
        user,
        scopes: Iterable[str] | None = None,
        expires_in: float | None = None,
        *,
        value: str | None = None,
    ) -> str:
        """Issue a personal-access-style token for ``user`` acting in ``org``.

        ``scopes=None`` grants every scope; ``expires_in=None`` never expires.
        """
        with self.lock:
            org = self.get_org(org)
            user = self.get_user(user)
            value = value or "sbx_pat_" + secrets.token_urlsafe(24)
            now = time.time()
            expires_at = now + expires_in if expires_in is not None else None
            granted = ALL_SCOPES if scopes is None else tuple(scopes)
            self.tokens[value] = Token(value, "pat", user, org, granted, now, expires_at)
            return value

    def issue_oauth_pair(
        self, client_id: str, user: User, org: Organization, scopes
    ) -> tuple[Token, RefreshToken]:
        """Issue an OAuth access token + refresh token (callers hold the lock)."""
        now = time.time()
        ttl = self.faults.access_token_ttl
        ttl = ACCESS_TOKEN_TTL if ttl is None else ttl
        access_value = "sbx_at_" + secrets.token_urlsafe(32)
        refresh_value = "sbx_rt_" + secrets.token_urlsafe(32)
        access = Token(
            access_value, "oauth", user, org, scopes, now, now + ttl, client_id, refresh_value
        )
        refresh = RefreshToken(refresh_value, user, org, scopes, client_id, access_value)
        self.tokens[access_value] = access
        self.refresh_tokens[refresh_value] = refresh
        return access, refresh

    def revoke_token(self, value: str, client_id: str | None = None) -> bool:
        """Kill an access or refresh token (a refresh token takes its access token with it)."""
        with self.lock:
            access = self.tokens.get(value)
            if (
                access is not None
                and access.kind == "oauth"
                and client_id in (None, access.client_id)
            ):
                del self.tokens[value]
                return True
            refresh = self.refresh_tokens.get(value)
            if refresh is not None and client_id in (None, refresh.client_id):
                refresh.alive = False
                self.tokens.pop(refresh.access, None)
                return True
            return False

    def expire_access_tokens_now(self) -> None:
        """Every OAuth access token issued until now answers 401 "The access token expired"."""
        self.faults.expire_access_tokens_now()

    def authenticate(self, value: str | None) -> tuple[Token | None, str | None]:
        """Return ``(token, None)`` or ``(None, message)`` for a 401."""
        token = self.tokens.get(value) if value else None
        if token is None:
            return None, "The access token is invalid"
        now = time.time()
        if token.expires_at is not None and now >= token.expires_at:
            return None, "The access token expired"
        if token.kind == "oauth" and token.created_at <= self.faults.token_cutoff:
            return None, "The access token expired"
        return token, None

    def register_oauth_client(
        self,
        client_id: str,
        client_secret: str | None,
        redirect_uris: Iterable[str] | None = None,
        *,
        name: str | None = None,
        scopes: Iterable[str] | None = None,
    ) -> OAuthClient:
        """Register an OAuth app. ``redirect_uris=None`` accepts any redirect URI;
        ``client_secret=None`` makes a public (PKCE-only) client."""
        with self.lock:
            client = OAuthClient(client_id, client_secret, redirect_uris, name or client_id, scopes)
            self.oauth_clients[client_id] = client
            return client

    # -- lookups ------------------------------------------------------------------------------
    def get_org(self, ref: Any) -> Organization:
        if isinstance(ref, Organization):
            return ref
        org = self.organizations.get(_tail(ref))
        if org is None:
            raise KeyError(f"unknown organization {ref!r}")
        return org

    def get_user(self, ref: Any) -> User:
        if isinstance(ref, User):
            return ref
        if isinstance(ref, Membership):
            return ref.user
        user = self.users.get(_tail(ref))
        if user is None:
            raise KeyError(f"unknown user {ref!r}")
        return user

    def get_membership(self, ref: Any) -> Membership:
        if isinstance(ref, Membership):
            return ref
        membership = self.memberships.get(_tail(ref))
        if membership is None:
            raise KeyError(f"unknown membership {ref!r}")
        return membership

    def find_user_by_email(self, email: str) -> User | None:
        with self.lock:
            for org in self.organizations.values():
                membership = org.by_email.get(email.lower())
                if membership is not None:
                    return membership.user
        return None

    # -- request log --------------------------------------------------------------------------
    def log_request(self, method: str, path: str, status: int) -> None:
        """Keep the last 10,000 ``(method, path_with_query, status)``; a dropped connection
        is logged with status 0."""
        log = self.request_log
        log.append((method, path, status))
        if len(log) > REQUEST_LOG_SIZE + 1000:
            with self.lock:
                del log[: len(log) - REQUEST_LOG_SIZE]

    def fingerprint(self, *parts: Any) -> str:
        return hashlib.blake2b(
            repr(parts).encode(), digest_size=8, key=self.page_secret[:16]
        ).hexdigest()


def _tail(ref: Any) -> str:
    """UUID from a UUID or a full URI (``https://api.calendly.com/users/UUID``)."""
    text = str(ref).rstrip("/")
    return text.rsplit("/", 1)[-1]
