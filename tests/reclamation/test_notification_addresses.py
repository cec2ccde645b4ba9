"""Finding 4 of issue 11: one bad address must not fail a whole notification batch.

An address holding CR/LF or a comma made every candidate of the batch go to Attention
Required, including those whose mail had been delivered (whose links then died). Now each
recipient gets a message of their own, each address is checked (exactly one address, no line
break), and a failure affects only its own candidate."""

import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.test import override_settings

from reclamation.models import ReclamationCandidate
from reclamation.services import notifications, workflow
from reclamation.services.rules import ensure_rule
from tests import factories

from .conftest import candidate, seat

State = ReclamationCandidate.State
pytestmark = pytest.mark.django_db

REFUSING = "refused@mail.example"


class RefusingOneRecipient(EmailBackend):
    """The in-memory outbox, except that the server refuses one recipient."""

    def send_messages(self, messages):
        for message in messages:
            if REFUSING in message.to:
                raise smtplib.SMTPRecipientsRefused({REFUSING: (550, b"no such user")})
        return super().send_messages(messages)


def holder(profile, email):
    person = factories.PersonFactory(email=email)
    return candidate(profile, subscription=seat(profile, person=person, user_principal_name=email))


@override_settings(
    EMAIL_BACKEND="tests.reclamation.test_notification_addresses.RefusingOneRecipient"
)
def test_a_bad_or_refused_address_fails_only_its_own_candidate(
    profile, django_capture_on_commit_callbacks
):
    rule = ensure_rule(profile)
    rule.notify_user = True
    rule.save()
    good = [holder(profile, f"good{n}@acme.example") for n in range(3)]
    injected = holder(profile, "victim@acme.example\r\nBcc: everyone@evil.example")
    several = holder(profile, "victim@acme.example, spy@evil.example")
    refused = holder(profile, REFUSING)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([c.pk for c in [*good, injected, several, refused]], None)

    assert sorted(m.to[0] for m in mail.outbox) == [c.person.email for c in good]
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mail.outbox)
    assert "evil.example" not in "".join(m.message().as_string() for m in mail.outbox)
    for c in good:
        c.refresh_from_db()
        assert c.state == State.AWAITING_USER  # their links still work
    for c, why in (
        (injected, "line break"),
        (several, "not exactly one valid e-mail address"),
        (refused, "could not be sent"),
    ):
        c.refresh_from_db()
        assert c.state == State.ATTENTION_REQUIRED, c.person.email
        assert why in c.message


def test_each_sam_approver_gets_a_message_of_their_own_and_a_bad_address_is_skipped():
    candidate = factories.ReclamationCandidateFactory(
        state=ReclamationCandidate.State.AWAITING_APPROVAL
    )
    factories.UserFactory(groups=["SAM approver"], email="first@it.example")
    factories.UserFactory(groups=["SAM approver"], email="second@it.example")
    factories.UserFactory(groups=["SAM approver"], email="evil@it.example\r\nBcc: all@corp.example")

    sent = notifications.tell_approvers(candidate.pk)

    assert sent == 2
    assert sorted(m.to for m in mail.outbox) == [["first@it.example"], ["second@it.example"]]
    assert all("Bcc" not in str(m.message()) for m in mail.outbox)
