"""factory_boy factories for the sam_saas models (and the auth models the admin needs).

Every factory builds a valid row with distinct related rows. ``rich=True`` (a trait) also
fills the optional relations a list page displays, which is what the admin query-count test
uses to catch N+1 queries. Add a factory here for every model registered in the admin:
``tests/sam_saas/test_admin_pages.py`` looks them up by model.
"""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from sam_saas.models import (
    ConnectionAlias,
    Entitlement,
    IntegrationProfile,
    JobRun,
    Person,
    Publisher,
    SoftwareModel,
    SoftwareSubscription,
    SubscriptionIdentifier,
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@staff.example")
    is_staff = True
    password = factory.django.Password("password")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        """``groups=[group, ...]`` or group names."""
        if create and extracted:
            self.groups.add(
                *(Group.objects.get(name=g) if isinstance(g, str) else g for g in extracted)
            )


class GroupFactory(DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class PublisherFactory(DjangoModelFactory):
    class Meta:
        model = Publisher
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Publisher {n}")


class SoftwareModelFactory(DjangoModelFactory):
    class Meta:
        model = SoftwareModel

    publisher = factory.SubFactory(PublisherFactory)
    product = "Calendly"
    edition = factory.Sequence(lambda n: f"Edition {n}")


class SubscriptionIdentifierFactory(DjangoModelFactory):
    class Meta:
        model = SubscriptionIdentifier
        skip_postgeneration_save = True

    provider = "calendly"
    value = factory.Sequence(lambda n: f"calendly-plan-{n}")
    software_model = factory.SubFactory(SoftwareModelFactory)

    class Params:
        unrecognized = factory.Trait(software_model=None)
        rich = factory.Trait(
            subscriptions=factory.RelatedFactoryList(
                "tests.factories.SoftwareSubscriptionFactory",
                factory_related_name="identifier",
                size=2,
            )
        )


class ConnectionAliasFactory(DjangoModelFactory):
    """An alias with all three secrets set (distinct per alias)."""

    class Meta:
        model = ConnectionAlias

    name = factory.Sequence(lambda n: f"calendly-alias-{n}")
    provider = "calendly"
    auth_type = ConnectionAlias.AuthType.OAUTH2
    client_id = factory.Sequence(lambda n: f"client-id-{n}")
    client_secret = factory.Sequence(lambda n: f"cs-{n}-Zq8wXe4rTy")
    access_token = factory.Sequence(lambda n: f"at-{n}-eyJhbGciOiJIUzI1NiJ9")
    refresh_token = factory.Sequence(lambda n: f"rt-{n}-Pm3nBv7cXz")
    token_expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=2))
    connection_status = ConnectionAlias.ConnectionStatus.CONNECTED
    granted_scopes = factory.LazyFunction(lambda: ["users:read", "organizations:read"])
    last_validated_at = factory.LazyFunction(timezone.now)

    class Params:
        child = factory.Trait(
            parent=factory.SubFactory("tests.factories.ConnectionAliasFactory"),
            client_secret="",
        )
        rich = factory.Trait(parent=factory.SubFactory("tests.factories.ConnectionAliasFactory"))


class IntegrationProfileFactory(DjangoModelFactory):
    class Meta:
        model = IntegrationProfile

    name = factory.Sequence(lambda n: f"Calendly org {n}")
    provider = "calendly"
    alias = factory.SubFactory(ConnectionAliasFactory)
    status = IntegrationProfile.Status.PUBLISHED
    organization_uri = factory.Sequence(lambda n: f"https://api.calendly.com/organizations/ORG{n}")
    organization_name = factory.Sequence(lambda n: f"Org {n}")
    organization_plan = "teams"


class PersonFactory(DjangoModelFactory):
    class Meta:
        model = Person

    email = factory.Sequence(lambda n: f"person{n}@corp.example")
    name = factory.Sequence(lambda n: f"Person {n}")
    department = factory.Iterator(["Sales", "Engineering", "Finance"])
    cost_center = factory.Iterator(["CC-100", "CC-200"])
    manager = None
    active = True

    class Params:
        rich = factory.Trait(manager=factory.SubFactory("tests.factories.PersonFactory"))


class SoftwareSubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = SoftwareSubscription

    profile = factory.SubFactory(IntegrationProfileFactory)
    identifier = factory.SubFactory(SubscriptionIdentifierFactory)
    software_model = factory.SelfAttribute("identifier.software_model")
    person = factory.SubFactory(PersonFactory)
    user_principal_name = factory.LazyAttribute(
        lambda o: o.person.email if o.person else f"nobody-{o.external_seat_id[-6:]}@ext.example"
    )
    user_name = factory.LazyAttribute(lambda o: o.person.name if o.person else "")
    external_user_id = factory.Sequence(lambda n: f"https://api.calendly.com/users/U{n:06d}")
    external_seat_id = factory.Sequence(
        lambda n: f"https://api.calendly.com/organization_memberships/M{n:06d}"
    )
    kind = SoftwareSubscription.Kind.MEMBER
    role = "user"
    status = SoftwareSubscription.Status.ACTIVE
    external_created_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=400))
    last_activity_at = factory.Sequence(lambda n: timezone.now() - dt.timedelta(days=n % 120))
    last_activity_source = "scheduled_events"

    class Params:
        without_user = factory.Trait(person=None)


class UserResolutionRuleFactory(DjangoModelFactory):
    class Meta:
        model = UserResolutionRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Resolution rule {n}")
    transform = UserResolutionRule.Transform.REPLACE_DOMAIN
    match_domain = "old.example"
    new_domain = "corp.example"

    class Params:
        rich = factory.Trait(
            transform=UserResolutionRule.Transform.ALIAS,
            alias_email=factory.Sequence(lambda n: f"alias{n}@old.example"),
            person=factory.SubFactory(PersonFactory),
            profiles=2,
        )

    @factory.post_generation
    def profiles(self, create, extracted, **kwargs):
        """``profiles=[...]`` adds those profiles; ``profiles=3`` creates three."""
        if not create or not extracted:
            return
        if isinstance(extracted, int):
            extracted = IntegrationProfileFactory.create_batch(extracted)
        self.profiles.add(*extracted)


class SubscriptionIdentifierExclusionRuleFactory(DjangoModelFactory):
    class Meta:
        model = SubscriptionIdentifierExclusionRule

    pattern = factory.Sequence(lambda n: f"calendly-trial-{n}*")
    profile = None
    reason = "Free trial seats are not licensed."
    active = True

    class Params:
        rich = factory.Trait(profile=factory.SubFactory(IntegrationProfileFactory))


class SubscriptionUserExclusionRuleFactory(DjangoModelFactory):
    class Meta:
        model = SubscriptionUserExclusionRule

    email_pattern = factory.Sequence(lambda n: f"*@contractor{n}.example")
    exclude_from_cost = False
    exclude_from_reclamation = True
    reason = "Contractors are managed by their agency."
    active = True


class EntitlementFactory(DjangoModelFactory):
    class Meta:
        model = Entitlement

    software_model = factory.SubFactory(SoftwareModelFactory)
    profile = None
    purchased_rights = 25
    unit_cost = "120.00"
    currency = "USD"
    period = Entitlement.Period.ANNUAL
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    contract_reference = factory.Sequence(lambda n: f"PO-{n:05d}")

    class Params:
        rich = factory.Trait(profile=factory.SubFactory(IntegrationProfileFactory))


class JobRunFactory(DjangoModelFactory):
    class Meta:
        model = JobRun

    profile = factory.SubFactory(IntegrationProfileFactory)
    kind = JobRun.Kind.DOWNLOAD
    trigger = JobRun.Trigger.SCHEDULE
    status = JobRun.Status.SUCCEEDED
    queued_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=10))
    started_at = factory.LazyAttribute(lambda o: o.queued_at + dt.timedelta(seconds=5))
    finished_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(seconds=95))
    fetched = 120
    created = 3
    updated = 110
    removed = 1
    unmatched = 2
    api_calls = 4
    progress = 100

    class Params:
        failed = factory.Trait(
            status=JobRun.Status.FAILED,
            error_class="Unauthorized",
            error_message="401 from https://api.calendly.com/users/me",
            hint="Reconnect the connection alias: the refresh token was revoked.",
        )


