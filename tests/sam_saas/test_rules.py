"""Resolution and exclusion rules applied by the service the download calls."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sam_saas.models import (
    ConnectionAlias,
    IntegrationProfile,
    Person,
    SoftwareSubscription,
    SubscriptionIdentifier,
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from sam_saas.services.rules import RuleEngine, apply_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile():
    alias = ConnectionAlias.objects.create(name="rules-alias")
    return IntegrationProfile.objects.create(name="Acme", alias=alias, provider="calendly")


@pytest.fixture
def other_profile():
    alias = ConnectionAlias.objects.create(name="other-alias")
    return IntegrationProfile.objects.create(name="Other", alias=alias, provider="calendly")


def seat(profile, upn, role="user", identifier=None):
    return SoftwareSubscription.objects.create(
        profile=profile,
        user_principal_name=upn,
        external_seat_id=f"https://api.example/m/{upn}",
        role=role,
        identifier=identifier,
    )


def test_it_matches_people_by_email_case_insensitively(profile):
    ana = Person.objects.create(email="ana.lima@acme.example", name="Ana")
    sub = seat(profile, "Ana.Lima@ACME.example")
    result = apply_rules(profile)
    sub.refresh_from_db()
    assert sub.person == ana
    assert (result.examined, result.changed, result.unmatched) == (1, 1, 0)


def test_it_resolves_through_replace_domain_remove_domain_and_alias_rules(profile, other_profile):
    bo = Person.objects.create(email="bo@acme.example")
    cy = Person.objects.create(email="cy@hq.acme.example")
    di = Person.objects.create(email="diana.prince@acme.example")
    Person.objects.create(email="ed@acme.example")
    Person.objects.create(email="ed@other.example")  # makes "ed" ambiguous

    UserResolutionRule.objects.create(
        name="old domain",
        transform="replace_domain",
        match_domain="acme-old.example",
        new_domain="acme.example",
    )
    UserResolutionRule.objects.create(name="strip", transform="remove_domain")
    UserResolutionRule.objects.create(
        name="shared mailbox", transform="alias", alias_email="wonder@acme.example", person=di
    )
    only_other = UserResolutionRule.objects.create(
        name="only other", transform="replace_domain", new_domain="hq.acme.example"
    )
    only_other.profiles.add(other_profile)

    subs = {
        upn: seat(profile, upn)
        for upn in (
            "BO@acme-old.example",
            "cy@anything.example",
            "Wonder@acme.example",
            "ed@x.example",
        )
    }
    apply_rules(profile)
    got = {upn: SoftwareSubscription.objects.get(pk=s.pk).person_id for upn, s in subs.items()}
    assert got == {
        "BO@acme-old.example": bo.pk,  # replace domain
        "cy@anything.example": cy.pk,  # remove domain, unique local part
        "Wonder@acme.example": di.pk,  # alias
        "ed@x.example": None,  # ambiguous local part matches nobody
    }


def test_it_applies_identifier_exclusions_by_wildcard_and_profile(profile, other_profile):
    trial = SubscriptionIdentifier.objects.create(provider="calendly", value="calendly-trial")
    teams = SubscriptionIdentifier.objects.create(provider="calendly", value="calendly-teams")
    SubscriptionIdentifierExclusionRule.objects.create(pattern="calendly-tri*", reason="Free trial")
    SubscriptionIdentifierExclusionRule.objects.create(
        pattern="calendly-teams", profile=other_profile, reason="Paid centrally"
    )
    SubscriptionIdentifierExclusionRule.objects.create(
        pattern="*", reason="Expired rule", valid_until=timezone.now() - dt.timedelta(days=1)
    )
    a = seat(profile, "a@acme.example", identifier=trial)
    b = seat(profile, "b@acme.example", identifier=teams)
    apply_rules(profile)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.excluded_from_cost and "Free trial" in a.cost_exclusion_reason
    assert not a.excluded_from_reclamation
    assert not b.excluded_from_cost and b.cost_exclusion_reason == ""


def test_it_applies_user_exclusions_by_pattern_department_cost_center_and_role(profile):
    Person.objects.create(email="dev@acme.example", department="Engineering", cost_center="CC-1")
    Person.objects.create(email="fin@acme.example", department="Finance", cost_center="CC-9")
    SubscriptionUserExclusionRule.objects.create(
        email_pattern="*@contractors.example",
        exclude_from_cost=False,  # reclamation only (the default is both)
        exclude_from_reclamation=True,
        reason="Contractors",
    )
    SubscriptionUserExclusionRule.objects.create(
        department="engineering",
        exclude_from_cost=True,
        exclude_from_reclamation=False,
        reason="R&D budget",
    )
    SubscriptionUserExclusionRule.objects.create(
        cost_center="CC-9",
        role="admin",
        exclude_from_cost=False,
        exclude_from_reclamation=True,
        reason="Finance admins",
    )
    SubscriptionUserExclusionRule.objects.create(
        email_pattern="*", active=False, exclude_from_cost=True, reason="inactive rule"
    )
    contractor = seat(profile, "Zed@Contractors.example")
    dev = seat(profile, "dev@acme.example")
    fin_admin = seat(profile, "fin@acme.example", role="admin")
    apply_rules(profile)
    for s in (contractor, dev, fin_admin):
        s.refresh_from_db()
    assert (contractor.excluded_from_reclamation, contractor.excluded_from_cost) == (True, False)
    assert "Contractors" in contractor.reclamation_exclusion_reason
    assert (dev.excluded_from_cost, dev.excluded_from_reclamation) == (True, False)
    assert (
        fin_admin.excluded_from_reclamation
        and "Finance admins" in fin_admin.reclamation_exclusion_reason
    )


def test_it_clears_an_exclusion_when_its_rule_stops_applying(profile):
    rule = SubscriptionUserExclusionRule.objects.create(
        email_pattern="x@acme.example", exclude_from_reclamation=True, reason="VIP"
    )
    sub = seat(profile, "x@acme.example")
    apply_rules(profile)
    sub.refresh_from_db()
    assert sub.excluded_from_reclamation
    rule.valid_until = timezone.now() - dt.timedelta(seconds=1)
    rule.save()
    result = apply_rules(profile)
    sub.refresh_from_db()
    assert not sub.excluded_from_reclamation and sub.reclamation_exclusion_reason == ""
    assert result.changed == 1


def test_it_keeps_a_vendor_protection_alongside_rules(profile):
    engine = RuleEngine(profile)
    engine.prefetch(["owner@acme.example"])
    verdict = engine.judge("owner@acme.example", "owner", "calendly-teams", "Organization owner")
    assert verdict.excluded_from_reclamation
    assert verdict.reclamation_exclusion_reason == "Organization owner"


def test_re_judging_gives_the_vendor_protections_the_download_gives(profile):
    """The set-based re-judging takes the connector's protection as SQL; it must say what the
    connector's per-seat ``protection_reason`` says (here Calendly's owner and own account)."""
    from sam_saas.connectors import get_connector

    profile.alias.account_uri = "https://api.calendly.com/users/me"
    profile.alias.save()
    owner = seat(profile, "owner@acme.example", role="owner")
    me = seat(profile, "me@acme.example")
    me.external_user_id = "https://api.calendly.com/users/me"
    me.save()
    plain = seat(profile, "plain@acme.example")
    plain.external_user_id = "https://api.calendly.com/users/other"
    plain.save()

    result = apply_rules(profile)

    connector = get_connector("calendly")
    for sub in (owner, me, plain):
        sub.refresh_from_db()
        expected = connector.protection_reason(sub)
        assert sub.reclamation_exclusion_reason == expected
        assert sub.excluded_from_reclamation == bool(expected)
    assert owner.excluded_from_reclamation and me.excluded_from_reclamation
    assert not plain.excluded_from_reclamation
    assert result.changed == 2
    assert apply_rules(profile).changed == 0  # unchanged verdicts are not written again


def test_re_judging_joins_reasons_in_the_engines_words_and_order(profile):
    """Cost reasons: identifier rules, then user rules; reclamation reasons: user rules. The
    set-based judge and the download's engine give the same texts."""
    identifier = SubscriptionIdentifier.objects.create(provider="calendly", value="calendly-trial")
    SubscriptionIdentifierExclusionRule.objects.create(pattern="calendly-t?ial", reason="Trial")
    Person.objects.create(email="ana@acme.example", department="Sales", cost_center="C1")
    SubscriptionUserExclusionRule.objects.create(department="sales", reason="Sales pays")
    SubscriptionUserExclusionRule.objects.create(
        email_pattern="*@ACME.example",
        cost_center="c1",
        role="USER",
        reason="Contractors",
        exclude_from_cost=False,
    )
    sub = seat(profile, "Ana@acme.example", role="user", identifier=identifier)

    apply_rules(profile)

    sub.refresh_from_db()
    engine = RuleEngine(profile)
    engine.prefetch([sub.user_principal_name])
    verdict = engine.judge(sub.user_principal_name, sub.role, identifier.value)
    assert sub.person_id == verdict.person.id
    assert sub.cost_exclusion_reason == verdict.cost_exclusion_reason
    assert sub.reclamation_exclusion_reason == verdict.reclamation_exclusion_reason
    assert sub.cost_exclusion_reason == (
        "Identifier rule 'calendly-t?ial': Trial; User rule sales: Sales pays"
    )
    assert sub.reclamation_exclusion_reason == (
        "User rule sales: Sales pays; User rule *@ACME.example & c1 & role=USER: Contractors"
    )


