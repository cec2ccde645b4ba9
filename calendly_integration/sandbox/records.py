"""The records of the fake Calendly (users, memberships, invitations, activity and event logs,
organizations, tokens, OAuth clients and codes) and the constants they follow.

Objects use ``__slots__`` and compact arrays (activity, events) so that an organization with
100,000 members stays small and starts in seconds. :class:`~.state.SandboxState` holds them;
``seeding.py`` creates them. Kept apart from the state so the seeder needs only the records.
"""

from __future__ import annotations

from array import array

PUBLIC_BASE = "https://api.calendly.com"

# Reference: https://developer.calendly.com/docs/authentication/scopes
ALL_SCOPES: tuple[str, ...] = (
    "users:read",
    "organizations:read",
    "organizations:write",
    "activity_log:read",
    "scheduled_events:read",
)
# Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/get-organization
PLANS: tuple[str, ...] = ("basic", "essentials", "standard", "professional", "teams", "enterprise")
ROLES: tuple[str, ...] = ("owner", "admin", "user")

ACCESS_TOKEN_TTL = 7200  # Calendly access tokens live two hours.
AUTH_CODE_TTL = 600  # Authorization codes live ten minutes.
ACTIVITY_RETENTION_DAYS = 90  # The activity log keeps 90 days.
# Reference: https://developer.calendly.com/api-docs/overview/rate-limits
PAID_RATE_LIMIT = 500
FREE_RATE_LIMIT = 50
DISABLED_RATE_LIMIT = 1_000_000
TOKEN_REQUESTS_PER_MINUTE = 8
RATE_WINDOW = 60
REQUEST_LOG_SIZE = 10_000

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"


class User:
    __slots__ = (
        "uuid",
        "name",
        "slug",
        "email",
        "timezone",
        "avatar_url",
        "created_at",
        "updated_at",
        "organization",
    )

    def __init__(self, uuid, name, slug, email, timezone, avatar_url, created_at, updated_at, org):
        self.uuid = uuid
        self.name = name
        self.slug = slug
        self.email = email
        self.timezone = timezone
        self.avatar_url = avatar_url
        self.created_at = created_at
        self.updated_at = updated_at
        self.organization = org  # current_organization

    @property
    def uri(self) -> str:
        return f"{PUBLIC_BASE}/users/{self.uuid}"

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership:
    __slots__ = (
        "uuid",
        "user",
        "organization",
        "role",
        "created_at",
        "updated_at",
        "seq",
        "json",
    )

    def __init__(self, uuid, user, org, role, created_at, updated_at, seq):
        self.uuid = uuid
        self.user = user
        self.organization = org
        self.role = role
        self.created_at = created_at
        self.updated_at = updated_at
        self.seq = seq
        self.json: bytes | None = None  # cached serialized resource, cleared on change

    @property
    def uri(self) -> str:
        return f"{PUBLIC_BASE}/organization_memberships/{self.uuid}"

    def __repr__(self) -> str:
        return f"<Membership {self.user.email} {self.role}>"


class ActivityLog:
    """Activity log entries of one organization as parallel arrays sorted by time (about 20
    bytes an entry). Entry ``i`` has ``seq = i + 1``; ``user[i]`` indexes
    ``Organization.seeded_users`` (``-1`` = Calendly System)."""

    __slots__ = ("ts", "user", "kind", "detail")

    def __init__(self, rows: list[tuple]):
        self.ts = array("d", (r[0] for r in rows))
        self.user = array("i", (r[1] for r in rows))
        self.kind = array("b", (r[2] for r in rows))
        self.detail = array("b", (r[3] for r in rows))

    def __len__(self) -> int:
        return len(self.ts)


class EventLog:
    """Scheduled events of one organization as parallel arrays sorted by start time."""

    __slots__ = ("start", "host", "cohost", "type", "canceled", "created", "location")

    def __init__(self, rows: list[tuple]):
        self.start = array("d", (r[0] for r in rows))
        self.host = array("i", (r[1] for r in rows))
        self.cohost = array("i", (r[2] for r in rows))
        self.type = array("b", (r[3] for r in rows))
        self.canceled = array("b", (r[4] for r in rows))
        self.created = array("d", (r[5] for r in rows))
        self.location = array("b", (r[6] for r in rows))

    def __len__(self) -> int:
        return len(self.start)


