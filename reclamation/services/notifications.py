"""E-mailing the seat holder (and, after a keep, their manager), and the signed links of
their answers.

A link is ``TimestampSigner``-signed (so it cannot be forged), expires after the rule's days
(so an old mail cannot keep a seat forever), and carries the candidate's ``last_transition``
as a nonce: it works only while the candidate is still in the Awaiting User transition that
sent it, so a used link, or one from an earlier notification, is refused. The pages behind it
need no login, and a GET never changes anything (mail scanners prefetch links). The manager's
approve and decline links are of the same design; which answers exist, from which states and
what they do is defined once in ``actions.LINK_ACTIONS``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from sam_saas.connectors import provider_label

from ..models import ReclamationCandidate
from .transitions import record, transition

logger = logging.getLogger(__name__)

State = ReclamationCandidate.State
Cause = ReclamationCandidate.AttentionCause
Answer = ReclamationCandidate.UserResponse
SALT = "reclamation.user-answer"


class LinkError(Exception):
    status = 400
    title = "This link is not valid"


class LinkInvalid(LinkError):
    pass


class LinkExpired(LinkError):
    status = 410
    title = "This link has expired"


class LinkUsed(LinkError):
    status = 409
    title = "This link was already used"


@dataclass(frozen=True)
class Link:
    candidate_id: int
    nonce: str
    answer: str
    days: int


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_token(candidate_id: int, nonce, answer: str, days: int) -> str:
    return _signer().sign_object({"c": candidate_id, "n": str(nonce), "a": answer, "d": days})


def read_token(token: str) -> Link:
    """Check signature and age. Raises :class:`LinkInvalid` or :class:`LinkExpired`."""
    signer = _signer()
    try:
        data = signer.unsign_object(token)
    except signing.BadSignature:
        raise LinkInvalid("The link is damaged or was not issued by us.") from None
    try:
        link = Link(int(data["c"]), str(uuid.UUID(data["n"])), str(data["a"]), int(data["d"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise LinkInvalid("The link is damaged.") from None
    try:
        # The days travel in the signed payload, so a second unsign enforces them.
        signer.unsign_object(token, max_age=dt.timedelta(days=link.days))
    except signing.SignatureExpired:
        raise LinkExpired(
            "The time to answer has passed; the seat is being reclaimed as announced."
        ) from None
    return link


def current_candidate(link: Link, from_states) -> ReclamationCandidate:
    """The candidate the link may still answer for (in one of the answer's ``from_states``,
    still in the transition that sent the link). Raises :class:`LinkUsed` otherwise."""
    candidate = (
        ReclamationCandidate.objects.filter(
            pk=link.candidate_id, state__in=list(from_states), last_transition=link.nonce
        )
        .only(
            "pk",
            "user_principal_name",
            "user_name",
            "profile_name",
            "provider",
            "respond_by",
            "justification",
            "last_activity_at",
            "user_response",
        )
        .first()
    )
    if candidate is None:
        raise LinkUsed("This request was already answered or has been closed.")
    return candidate


def public_url(path: str) -> str:
    """Absolute URL for e-mails, which are sent outside any request (daily job, tasks)."""
    base = settings.SAM_SETTINGS.get("PUBLIC_BASE_URL") or "http://localhost:8000"
    return base.rstrip("/") + path


def answer_url(candidate: ReclamationCandidate, answer: str, days: int) -> str:
    token = make_token(candidate.pk, candidate.last_transition, answer, days)
    return public_url(reverse("reclamation:answer", args=[token]))


def build_message(candidate: ReclamationCandidate) -> EmailMessage:
    days = int((candidate.rule_snapshot or {}).get("days_before_reclaim", 7))
    context = {
        "candidate": candidate,
        "vendor": provider_label(candidate.provider),
        "days": days,
        "keep_url": answer_url(candidate, Answer.KEEP, days),
        "release_url": answer_url(candidate, Answer.RELEASE, days),
    }
    recipient = recipient_of(candidate)
    return EmailMessage(
        subject=f"Do you still need your {context['vendor']} seat?",
        body=render_to_string("reclamation/email/notify_user.txt", context),
        to=[recipient],
    )


class BadAddress(ValueError):
    """The recipient is not exactly one e-mail address."""


def recipient_of(candidate: ReclamationCandidate) -> str:
    """The one address the notification goes to: the person's, else the seat's. Refused when
    it holds a line break (header injection), several addresses (a comma) or no valid one."""
    address = candidate.person.email if candidate.person_id else candidate.user_principal_name
    return valid_address(address)


def valid_address(address: str) -> str:
    """``address`` when it is exactly one e-mail address without a line break."""
    address = address or ""
    if "\r" in address or "\n" in address:
        raise BadAddress("the address contains a line break")
    address = address.strip()
    try:
        validate_email(address)
    except ValidationError:
        raise BadAddress("it is not exactly one valid e-mail address") from None
    return address


def send(candidate_ids: list[int]) -> int:
    """E-mail the seat holders of candidates now Awaiting User: one message per recipient,
    over one SMTP connection. A candidate whose address is refused, or whose message cannot
    be sent, goes to Attention Required, not silently to reclamation (the deadline would run
    while nobody was asked); the others' mails, and their links, are unaffected."""
    candidates = list(
        ReclamationCandidate.objects.filter(pk__in=candidate_ids, state=State.AWAITING_USER)
        .select_related("person")
        .order_by("pk")
    )
    if not candidates:
        return 0
    sent = 0
    connection = get_connection()
    try:
        for candidate in candidates:
            try:
                message = build_message(candidate)
                sent += connection.send_messages([message]) or 0
            except BadAddress as exc:
                _not_sent(
                    candidate,
                    f"The e-mail to the user was not sent: {exc}.",
                    "Correct the e-mail address of the person (or of the seat), then use "
                    "“Retry”, or “Reclaim now” or “Close skipped”.",
                )
            except Exception as exc:
                logger.exception("could not e-mail the seat holder of candidate %s", candidate.pk)
                _not_sent(
                    candidate,
                    f"The e-mail to the user could not be sent: {exc}",
                    "Check the e-mail settings (EMAIL_URL), then use “Retry” to send it "
                    "again, or “Reclaim now” or “Close skipped”.",
                )
                connection.close()  # the next message opens a fresh connection
    finally:
        connection.close()
    return sent


