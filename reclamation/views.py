"""The answer pages behind the e-mails' signed links (the seat holder's and the manager's),
reached without login.

GET shows the question and a button; only the POST acts, because mail scanners and link
previews fetch every URL in a message and must not keep, release or decide anything. Forged,
expired and used links get an explanation page with a 4xx status. What each answer says and
does comes from ``services.actions.LINK_ACTIONS``.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .services import notifications
from .services.actions import LINK_ACTIONS
from .services.wording import provider_label


def _error(request, exc: notifications.LinkError):
    return render(
        request,
        "reclamation/answer.html",
        {"title": exc.title, "error": str(exc)},
        status=exc.status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    try:
        link = notifications.read_token(token)
        action = LINK_ACTIONS.get(link.answer)
        if action is None:
            raise notifications.LinkInvalid("The link is damaged.")
        candidate = notifications.current_candidate(link, action.from_states)
        if not action.applies_to(candidate):
            raise notifications.LinkUsed("This request was already answered or has been closed.")
    except notifications.LinkError as exc:
        return _error(request, exc)
    if request.method == "POST":
        if not action.run(link.candidate_id, link.nonce):
            # Lost a race with another answer, the deadline or a SAM manager.
            return _error(
                request,
                notifications.LinkUsed("This request was already answered or has been closed."),
            )
        return render(
            request, "reclamation/answer.html", {"title": action.title, "done": action.done}
        )
    return render(
        request,
        "reclamation/answer.html",
        {
            "title": action.title,
            "question": action.describe(candidate),
            "button": action.button,
            "candidate": candidate,
            "vendor": provider_label(candidate.provider),
        },
    )