class Invitation:
    __slots__ = (
        "uuid",
        "uri",
        "organization",
        "email",
        "status",
        "created_at",
        "updated_at",
        "last_sent_at",
        "user",
        "seq",
    )

    def __init__(self, uuid, org, email, status, created_at, updated_at, last_sent_at, user, seq):
        self.uuid = uuid
        self.uri = f"{org.uri}/invitations/{uuid}"
        self.organization = org
        self.email = email
        self.status = status
        self.created_at = created_at
        self.updated_at = updated_at
        self.last_sent_at = last_sent_at
        self.user = user
        self.seq = seq

    def __repr__(self) -> str:
        return f"<Invitation {self.email} {self.status}>"


class Organization:
    """One Calendly organization. ``members`` and ``member_seqs`` are kept sorted by ``seq``
    (creation order) so a page is a bisect plus a slice, whatever the size."""

    def __init__(self, uuid: str, name: str, domain: str, plan: str, seed: int, created_at: float):
        self.uuid = uuid
        self.uri = f"{PUBLIC_BASE}/organizations/{uuid}"
        self.name = name
        self.domain = domain
        self.plan = plan
        self.stage: str | None = None  # None = derived from the plan
        self.seed = seed
        self.created_at = created_at
        self.updated_at = created_at
        self.scim_enabled = False
        self.members: list[Membership] = []
        self.member_seqs: list[int] = []
        self.by_user: dict[str, Membership] = {}
        self.by_email: dict[str, Membership] = {}
        self.invitations: dict[str, Invitation] = {}
        self.owner_membership: Membership | None = None
        self.owner_token: str | None = None
        self.admin_token: str | None = None
        self.user_token: str | None = None
        self.version = 0  # bumped on membership changes; part of listing cache keys
        self.next_seq = 1
        # Lazily generated activity (see seeding.ensure_activity).
        self.seeded_users: list[User] = []
        self.anchor = created_at
        self.activity: ActivityLog | None = None
        self.events: EventLog | None = None
        self.seeded_index: dict[str, int] | None = None

    @property
    def owner(self) -> User | None:
        return self.owner_membership.user if self.owner_membership else None

    @property
    def current_stage(self) -> str:
        if self.stage:
            return self.stage
        return "free" if self.plan == "basic" else "paid"

    @property
    def member_count(self) -> int:
        return len(self.members)

    def membership_of(self, user: User | None) -> Membership | None:
        return self.by_user.get(user.uuid) if user is not None else None

    def role_of(self, user: User | None) -> str | None:
        membership = self.membership_of(user)
        return membership.role if membership else None

    def __repr__(self) -> str:
        return f"<Organization {self.name!r} {self.plan} members={len(self.members)}>"


class Token:
    """An access token: a personal access token (``kind="pat"``, no expiry unless given) or an
    OAuth access token (``kind="oauth"``)."""

    __slots__ = (
        "value",
        "kind",
        "user",
        "organization",
        "scopes",
        "created_at",
        "expires_at",
        "client_id",
        "refresh",
    )

    def __init__(
        self, value, kind, user, org, scopes, created_at, expires_at, client_id=None, refresh=None
    ):
        self.value = value
        self.kind = kind
        self.user = user
        self.organization = org
        self.scopes = frozenset(scopes)
        self.created_at = created_at
        self.expires_at = expires_at
        self.client_id = client_id
        self.refresh = refresh


class RefreshToken:
    __slots__ = ("value", "user", "organization", "scopes", "client_id", "access", "alive")

    def __init__(self, value, user, org, scopes, client_id, access):
        self.value = value
        self.user = user
        self.organization = org
        self.scopes = frozenset(scopes)
        self.client_id = client_id
        self.access = access
        self.alive = True


class OAuthClient:
    __slots__ = ("client_id", "client_secret", "redirect_uris", "name", "scopes")

    def __init__(self, client_id, client_secret, redirect_uris, name, scopes):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris or [])
        self.name = name
        self.scopes = tuple(scopes or ALL_SCOPES)


class AuthCode:
    __slots__ = (
        "value",
        "client_id",
        "redirect_uri",
        "challenge",
        "method",
        "user",
        "organization",
        "scopes",
        "expires_at",
        "used",
        "issued",
    )

    def __init__(
        self, value, client_id, redirect_uri, challenge, method, user, org, scopes, expires_at
    ):
        self.value = value
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.challenge = challenge
        self.method = method
        self.user = user
        self.organization = org
        self.scopes = tuple(scopes)
        self.expires_at = expires_at
        self.used = False
        self.issued: list[str] = []  # tokens issued from this code (revoked on code reuse)
