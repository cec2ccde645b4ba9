"""Potential and freed savings, for the profile and rule pages.

Potential: open candidates. Freed: Closed Complete candidates. Both in annual unit cost, per
currency, with the seats of unknown cost counted apart (never as zero savings). Freed seats
save money only once the purchased seat count is lowered: reclaiming a seat does not cut the
vendor's bill by itself (ServiceNow counts it as saved anyway; we say so instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, Sum, Value, When
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from ..models import OPEN_STATES, ReclamationCandidate
from .workflow import provider_label

State = ReclamationCandidate.State


@dataclass
class Amounts:
    count: int = 0
    by_currency: dict[str, Decimal] = field(default_factory=dict)
    unknown: int = 0

    @property
    def display(self) -> str:
        parts = [f"{a:,.2f} {c}" for c, a in sorted(self.by_currency.items())]
        text = ", ".join(parts) or "0"
        if self.unknown:
            text += f" (+ {self.unknown} seat{'s' if self.unknown != 1 else ''} of unknown cost)"
        return text


@dataclass
class Savings:
    potential: Amounts
    freed: Amounts
    note: str


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
        .annotate(n=Count("pk"), total=Sum("potential_savings"))
    )
    potential, freed = Amounts(), Amounts()
    for row in rows:
        amounts = freed if row["freed"] else potential
        amounts.count += row["n"]
        if not row["savings_known"]:
            amounts.unknown += row["n"]
            continue
        currency = row["currency"] or "?"
        amounts.by_currency[currency] = amounts.by_currency.get(currency, Decimal("0")) + (
            row["total"] or Decimal("0")
        )
    provider = getattr(profile, "provider", "") or getattr(
        getattr(rule, "profile", None), "provider", ""
    )
    return Savings(potential=potential, freed=freed, note=savings_note(provider))


def render_savings(profile=None, rule=None) -> SafeString:
    """The savings snippet (``reclamation/savings.html``) for a profile or rule page."""
    return render_to_string(
        "reclamation/savings.html", {"savings": savings_for(profile=profile, rule=rule)}
    )
