"""The candidate actions, each defined once: its title, the states it starts from, who may
run it, whether it takes a reason, what the confirmation page says it will do to each
candidate, and the workflow function it runs.

The admin's list actions, the buttons on a candidate's page (through the same confirmation
page) and the pages behind the e-mail links are all built from these definitions, so an
action cannot be offered where it does not apply or described differently from what it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..models import ReclamationCandidate
from . import answers, steps, workflow
from .wording import state_labels

State = ReclamationCandidate.State
Answer = ReclamationCandidate.UserResponse

# Who may run an action: the model permissions of the admin ("approve" is the custom
# approve_reclamationcandidate permission), or the holder of a signed e-mail link.
APPROVE = "approve"
CHANGE = "change"
LINK = "link"

OPTIONAL = "optional"
REQUIRED = "required"


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    button: str
    from_states: tuple[str, ...]
    permission: str
    outcome: Callable[[ReclamationCandidate], str]
    # Admin actions: run(ids, actor, reason) → steps.ActionResult.
    # Link answers: run(candidate_id, nonce) → bool (False: the link lost a race).
    run: Callable
    reason: str = ""
    menu: str = ""  # the label in the admin's action menu
    removes_seat: bool = False  # the confirmation page says what removing does at the vendor
    condition: Callable[[ReclamationCandidate], bool] | None = None
    done: str = ""  # link answers: the page after acting

    def applies_to(self, candidate: ReclamationCandidate) -> bool:
        return candidate.state in self.from_states and (
            self.condition is None or self.condition(candidate)
        )

    def describe(self, candidate: ReclamationCandidate) -> str:
        """What the action will do to ``candidate``, for the confirmation page."""
        if not self.applies_to(candidate):
            return (
                f"Skipped: it is {candidate.get_state_display()}; only "
                f"{state_labels(self.from_states)} candidates qualify."
            )
        return self.outcome(candidate)


def _kept(candidate: ReclamationCandidate) -> bool:
    return candidate.user_response == Answer.KEEP


ADMIN_ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            name="approve",
            title="Approve reclamation",
            button="Approve",
            menu="Approve selected candidates…",
            from_states=workflow.APPROVABLE,
            permission=APPROVE,
            reason=OPTIONAL,
            removes_seat=True,
            outcome=steps.next_step_text,
            run=lambda ids, actor, reason: workflow.approve(ids, actor, note=reason),
        ),
        Action(
            name="reject",
            title="Reject reclamation",
            button="Reject",
            menu="Reject selected candidates (with reason)…",
            from_states=workflow.REJECTABLE,
            permission=APPROVE,
            reason=REQUIRED,
            outcome=workflow.reject_text,
            run=lambda ids, actor, reason: workflow.reject(ids, actor, reason),
        ),
        Action(
            name="reclaim_now",
            title="Reclaim now",
            button="Reclaim now",
            menu="Reclaim now…",
            from_states=workflow.RECLAIMABLE_NOW,
            permission=CHANGE,
            reason=OPTIONAL,
            removes_seat=True,
            outcome=steps.revocation_text,
            run=lambda ids, actor, reason: workflow.reclaim_now(ids, actor, note=reason),
        ),
        Action(
            name="retry",
            title="Retry",
            button="Retry",
            menu="Retry what needed attention…",
            from_states=workflow.RETRYABLE,
            permission=CHANGE,
            reason=OPTIONAL,
            removes_seat=True,
            outcome=workflow.retry_text,
            run=lambda ids, actor, reason: workflow.retry(ids, actor, note=reason),
        ),
        Action(
            name="close_complete",
            title="Close complete (removed by hand)",
            button="Close complete",
            menu="Close complete (removed by hand)…",
            from_states=workflow.CLOSABLE_BY_HAND,
            permission=CHANGE,
            reason=OPTIONAL,
            outcome=lambda c: (
                "→ Closed Complete: recorded as removed by hand; the subscription becomes "
                "reclaimed."
            ),
            run=lambda ids, actor, reason: workflow.close_complete(ids, actor, note=reason),
        ),
        Action(
            name="close_skipped",
            title="Close skipped",
            button="Close skipped",
            menu="Close skipped…",
            from_states=workflow.SKIPPABLE,
            permission=CHANGE,
            reason=OPTIONAL,
            outcome=lambda c: "→ Closed Skipped: the seat is kept.",
            run=lambda ids, actor, reason: workflow.close_skipped(ids, actor, note=reason),
        ),
        Action(
            name="exclude_user",
            title="Exclude this user",
            button="Exclude this user",
            menu="Exclude the users from reclamation (with reason)…",
            from_states=workflow.EXCLUDABLE,
            permission=CHANGE,
            reason=REQUIRED,
            outcome=lambda c: (
                f"→ Closed Skipped with your reason, and a user exclusion rule for "
                f"{c.user_principal_name} keeps the seat out of reclamation from now on."
            ),
            run=lambda ids, actor, reason: workflow.exclude_user(ids, actor, reason),
        ),
    )
}


LINK_ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            name=Answer.KEEP,
            title="Keep your seat",
            button="I still need it",
            from_states=(State.AWAITING_USER,),
            permission=LINK,
            outcome=lambda c: (
                "Confirm that you still need this seat. It is not removed unless your manager "
                "(or, without one, a SAM approver) approves the removal."
            ),
            run=answers.user_keeps,
            done="Thank you. Your seat is kept for now; your manager has been asked to confirm.",
        ),
        Action(
            name=Answer.RELEASE,
            title="Release your seat",
            button="Release it",
            from_states=(State.AWAITING_USER,),
            permission=LINK,
            outcome=lambda c: "Confirm that you no longer need this seat, and it will be removed.",
            run=answers.user_releases,
            done="Thank you. Your seat will be removed shortly.",
        ),
        Action(
            name="approve",
            title="Approve the removal",
            button="Approve the removal",
            from_states=(State.AWAITING_APPROVAL,),
            permission=LINK,
            condition=_kept,
            outcome=lambda c: (
                f"{c.user_name or c.user_principal_name} asked to keep this seat. Approve its "
                "removal, and it will be removed shortly."
            ),
            run=answers.manager_approves,
            done="Thank you. The seat will be removed shortly.",
        ),
        Action(
            name="decline",
            title="Decline the removal",
            button="Decline: keep the seat",
            from_states=(State.AWAITING_APPROVAL,),
            permission=LINK,
            condition=_kept,
            outcome=lambda c: (
                f"{c.user_name or c.user_principal_name} asked to keep this seat. Decline the "
                "removal, and the seat is kept (not proposed again for a while)."
            ),
            run=answers.manager_declines,
            done="Thank you. The seat is kept.",
        ),
    )
}