# -- reclamation -------------------------------------------------------------------------------

from reclamation.models import (  # noqa: E402
    CandidateEvent,
    ReclamationCandidate,
    ReclamationRule,
)


class ReclamationRuleFactory(DjangoModelFactory):
    class Meta:
        model = ReclamationRule

    name = factory.LazyAttribute(lambda o: o.profile.name if o.profile else "Orphan rule")
    profile = factory.SubFactory(IntegrationProfileFactory)


def _rule_of(profile):
    from reclamation.services.rules import ensure_rule

    return ensure_rule(profile) if profile is not None else None


class ReclamationCandidateFactory(DjangoModelFactory):
    """An open candidate (Awaiting Approval) for a fresh seat; pass ``subscription=`` to raise
    it for a given seat, ``state=`` for another state. The rule is the profile's own."""

    class Meta:
        model = ReclamationCandidate
        skip_postgeneration_save = True

    subscription = factory.SubFactory(
        SoftwareSubscriptionFactory,
        last_activity_at=factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=90)),
    )
    profile = factory.SelfAttribute("subscription.profile")
    rule = factory.LazyAttribute(lambda o: _rule_of(o.profile))
    person = factory.SelfAttribute("subscription.person")
    user_principal_name = factory.SelfAttribute("subscription.user_principal_name")
    user_name = factory.LazyAttribute(lambda o: o.person.name if o.person else "")
    department = factory.LazyAttribute(lambda o: o.person.department if o.person else "")
    cost_center = factory.LazyAttribute(lambda o: o.person.cost_center if o.person else "")
    profile_name = factory.LazyAttribute(lambda o: o.profile.name)
    provider = factory.LazyAttribute(lambda o: o.profile.provider)
    rule_name = factory.LazyAttribute(lambda o: o.rule.name if o.rule else "")
    rule_snapshot = factory.LazyAttribute(lambda o: o.rule.snapshot() if o.rule else {})
    seat_kind = factory.SelfAttribute("subscription.kind")
    justification = ReclamationCandidate.Justification.LOW_USAGE
    last_activity_at = factory.SelfAttribute("subscription.last_activity_at")
    last_activity_source = factory.SelfAttribute("subscription.last_activity_source")
    potential_savings = 120
    currency = "USD"
    savings_known = True
    state = ReclamationCandidate.State.AWAITING_APPROVAL

    class Params:
        rich = factory.Trait(
            events=factory.RelatedFactoryList(
                "tests.factories.CandidateEventFactory", factory_related_name="candidate", size=2
            )
        )


class CandidateEventFactory(DjangoModelFactory):
    class Meta:
        model = CandidateEvent

    candidate = factory.SubFactory(ReclamationCandidateFactory)
    actor_label = "candidate identification"
    from_state = ""
    to_state = ReclamationCandidate.State.AWAITING_APPROVAL
    note = "Raised by rule: no activity for more than 60 days."


# -- licence positions ------------------------------------------------------------------------

from sam_saas.models import LicencePositionSnapshot  # noqa: E402


class LicencePositionSnapshotFactory(DjangoModelFactory):
    """A stored licence position (what reconciliation writes). Each has its own software
    model, so the (date, model, profile, currency) constraints never clash."""

    class Meta:
        model = LicencePositionSnapshot

    date = factory.LazyFunction(timezone.localdate)
    software_model = factory.SubFactory(SoftwareModelFactory)
    profile = None
    currency = "USD"
    status = LicencePositionSnapshot.Status.OVER_LICENSED
    purchased = 25
    assigned = 18
    pending = 2
    available = 5
    annual_unit_cost = "120.00"
    annual_spend = "3000.00"
    over_licensed_cost = "600.00"
    shortfall_cost = "0.00"
    stale = 4
    open_candidates = 3
    potential_savings = "360.00"

    class Params:
        rich = factory.Trait(profile=factory.SubFactory(IntegrationProfileFactory))