def test_it_matches_a_page_of_seats_in_one_query(profile):
    for i in range(100):
        Person.objects.create(email=f"p{i}@acme.example")
    engine = RuleEngine(profile)
    upns = [f"P{i}@acme.example" for i in range(100)]
    with CaptureQueriesContext(connection) as queries:
        engine.prefetch(upns)
        matched = [engine.match_person(u) for u in upns]
    assert len(queries) == 1
    assert all(matched)


def test_re_judging_several_profiles_at_once_keeps_each_rule_to_its_profiles(
    profile, other_profile
):
    """All profiles go through one statement; a rule scoped to one profile must still judge
    only that profile's seats."""
    from sam_saas.services.rules import apply_rules_to

    Person.objects.create(email="bo@hq.example")
    scoped = UserResolutionRule.objects.create(
        name="hq only on Other", transform="replace_domain", new_domain="hq.example"
    )
    scoped.profiles.add(other_profile)
    trial = SubscriptionIdentifier.objects.create(provider="calendly", value="calendly-trial")
    SubscriptionIdentifierExclusionRule.objects.create(
        pattern="calendly-*", profile=profile, reason="Acme's trial"
    )
    acme = seat(profile, "bo@old.example", identifier=trial)
    other = seat(other_profile, "bo@old.example", identifier=trial)

    result = apply_rules_to([profile, other_profile])

    acme.refresh_from_db()
    other.refresh_from_db()
    assert acme.person_id is None and other.person.email == "bo@hq.example"
    assert acme.excluded_from_cost and acme.cost_exclusion_reason == (
        "Identifier rule 'calendly-*': Acme's trial"
    )
    assert not other.excluded_from_cost and other.cost_exclusion_reason == ""
    assert (result.examined, result.changed, result.unmatched) == (2, 2, 1)
