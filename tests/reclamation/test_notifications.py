"""The user notification: signed, expiring, single-use links served without login, where a
GET never changes anything."""

import re
import smtplib
import time
import uuid

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client, override_settings

from reclamation.models import ReclamationCandidate
from reclamation.services import answers, notifications, workflow
from reclamation.services.rules import ensure_rule

from .conftest import candidate

State = ReclamationCandidate.State
LINK = re.compile(r"https?://\S+?(/reclaim/answer/\S+/)")


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPException("Connection refused by mail.example")


@pytest.fixture
def notified(profile, fake, django_capture_on_commit_callbacks):
    """A candidate approved under a notifying rule, and the two links of its e-mail."""
    rule = ensure_rule(profile)
    rule.notify_user = True
    rule.days_before_reclaim = 3
    rule.save()
    c = candidate(profile)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([c.pk], None)
    body = mail.outbox[-1].body
    keep, release = LINK.findall(body)
    return c, keep, release


def state_of(c):
    c.refresh_from_db()
    return c.state


@pytest.mark.django_db
def test_it_emails_keep_and_release_links_to_the_person(notified):
    c, keep, release = notified

    assert "/reclaim/answer/" in keep and keep != release
    assert mail.outbox[-1].to == [c.person.email]
    assert "within 3 days" in mail.outbox[-1].body


@pytest.mark.django_db
def test_it_does_not_change_anything_on_get(notified):
    c, keep, release = notified
    client = Client()

    keep_page = client.get(keep)
    release_page = client.get(release)

    assert keep_page.status_code == release_page.status_code == 200
    assert "I still need it" in keep_page.content.decode()
    assert "Release it" in release_page.content.decode()
    assert '<form method="post"' in keep_page.content.decode()
    assert state_of(c) == State.AWAITING_USER


@pytest.mark.django_db
def test_it_keeps_the_seat_when_the_user_still_needs_it(notified, fake):
    c, keep, _ = notified

    response = Client().post(keep)

    assert response.status_code == 200 and "Your seat is kept" in response.content.decode()
    c.refresh_from_db()
    # ServiceNow: the user's keep goes to their manager (Awaiting Approval), not to a close.
    assert (c.state, c.user_response) == (State.AWAITING_APPROVAL, "keep")
    event = c.events.last()
    assert event.actor is None and event.actor_label == answers.USER_LINK
    assert fake.calls == []


@pytest.mark.django_db
def test_it_reclaims_when_the_user_releases_the_seat(
    notified, fake, django_capture_on_commit_callbacks
):
    c, _, release = notified

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(release)

    assert response.status_code == 200
    c.refresh_from_db()
    assert (c.state, c.user_response) == (State.CLOSED_COMPLETE, "release")
    assert fake.calls == [c.subscription_id]


@pytest.mark.django_db
def test_it_refuses_a_reused_link(notified):
    c, keep, release = notified
    client = Client()
    client.post(keep)

    again = client.post(keep)
    other = client.post(release)
    page = client.get(keep)

    assert again.status_code == other.status_code == page.status_code == 409
    assert state_of(c) == State.AWAITING_APPROVAL


@pytest.mark.django_db
def test_it_refuses_forged_links(notified):
    c, keep, _ = notified
    token = keep.rstrip("/").rsplit("/", 1)[1]
    forged_answer = notifications.signing.TimestampSigner(salt="other").sign_object(
        {"c": c.pk, "n": str(c.last_transition), "a": "release", "d": 3}
    )
    client = Client()

    for bad in (token[:-2] + "xx", forged_answer, "nonsense"):
        response = client.post(f"/reclaim/answer/{bad}/")
        assert response.status_code == 400, bad
        assert "not valid" in response.content.decode()
    assert state_of(c) == State.AWAITING_USER


@pytest.mark.django_db
def test_it_refuses_expired_links(profile, monkeypatch):
    c = candidate(profile, state=State.AWAITING_USER)
    nonce = uuid.uuid4()
    ReclamationCandidate.objects.filter(pk=c.pk).update(last_transition=nonce)
    fresh = notifications.make_token(c.pk, nonce, "keep", 3)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 4 * 86400)
    expired = notifications.make_token(c.pk, nonce, "keep", 3)
    monkeypatch.setattr(time, "time", real_time)
    client = Client()

    assert client.get(f"/reclaim/answer/{fresh}/").status_code == 200
    response = client.post(f"/reclaim/answer/{expired}/")

    assert response.status_code == 410 and "expired" in response.content.decode()
    assert state_of(c) == State.AWAITING_USER


@pytest.mark.django_db
def test_it_refuses_the_links_of_an_earlier_notification(
    notified, django_capture_on_commit_callbacks
):
    c, keep, _ = notified
    # The deadline passed and a manager sent it back for approval and approved it again:
    # a new notification with new links; the old ones are dead.
    ReclamationCandidate.objects.filter(pk=c.pk).update(state=State.AWAITING_APPROVAL)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([c.pk], None)

    assert Client().post(keep).status_code == 409
    assert state_of(c) == State.AWAITING_USER


@pytest.mark.django_db
@override_settings(EMAIL_BACKEND="tests.reclamation.test_notifications.FailingBackend")
def test_it_requires_attention_when_the_mail_cannot_be_sent(
    profile, django_capture_on_commit_callbacks
):
    rule = ensure_rule(profile)
    rule.notify_user = True
    rule.save()
    c = candidate(profile)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([c.pk], None)

    c.refresh_from_db()
    assert c.state == State.ATTENTION_REQUIRED
    assert "could not be sent" in c.message and "EMAIL_URL" in c.hint
