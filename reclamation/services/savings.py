"""Potential and freed savings, for the profile and rule pages.

Potential: open candidates. Freed: Closed Complete candidates. Both in annual unit cost, per
currency, with the seats of unknown cost counted apart (never as zero savings). Freed seats
save money only once the purchased seat count is lowered: reclaiming a seat does not cut the
vendor's bill by itself (ServiceNow counts it as saved anyway; we say so instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, Q, Sum, Value, When
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from sam_saas.money import Totals

from ..models import OPEN_STATES, ReclamationCandidate
from .wording import provider_label

State = ReclamationCandidate.State


@dataclass
class Amounts:
    """Candidates counted, and their savings per currency (:class:`sam_saas.money.Totals`)."""

    count: int = 0
    totals: Totals = field(default_factory=Totals)

    @property
    def by_currency(self) -> dict[str, Decimal]:
        return self.totals.by_currency

    @property
    def unknown(self) -> int:
        return self.totals.unknown

    @property
    def display(self) -> str:
        return self.totals.display("0")


@dataclass
class Savings:
    potential: Amounts
    freed: Amounts
    note: str


def in_cost() -> Q:
    """A candidate whose seat still counts in cost. A seat excluded from cost (by a rule
    saved after the candidate was raised) saves nothing, whatever the candidate recorded."""
    return ~Q(subscription__excluded_from_cost=True)


def add_candidate_group(totals: Totals, row: dict) -> None:
    """Add one grouped row of candidates (``n``, ``excluded`` of them excluded from cost,
    ``total`` the others' savings, ``currency``, ``savings_known``) to ``totals``: the one
    rule for summing candidates' savings, used here and by the licence position."""
    if row["savings_known"]:
        if row["currency"]:  # a known zero without a currency (excluded from cost) adds nothing
            totals.add(row["currency"], row["total"] or Decimal("0"))
    else:
        totals.unknown += row["n"] - row["excluded"]


def savings_note(provider: str = "") -> str:
    vendor = provider_label(provider) if provider else "the vendor"
    seats = f"Freed {provider_label(provider)} seats" if provider else "Freed seats"
    return (
        f"{seats} save money only once the purchased seat count is lowered with {vendor} "
        "(and in the entitlement); until then a freed seat can be reused instead of bought."
    )


def savings_for(profile=None, rule=None) -> Savings:
    """Savings of one profile's or one rule's candidates (all candidates when neither).
    One grouped query."""
    qs = ReclamationCandidate.objects.filter(state__in=[*OPEN_STATES, State.CLOSED_COMPLETE])
    if profile is not None:
        qs = qs.filter(profile=profile)
    if rule is not None:
        qs = qs.filter(rule=rule)
    rows = (
        qs.annotate(
            freed=Case(When(state=State.CLOSED_COMPLETE, then=Value(True)), default=Value(False))
        )
        .order_by()
        .values("freed", "currency", "savings_known")
        .annotate(
            n=Count("pk"),
            total=Sum("potential_savings", filter=in_cost()),
            excluded=Count("pk", filter=~in_cost()),
        )
    )
    potential, freed = Amounts(), Amounts()
    for row in rows:
        amounts = freed if row["freed"] else potential
        amounts.count += row["n"]
        add_candidate_group(amounts.totals, row)
    provider = getattr(profile, "provider", "") or getattr(
        getattr(rule, "profile", None), "provider", ""
    )
    return Savings(potential=potential, freed=freed, note=savings_note(provider))


def potential_total(candidates) -> Totals:
    """The potential saving of ``candidates`` (any queryset of them: the worklist's filtered
    rows, a selection), per currency, with the unknown ones counted apart. One grouped query,
    summed by the same rule as everywhere (:func:`add_candidate_group`)."""
    rows = (
        candidates.order_by()
        .values("currency", "savings_known")
        .annotate(
            n=Count("pk"),
            total=Sum("potential_savings", filter=in_cost()),
            excluded=Count("pk", filter=~in_cost()),
        )
    )
    totals = Totals()
    for row in rows:
        add_candidate_group(totals, row)
    return totals


def render_savings(profile=None, rule=None) -> SafeString:
    """The savings snippet (``reclamation/savings.html``) for a profile or rule page."""
    return render_to_string(
        "reclamation/savings.html", {"savings": savings_for(profile=profile, rule=rule)}
    )
