"""The seats of the benchmark data set and what they point at: entitlements, people with
departments, managers and leavers, and the subscriptions themselves, each one
``INSERT … SELECT generate_series`` (see :mod:`.data` for the whole picture)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sam_saas.models import Entitlement, Person, SoftwareSubscription

from .naming import DEPARTMENTS, DOMAIN, PREFIX, sql_array, sql_text_array
from .sql import execute, insert_select, scalar

Sub = SoftwareSubscription


def entitlements(models_, profiles, total: int, today: dt.date) -> None:
    Entitlement.objects.bulk_create(
        [
            Entitlement(
                software_model=models_[0],
                purchased_rights=int(total * 0.55),
                unit_cost=Decimal("120.00"),
                currency="USD",
                cost_center="CC-SALES",
                start_date=today - dt.timedelta(days=200),
                contract_reference=f"{PREFIX}-PO-1",
            ),
            Entitlement(
                software_model=models_[1],
                purchased_rights=int(total * 0.3),
                unit_cost=Decimal("8.00"),
                period=Entitlement.Period.MONTHLY,
                currency="EUR",
                cost_center="CC-ENG",
                start_date=today - dt.timedelta(days=320),
                end_date=today + dt.timedelta(days=45),
                contract_reference=f"{PREFIX}-PO-2",
            ),
            *(
                Entitlement(
                    software_model=models_[2],
                    profile=profile,
                    purchased_rights=max(1, total // 100),
                    unit_cost=Decimal("240.00"),
                    currency="USD",
                    cost_center="CC-EXEC",
                    start_date=today - dt.timedelta(days=100),
                    contract_reference=f"{PREFIX}-PO-3-{n}",
                )
                for n, profile in enumerate(profiles)
            ),
        ]
    )


def people(count: int, now: dt.datetime) -> tuple[int, int]:
    """``count`` people; returns (first id, count). Every 25th person manages the next 24."""
    insert_select(
        Person,
        {
            "email": f"'p' || g || '@{DOMAIN}'",
            "name": "'Person ' || g",
            "department": f"({sql_text_array(DEPARTMENTS)})[g % {len(DEPARTMENTS)} + 1]",
            "cost_center": "'CC-' || lpad((g % 20)::text, 2, '0')",
            "active": "g % 40 <> 39",
            "created_at": "now() - (g % 700) * interval '1 day'",
        },
        "generate_series(0::bigint, %s) AS g",
        [count - 1],
    )
    first = scalar("SELECT min(id) FROM sam_saas_person WHERE email LIKE %s", [f"%@{DOMAIN}"])
    last = scalar("SELECT max(id) FROM sam_saas_person WHERE email LIKE %s", [f"%@{DOMAIN}"])
    if last - first + 1 == count:  # one statement gave consecutive ids: managers by arithmetic
        execute(
            "UPDATE sam_saas_person SET manager_id = %s + ((id - %s) / 25) * 25 "
            "WHERE id BETWEEN %s AND %s AND (id - %s) %% 25 <> 0",
            [first, first, first, last, first],
        )
    return first, count


def subscriptions(total, profiles, models_, identifiers, unknown, people, now) -> None:
    """Seat g belongs to profile g % 8; seats 2k and 2k+1 are the same person's, in two
    profiles. Hash-like arithmetic (g * prime % m) spreads ages without randomness, so two
    builds of the same size are identical."""
    first_person, people_count = people
    p = len(profiles)
    model_of = "(CASE WHEN g % 10 < 6 THEN 1 WHEN g % 10 < 9 THEN 2 ELSE 3 END)"
    insert_select(
        Sub,
        {
            "profile_id": f"({sql_array(pr.pk for pr in profiles)})[g % {p} + 1]",
            "software_model_id": (
                f"CASE WHEN g % 50 = 49 THEN NULL "
                f"ELSE ({sql_array(m.pk for m in models_)})[{model_of}] END"
            ),
            "identifier_id": (
                f"CASE WHEN g % 50 = 49 THEN {int(unknown.pk)} "
                f"ELSE ({sql_array(i.pk for i in identifiers)})[{model_of}] END"
            ),
            "person_id": (
                f"CASE WHEN g % 20 = 7 THEN NULL "
                f"ELSE {int(first_person)} + (g / 2) % {int(people_count)} END"
            ),
            "user_principal_name": (
                f"CASE WHEN g % 20 = 7 THEN 'ext' || g || '@elsewhere.{DOMAIN}' "
                f"WHEN g % 97 = 5 THEN '=cmd' || g || '@{DOMAIN}' "
                f"ELSE 'p' || ((g / 2) % {int(people_count)}) || '@{DOMAIN}' END"
            ),
            "user_name": "CASE WHEN g % 97 = 3 THEN '=User ' || g ELSE 'User ' || g END",
            "external_user_id": f"'https://api.calendly.com/users/{PREFIX}-' || g",
            "external_seat_id": (
                f"CASE WHEN g % 20 = 0 "
                f"THEN 'https://api.calendly.com/organizations/x/invitations/{PREFIX}-' || g "
                f"ELSE 'https://api.calendly.com/organization_memberships/{PREFIX}-' || g END"
            ),
            "kind": "CASE WHEN g % 20 = 0 THEN 'invitation' ELSE 'member' END",
            "role": f"CASE WHEN g < {p} THEN 'owner' WHEN g % 50 = 1 THEN 'admin' ELSE 'user' END",
            "status": (
                "CASE WHEN g % 20 = 0 THEN 'pending' WHEN g % 33 = 1 THEN 'removed' "
                "WHEN g % 97 = 2 THEN 'reclaimed' ELSE 'active' END"
            ),
            "external_created_at": "now() - ((g * 37) % 900 + 5) * interval '1 day'",
            "first_seen_at": "now() - ((g * 13) % 300) * interval '1 day'",
            "last_seen_at": "now()",
            "last_activity_at": (
                "CASE WHEN g % 20 = 0 OR g % 13 = 0 THEN NULL "
                "ELSE now() - ((g * 7919) % 240) * interval '1 day' "
                "- (g % 24) * interval '1 hour' END"
            ),
            "last_activity_source": (
                "CASE WHEN g % 20 = 0 OR g % 13 = 0 THEN '' "
                "WHEN g % 3 = 0 THEN 'activity_log' ELSE 'scheduled_events' END"
            ),
            "excluded_from_cost": "g % 100 = 3",
            "cost_exclusion_reason": "CASE WHEN g % 100 = 3 THEN 'Service account' ELSE '' END",
            "excluded_from_reclamation": "g % 101 = 4",
            "reclamation_exclusion_reason": (
                "CASE WHEN g % 101 = 4 THEN 'Executive assistant' ELSE '' END"
            ),
            "updated_at": "now()",
        },
        "generate_series(0::bigint, %s) AS g",
        [total - 1],
    )