def _not_sent(candidate: ReclamationCandidate, message: str, hint: str) -> None:
    # Only the transition that sent this mail is failed; a later one is left alone.
    transition(
        [candidate.pk],
        [State.AWAITING_USER],
        State.ATTENTION_REQUIRED,
        None,
        message,
        label="notification",
        condition=Q(last_transition=candidate.last_transition),
        updates={"message": message, "hint": hint, "attention_cause": Cause.NOTIFY_FAILED},
    )


# -- the manager, after "I still need it" ------------------------------------------------------


def build_manager_message(candidate: ReclamationCandidate) -> EmailMessage:
    days = int((candidate.rule_snapshot or {}).get("days_before_reclaim", 7))
    context = {
        "candidate": candidate,
        "vendor": provider_label(candidate.provider),
        "days": days,
        "approve_url": answer_url(candidate, "approve", days),
        "decline_url": answer_url(candidate, "decline", days),
    }
    return EmailMessage(
        subject=f"{candidate.user_name or candidate.user_principal_name} wants to keep "
        f"their {context['vendor']} seat",
        body=render_to_string("reclamation/email/ask_manager.txt", context),
        to=[valid_address(candidate.manager_email)],
    )


def send_to_manager(candidate_id: int) -> int:
    """E-mail the manager of a kept seat the approve and decline links. When the mail cannot
    be sent the candidate stays Awaiting Approval and says so: the SAM approvers decide."""
    candidate = ReclamationCandidate.objects.filter(
        pk=candidate_id, state=State.AWAITING_APPROVAL
    ).first()
    if candidate is None or not candidate.manager_email:
        return 0
    try:
        return build_manager_message(candidate).send() or 0
    except Exception as exc:
        logger.exception("could not e-mail the manager of candidate %s", candidate_id)
        text = (
            f"The e-mail to the manager {candidate.manager_email} could not be sent: {exc}. "
            "A SAM approver decides in the admin."
        )
        ReclamationCandidate.objects.filter(
            pk=candidate_id, last_transition=candidate.last_transition
        ).update(message=text)
        record(candidate_id, text, label="notification")
        return 0


def approvers_emails() -> list[str]:
    """The SAM approvers' e-mails: active users holding the approve permission through a
    group or directly (superusers are not mailed for every candidate)."""
    from django.contrib.auth import get_user_model

    q = Q(
        groups__permissions__codename="approve_reclamationcandidate",
        groups__permissions__content_type__app_label="reclamation",
    ) | Q(
        user_permissions__codename="approve_reclamationcandidate",
        user_permissions__content_type__app_label="reclamation",
    )
    users = get_user_model().objects.filter(q, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def tell_approvers(candidate_id: int) -> int:
    """A kept seat whose holder has no manager: tell the SAM approvers it waits for them.

    One message per approver, as for the seat holders: an approver's address is validated on
    its own (a line break or a second address is skipped and logged), and one refused or
    failing address does not keep the message from the others. Returns the messages sent."""
    candidate = ReclamationCandidate.objects.filter(
        pk=candidate_id, state=State.AWAITING_APPROVAL
    ).first()
    if candidate is None:
        return 0
    recipients = []
    for address in approvers_emails():
        try:
            recipients.append(valid_address(address))
        except BadAddress as exc:
            logger.warning(
                "not telling approver %r about candidate %s: %s", address, candidate_id, exc
            )
    if not recipients:
        return 0
    context = {
        "candidate": candidate,
        "vendor": provider_label(candidate.provider),
        "admin_url": public_url(
            reverse("admin:reclamation_reclamationcandidate_change", args=[candidate.pk])
        ),
    }
    subject = f"A {context['vendor']} seat kept by its user waits for your decision"
    body = render_to_string("reclamation/email/tell_approvers.txt", context)
    sent = 0
    with get_connection() as connection:
        for address in recipients:
            message = EmailMessage(subject=subject, body=body, to=[address], connection=connection)
            try:
                sent += message.send() or 0
            except Exception:
                logger.exception(
                    "could not tell the SAM approver %s about candidate %s", address, candidate_id
                )
    return sent
