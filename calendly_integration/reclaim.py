"""Reclaim one subscription: remove the member, or revoke the pending invitation."""

from __future__ import annotations

from sam_saas.connectors import ReclaimOutcome
from sam_saas.models import SoftwareSubscription

from .connection import build_client
from .errors import Forbidden, InvalidGrant, InvalidRequest, NotFound, Unauthorized

# Shown on the confirmation page before a SAM manager approves removals.
EFFECT_TEXT = (
    "Removes the user from the Calendly organization (or revokes the pending invitation). "
    "The paid seat stays billed until you lower the seat count in Calendly Billing."
)


def reclaim_subscription(subscription: SoftwareSubscription) -> ReclaimOutcome:
    """Reference: https://developer.calendly.com/api-docs/269e89d9f559f-remove-user-from-organization
    and https://developer.calendly.com/api-docs/2f3ba3b6e7bb4-revoke-user-s-organization-invitation

    404 means someone already removed it. 400/403 (owner, self, SCIM, accepted invitation,
    missing scope) will not get better by retrying, so they are reported, not retried. Other
    Calendly errors (rate limit, 5xx, timeouts) leave as they are: the connector base turns
    them into a retryable ConnectorError."""
    client = build_client(subscription.profile)
    try:
        with client:
            if subscription.kind == SoftwareSubscription.Kind.INVITATION:
                client.revoke_invitation(subscription.external_seat_id)
            else:
                client.remove_membership(subscription.external_seat_id)
    except NotFound:
        return ReclaimOutcome(
            ReclaimOutcome.Result.ALREADY_GONE,
            message="Calendly no longer has this seat (404): it was already removed.",
        )
    except (Forbidden, InvalidRequest, Unauthorized, InvalidGrant) as exc:
        return ReclaimOutcome(
            ReclaimOutcome.Result.REFUSED, message=exc.message or str(exc), hint=exc.hint
        )
    return ReclaimOutcome(ReclaimOutcome.Result.REMOVED, message="Removed in Calendly.")
