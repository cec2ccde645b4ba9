"""Deterministic seeding: the same ``seed`` gives the same organization, people and activity.

Shape of a seeded organization (why: it exercises what the product must handle):

* exactly one owner (the earliest member), about 5% admins, the rest plain users; the member
  right after the owner is always an admin and the next one a plain user, so every organization
  with 3+ members has an ``admin_token`` (admin, not owner) and a ``user_token``;
* accented, Nordic, Slavic and CJK names with ASCII, mixed-case e-mails
  (``Jose.Nunez@Acme-Demo.example``), a few members on other domains (contractors, personal
  mail) so that e-mail matching to the directory is not trivial;
* memberships created over three years;
* a dozen pending invitations (some older than 30 days), a few accepted and declined ones;
* activity from now back to a year ago, roughly 12% of members never active; each active member
  has 1-4 activity log entries and 1-4 scheduled events (about 2.5 of each on average). The
  activity log only returns the last 90 days, so members last active 90-365 days ago are visible
  through scheduled events only.

Activity and events are generated lazily, on the first request that needs them, and kept as
compact tuples; 100,000 members start in a couple of seconds.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import hashlib
import itertools
import math
import random
import secrets
import time
import uuid as uuid_module

from .names import FIRST_NAMES, LAST_NAMES, SPECIAL_PEOPLE, TIMEZONES, latin
from .records import PLANS, ActivityLog, EventLog, Invitation, Organization, User

DAY = 86400.0
YEAR = 365 * DAY
NEVER_ACTIVE_SHARE = 0.12
ADMIN_SHARE = 0.05

# (namespace, action, weight). Reference:
# https://developer.calendly.com/api-docs/calendly-api/activity-log/list-activity-log-entries
# ("User.Add" style fully qualified names; the product decides which ones count as use).
ACTIVITY_KINDS: tuple[tuple[str, str, int], ...] = (
    ("User", "Login", 45),
    ("User", "Logout", 10),
    ("User", "Update", 8),
    ("EventType", "Create", 8),
    ("EventType", "Update", 14),
    ("Availability", "Update", 8),
    ("Workflow", "Update", 4),
    ("RoutingForm", "Update", 3),
)
SYSTEM_KIND = ("Organization", "Update")
LOGIN_METHODS = ("password", "google", "microsoft", "saml_sso")

# (name, duration minutes)
EVENT_TYPES: tuple[tuple[str, int], ...] = (
    ("15 Minute Meeting", 15),
    ("30 Minute Meeting", 30),
    ("Discovery Call", 30),
    ("Product Demo", 45),
    ("1:1 Check-in", 30),
    ("Onboarding Session", 60),
    ("Interview", 45),
    ("Office Hours", 60),
)
LOCATIONS: tuple[dict, ...] = (
    {"type": "physical", "location": "Acme HQ, Room 4"},
    {"type": "custom", "location": "Video call (link in the invitation)"},
    {"type": "physical", "location": "Café Zürich, 2nd floor"},
)

_invitation_seq = itertools.count(1)


def new_uuid(rng: random.Random | None = None) -> str:
    """A UUID4-shaped string; from ``rng`` when seeding (deterministic), random otherwise."""
    bits = rng.getrandbits(128) if rng is not None else secrets.randbits(128)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16)]}{h[17:20]}-{h[20:]}"


_VARIANT = "89ab89ab89ab89ab"


@contextlib.contextmanager
def _paused_gc():
    """Seeding allocates hundreds of thousands of long-lived objects; the cyclic collector
    would rescan them again and again (a third of the start-up time for 100,000 members)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def derived_uuid(*parts: object) -> str:
    """A stable UUID for lazily materialized resources (activity entries, events)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    return str(uuid_module.UUID(bytes=digest, version=4))


@functools.lru_cache(maxsize=4096)
def _latin(text: str) -> str:
    return latin(text) or "x"


def new_user(
    state,
    org: Organization,
    *,
    email: str,
    name: str,
    created_at: float,
    rng: random.Random | None = None,
    slug: str | None = None,
    updated_at: float | None = None,
) -> User:
    """Create a user (current organization ``org``) and register it in ``state``."""
    chooser = rng or random
    user_uuid = new_uuid(rng)
    slug = slug or f"{_latin(name).lower()}-{user_uuid[:6]}"
    avatar = (
        f"https://avatars.calendly-sandbox.example/{slug}.png" if chooser.random() < 0.7 else None
    )
    user = User(
        user_uuid,
        name,
        slug,
        email,
        TIMEZONES[int(chooser.random() * len(TIMEZONES))],
        avatar,
        created_at,
        updated_at or created_at,
        org,
    )
    state.users[user_uuid] = user
    return user


def new_invitation(
    org: Organization,
    email: str,
    status: str,
    created_at: float,
    user=None,
    rng: random.Random | None = None,
    last_sent_at: float | None = None,
) -> Invitation:
    invitation = Invitation(
        new_uuid(rng),
        org,
        email,
        status,
        created_at,
        created_at if status == "pending" else created_at + DAY,
        last_sent_at if last_sent_at is not None else created_at,
        user,
        next(_invitation_seq),
    )
    org.invitations[invitation.uuid] = invitation
    return invitation


def _token_value(seed: int, name: str, role: str, taken: dict) -> str:
    digest = hashlib.sha256(f"{seed}:{name}:{role}".encode()).hexdigest()[:32]
    value = f"sbx_pat_{role}_{digest}"
    suffix = 2
    while value in taken:
        value = f"sbx_pat_{role}_{digest}{suffix}"
        suffix += 1
    return value


def seed_organization(state, **kwargs) -> Organization:
    """Build one organization (callers hold ``state.lock``); see :func:`_seed_organization`."""
    with _paused_gc():
        return _seed_organization(state, **kwargs)


def ensure_activity(org: Organization) -> None:
    """Generate the activity log entries and scheduled events of ``org`` once (lazily: the
    first request that needs them pays, about two seconds for 100,000 members)."""
    if org.activity is None:
        with _paused_gc():
            _generate_activity(org)


def _seed_organization(
    state,
    *,
    name: str,
    members: int,
    plan: str,
    seed: int,
    domain: str | None = None,
) -> Organization:
    """Build one organization (callers hold ``state.lock``)."""
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}; known: {PLANS}")
    members = max(1, int(members))
    rng = random.Random(seed)
    anchor = time.time()
    stem = _latin(name)
    domain = domain or f"{stem}.example"
    # Oldest first: the owner created the organization.
    ages = sorted((rng.random() * 3 * YEAR for _ in range(members)), reverse=True)
    org = Organization(new_uuid(rng), name, domain, plan, seed, anchor - ages[0] - DAY)
    org.anchor = anchor
    state.organizations[org.uuid] = org

    emails: set[str] = set()
    slugs: dict[str, int] = {}
    other_domains = (f"{stem}-Contractors.example", "Mail.example")
    for index, age in enumerate(ages):
        special = 1 <= index <= len(SPECIAL_PEOPLE)
        if special:
            first, last, first_latin, last_latin = SPECIAL_PEOPLE[index - 1]
            first_latin = first_latin or _latin(first)
            last_latin = last_latin or _latin(last)
            style = 0.0
            mail_domain = domain
        else:
            first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
            last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
            first_latin, last_latin = _latin(first), _latin(last)
            style = rng.random()
            pick = rng.random()
            mail_domain = domain if pick < 0.96 else other_domains[pick >= 0.985]
        email = _email(first_latin, last_latin, style, mail_domain, emails)
        base_slug = f"{first_latin}-{last_latin}".lower()
        count = slugs.get(base_slug, 0) + 1
        slugs[base_slug] = count
        slug = base_slug if count == 1 else f"{base_slug}-{count}"
        created = anchor - age
        updated = created + rng.random() * age
        display = f"{first} {last}"
        user = new_user(
            state,
            org,
            email=email,
            name=display,
            created_at=created,
            rng=rng,
            slug=slug,
            updated_at=updated,
        )
        if index == 0:
            role = "owner"
        elif index == 1:
            role = "admin"
        elif index == 2:
            role = "user"
        else:
            role = "admin" if rng.random() < ADMIN_SHARE else "user"
        state._attach(org, user, role, created, created + rng.random() * age, uuid=new_uuid(rng))
        org.seeded_users.append(user)

    _seed_invitations(org, rng, anchor, emails)
    _seed_tokens(state, org, seed)
    return org


def _email(first: str, last: str, style: float, domain: str, taken: set[str]) -> str:
    """Mixed styles, as people type them into Calendly: ``Jose.Nunez@Acme-Demo.example``,
    ``jose.nunez@acme-demo.example``, ``JNunez@...``, ``JOSE.NUNEZ@...``."""
    if style < 0.55:
        local = f"{first}.{last}"
    elif style < 0.75:
        local, domain = f"{first}.{last}".lower(), domain.lower()
    elif style < 0.85:
        local = f"{first[:1]}{last}"
    elif style < 0.95:
        local, domain = f"{first}_{last}".lower(), domain.lower()
    else:
        local = f"{first}.{last}".upper()
    email = f"{local}@{domain}"
    number = 2
    while email.lower() in taken:
        email = f"{local}{number}@{domain}"
        number += 1
    taken.add(email.lower())
    return email


def _seed_invitations(
    org: Organization, rng: random.Random, anchor: float, emails: set[str]
) -> None:
    for index in range(12):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = _email(_latin(first), _latin(last), rng.random(), org.domain, emails)
        # Five are older than 30 days (stale invitations still hold seats).
        age = rng.uniform(31, 200) * DAY if index < 5 else rng.uniform(0.1, 29) * DAY
        created = anchor - age
        resent = created + rng.random() * age * 0.5 if rng.random() < 0.3 else created
        new_invitation(org, email, "pending", created, rng=rng, last_sent_at=resent)
    candidates = org.members[3:]
    for membership in rng.sample(candidates, min(4, len(candidates))):
        created = membership.created_at - rng.uniform(0.05, 5) * DAY
        invitation = new_invitation(
            org, membership.user.email, "accepted", created, membership.user, rng=rng
        )
        invitation.updated_at = membership.created_at
    for _ in range(2):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = _email(_latin(first), _latin(last), rng.random(), org.domain, emails)
        new_invitation(org, email, "declined", anchor - rng.uniform(5, 120) * DAY, rng=rng)


def _seed_tokens(state, org: Organization, seed: int) -> None:
    owner = org.members[0].user
    org.owner_token = state.issue_token(
        org, owner, value=_token_value(seed, org.name, "owner", state.tokens)
    )
    admin = next((m.user for m in org.members if m.role == "admin"), None)
    if admin is not None:
        org.admin_token = state.issue_token(
            org, admin, value=_token_value(seed, org.name, "admin", state.tokens)
        )
    plain = next((m.user for m in org.members if m.role == "user"), None)
    if plain is not None:
        org.user_token = state.issue_token(
            org, plain, value=_token_value(seed, org.name, "user", state.tokens)
        )


def _generate_activity(org: Organization) -> None:
    """Generate the activity log entries and scheduled events of ``org``.

    Both are stored as parallel arrays sorted by time (``state.ActivityLog``/``EventLog``);
    user indexes point into ``org.seeded_users`` (``-1`` = Calendly System / no co-host).
    Plain ``random()`` arithmetic instead of ``randint``/``choices`` keeps 100,000 members
    to about a second.
    """
    if org.activity is not None:
        return
    rand = random.Random(org.seed * 1_000_003 + 7).random
    anchor = org.anchor
    weights = list(itertools.accumulate(kind[2] for kind in ACTIVITY_KINDS))
    total_weight = weights[-1]
    population = len(org.seeded_users)
    activity: list[tuple] = []
    events: list[tuple] = []
    for index, user in enumerate(org.seeded_users):
        if rand() < NEVER_ACTIVE_SHARE:
            continue
        pick = rand()
        if pick < 0.55:
            days = rand() * 30
        elif pick < 0.75:
            days = 30 + rand() * 60
        else:
            days = 90 + rand() * 275
        last = anchor - days * DAY
        if last < user.created_at:
            last = user.created_at + rand() * (anchor - user.created_at)
        floor = max(user.created_at, anchor - YEAR)
        log_first = rand() < 0.5
        for k in range(1 + int(rand() * 4)):
            ts = last if (k == 0 and log_first) else _before(rand, last, floor, 20 * DAY)
            kind = bisect.bisect_right(weights, rand() * total_weight)
            activity.append((ts, index, kind, int(rand() * 8)))
        for k in range(1 + int(rand() * 4)):
            start = last if (k == 0 and not log_first) else _before(rand, last, floor, 30 * DAY)
            events.append(_event(rand, index, start, population, booked_before=start))
        if days < 30 and rand() < 0.3:  # an upcoming meeting, booked recently
            start = anchor + (0.05 + rand() * 30) * DAY
            events.append(_event(rand, index, start, population, booked_before=anchor))
    for _ in range(3 + population // 100):
        activity.append((anchor - rand() * 89 * DAY, -1, -1, int(rand() * 8)))
    activity.sort(key=lambda e: e[0])
    events.sort(key=lambda e: e[0])
    org.activity = ActivityLog(activity)
    org.events = EventLog(events)


def _before(rand, last: float, floor: float, mean: float) -> float:
    """A time before ``last`` (exponential gap); uniform in ``[floor, last]`` when the gap
    would reach past ``floor`` (no pile-up of events exactly one year ago)."""
    ts = last + math.log(1.0 - rand()) * mean
    return ts if ts >= floor else floor + rand() * max(0.0, last - floor)


def _event(rand, host: int, start: float, population: int, booked_before: float) -> tuple:
    cohost = int(rand() * population) if population > 1 and rand() < 0.05 else -1
    if cohost == host:
        cohost = -1
    type_index = int(rand() * len(EVENT_TYPES))
    canceled = rand() < 0.08
    created = min(start - (0.04 + rand() * 14) * DAY, booked_before)
    return (start, host, cohost, type_index, canceled, created, int(rand() * len(LOCATIONS)))
