"""The seat holder's answer pages, reached from the e-mail's signed links without login.

GET shows the question and a button; only the POST acts, because mail scanners and link
previews fetch every URL in a message and must not keep or release a seat. Forged, expired
and used links get an explanation page with a 4xx status.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .models import ReclamationCandidate
from .services import notifications, workflow

Answer = ReclamationCandidate.UserResponse

TEXTS = {
    Answer.KEEP: {
        "title": "Keep your seat",
        "question": "Confirm that you still need this seat, and it will not be removed.",
        "button": "I still need it",
        "done": "Thank you. Your seat is kept; nothing else to do.",
    },
    Answer.RELEASE: {
        "title": "Release your seat",
        "question": "Confirm that you no longer need this seat, and it will be removed.",
        "button": "Release it",
        "done": "Thank you. Your seat will be removed shortly.",
    },
}


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
        candidate = notifications.current_candidate(link)
    except notifications.LinkError as exc:
        return _error(request, exc)
    texts = TEXTS[link.answer]
    if request.method == "POST":
        act = workflow.user_keeps if link.answer == Answer.KEEP else workflow.user_releases
        if not act(link.candidate_id, link.nonce):
            # Lost a race with another answer, the deadline or a SAM manager.
            return _error(
                request,
                notifications.LinkUsed("This request was already answered or has been closed."),
            )
        return render(
            request, "reclamation/answer.html", {"title": texts["title"], "done": texts["done"]}
        )
    return render(
        request,
        "reclamation/answer.html",
        {
            "title": texts["title"],
            "question": texts["question"],
            "button": texts["button"],
            "candidate": candidate,
            "vendor": workflow.provider_label(candidate.provider),
        },
    )
