"""The one way a candidate changes state: a compare-and-set UPDATE plus an event row.

``UPDATE ... SET state = new, previous_state = state, last_transition = token WHERE pk IN (...)
AND state IN (from_states)``: the database decides which rows move, so two admins approving the
same candidates, a double click or a retried task move each row at most once. The same token
then selects the moved rows to write their events with one ``INSERT ... SELECT``, which is why
events are written set-based whatever the number of candidates. (Signals would not help: they
do not see ``update()``.)
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from django.db import models, transaction
from django.db.models import F, Q, Value
from django.utils import timezone

from sam_saas.services import figures as stored_figures

from ..models import CLOSED_STATES, CandidateEvent, ReclamationCandidate
from .sql import insert_from_select
from .stored_preview import RULE_PREVIEW
from .wording import state_labels

State = ReclamationCandidate.State

# A reclaim task that has held its claim this long is presumed dead (its worker was killed);
# the claim may then be taken over. Far longer than one vendor API call.
CLAIM_LEASE = dt.timedelta(minutes=15)

SYSTEM = "system"


def actor_label(actor) -> str:
    if actor is None:
        return SYSTEM
    return actor.get_username() if hasattr(actor, "get_username") else str(actor)


# A candidate moved: the dashboard's savings and stale-seat figures and the stored rule
# preview (its new-candidate counts) of its profile are out of date.
STALE_FIGURES = (stored_figures.SAVINGS, stored_figures.STALE_REASONS, RULE_PREVIEW)


def unclaimed(now: dt.datetime | None = None) -> Q:
    """Candidates no reclaim task is working on right now (or whose claim has expired)."""
    now = now or timezone.now()
    return Q(reclaim_started_at__isnull=True) | Q(reclaim_started_at__lt=now - CLAIM_LEASE)


def transition(
    candidates: Iterable[int] | models.QuerySet,
    from_states: Iterable[str],
    to_state: str,
    actor=None,
    note: str = "",
    *,
    label: str = "",
    updates: dict | None = None,
    condition: Q | None = None,
    claimed: bool = False,
) -> list[int]:
    """Move every candidate of ``candidates`` (ids, or a queryset) that is in one of
    ``from_states`` to ``to_state``, and write one event per moved candidate. Returns the ids
    that moved; the others were not in a ``from_states`` state any more (or are being
    reclaimed) and are left alone.

    ``actor`` is the user acting (None: the system, described by ``label``); ``updates`` are
    more columns to set in the same UPDATE; ``condition`` narrows the compare-and-set (the
    e-mail link's nonce, for example). Candidates claimed by a running reclaim task are only
    moved by that task (``claimed=True``): nobody closes a candidate while its seat is being
    removed."""
    now = timezone.now()
    token = uuid.uuid4()
    if isinstance(candidates, models.QuerySet):
        # Filtered as given, not through ``pk IN (SELECT ...)`` of the same table: the
        # database then plans one UPDATE over the set, whatever its size.
        qs = candidates.filter(state__in=list(from_states))
    else:
        ids = list(candidates)
        if not ids:
            return []
        qs = ReclamationCandidate.objects.filter(pk__in=ids, state__in=list(from_states))
    if condition is not None:
        qs = qs.filter(condition)
    if not claimed:
        qs = qs.filter(unclaimed(now))

    fields = {
        "previous_state": F("state"),
        "state": to_state,
        "state_changed_at": now,
        "last_transition": token,
        **(updates or {}),
    }
    if to_state in CLOSED_STATES:
        fields.setdefault("closed_at", now)
        fields["reclaim_started_at"] = None

    with transaction.atomic():
        if not qs.update(**fields):
            return []
        moved = ReclamationCandidate.objects.filter(last_transition=token)
        event = {
            "candidate": F("pk"),
            "at": Value(now, output_field=models.DateTimeField()),
            "actor_label": Value(
                (label or actor_label(actor))[:150], output_field=models.CharField()
            ),
            "from_state": F("previous_state"),
            "to_state": F("state"),
            "note": Value(note, output_field=models.TextField()),
        }
        if getattr(actor, "pk", None) is not None:
            event["actor"] = Value(actor.pk, output_field=models.IntegerField())
        insert_from_select(CandidateEvent, moved, event)
        found = list(moved.values_list("pk", "profile_id"))
    stored_figures.outdate_after_commit(STALE_FIGURES, {profile for _, profile in found})
    return sorted(pk for pk, _ in found)


def record(candidate_id: int, note: str, actor=None, *, label: str = "") -> None:
    """An event that is not a transition (a note on the trail, e.g. a retry scheduled)."""
    state = (
        ReclamationCandidate.objects.filter(pk=candidate_id).values_list("state", flat=True).first()
    )
    if state is None:
        return
    CandidateEvent.objects.create(
        candidate_id=candidate_id,
        actor=actor,
        actor_label=(label or actor_label(actor))[:150],
        from_state=state,
        to_state=state,
        note=note,
    )


def explain_skipped(ids: Iterable[int], done: Iterable[int], allowed: Iterable[str]) -> dict:
    """Why each of ``ids`` not in ``done`` did not move: one query."""
    allowed = tuple(allowed)
    rest = set(ids) - set(done)
    if not rest:
        return {}
    now = timezone.now()
    found = {
        pk: (state, claim)
        for pk, state, claim in ReclamationCandidate.objects.filter(pk__in=rest).values_list(
            "pk", "state", "reclaim_started_at"
        )
    }
    reasons = {}
    for pk in sorted(rest):
        if pk not in found:
            reasons[pk] = "it no longer exists."
            continue
        state, claim = found[pk]
        if claim and claim > now - CLAIM_LEASE and state == State.AWAITING_REVOCATION:
            reasons[pk] = "its seat is being removed right now."
        elif state not in allowed:
            reasons[pk] = (
                f"it is {State(state).label}; only {state_labels(allowed)} candidates qualify."
            )
        else:
            reasons[pk] = "someone else changed it at the same time."
    return reasons
