"""What a flagged seat would save: the annual unit cost per software model, as constants in
the SQL that raises candidates (and in the rule preview's totals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models
from django.db.models import Case, ExpressionWrapper, Q, Value, When

from sam_saas import money
from sam_saas.models import Entitlement
from sam_saas.money import Cost


def entitlement_costs(profile_id: int | None, on: dt.date | None = None) -> dict[int, Cost]:
    """Annual unit cost per software model for a seat of ``profile_id``: the money module's
    one price (:func:`sam_saas.money.choose_price`), from the entitlements in force. One
    query; entitlements are few, so the costs then go into the SQL as constants instead of a
    correlated subquery per seat."""
    rows = Entitlement.objects.in_force(on).filter(
        Q(profile_id=profile_id) | Q(profile__isnull=True)
    )
    return money.prices_by_model(rows, profile_id)


def cost_expressions(costs: dict[int, Cost]) -> tuple:
    """(annual cost, currency, known) as SQL expressions over a subscription's model. A seat
    excluded from cost saves nothing: its saving is a known zero."""
    decimal = models.DecimalField(max_digits=12, decimal_places=2)
    excluded = Q(excluded_from_cost=True)
    zero = Value(Decimal("0"), output_field=decimal)
    if not costs:
        return (
            zero,
            Value("", output_field=models.CharField()),
            ExpressionWrapper(excluded, output_field=models.BooleanField()),
        )
    annual = Case(
        When(excluded, then=zero),
        *[When(software_model_id=m, then=Value(c.annual)) for m, c in costs.items()],
        default=zero,
        output_field=decimal,
    )
    currency = Case(
        When(excluded, then=Value("")),
        *[When(software_model_id=m, then=Value(c.currency)) for m, c in costs.items()],
        default=Value(""),
        output_field=models.CharField(),
    )
    # A CASE, not ``excluded OR software_model_id IN (…)``: for a seat with no software
    # model (an unrecognized identifier) the IN is NULL, and NULL breaks the NOT NULL column.
    known = Case(
        When(excluded | Q(software_model_id__in=list(costs)), then=Value(True)),
        default=Value(False),
        output_field=models.BooleanField(),
    )
    return annual, currency, known
