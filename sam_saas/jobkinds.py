"""The job-kind registry: which kinds of job exist, what runs them, how their tasks are sent
and when beat starts them.

The core knows the mechanics of a job run (queue, claim, record: ``services/jobs.py``) but not
the kinds other apps add. Every app registers its own from its ``AppConfig.ready()``:

* a **kind** (``register``): its stored value, the label the admin shows, the handler that does
  the work, and whether it runs per profile or once for all profiles;
* a **task sender** (``register_sender``): how a service hands work to Celery without
  importing ``tasks.py`` (services never do; ``tasks.py`` imports services);
* a **beat entry** (``register_beat``): a periodic task; ``config/celery.py`` reads them when
  beat starts.

``JobRun.kind`` takes its choices from :func:`choices`, a callable, so registering a kind
changes no migration. A run whose kind no installed app handles fails with
:class:`NoHandler` ("No app handles job kind 'x'.") instead of doing nothing.

This module imports no model, so settings and migrations may import it early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PROFILE = "profile"
GLOBAL = "global"

# The core's task that runs any queued job (``sam_saas.tasks.run_job``).
RUN_JOB = "sam_saas.run_job"


# A handler takes the claimed ``JobRun`` (not imported here: the model imports this module).
JobHandler = Callable[[Any], None]


@dataclass(frozen=True)
class JobKind:
    value: str
    label: str
    handler: JobHandler
    scope: str = PROFILE

    @property
    def is_global(self) -> bool:
        return self.scope == GLOBAL


class NoHandler(LookupError):
    """A run of a kind that no installed app handles: its app was taken out of
    INSTALLED_APPS while runs of it were still queued, or a beat entry names a typo."""

    hint = "Add the app that owns this job kind to INSTALLED_APPS, or delete the queued run."

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(f"No app handles job kind {kind!r}.")


class NoSender(LookupError):
    def __init__(self, name: str):
        super().__init__(f"No app sends the task {name!r}; is its app in INSTALLED_APPS?")


_kinds: dict[str, JobKind] = {}
_senders: dict[str, Callable[..., Any]] = {}
_beat: dict[str, dict[str, Any]] = {}


# -- kinds -------------------------------------------------------------------------------------
def register(value: str, label: str, handler: JobHandler, *, scope: str = PROFILE) -> JobKind:
    if scope not in (PROFILE, GLOBAL):
        raise ValueError(f"scope must be {PROFILE!r} or {GLOBAL!r}, not {scope!r}")
    kind = JobKind(str(value), str(label), handler, scope)
    _kinds[kind.value] = kind
    return kind


def unregister(value: str) -> JobKind | None:
    """Take a kind out (tests that simulate an app that is not installed)."""
    return _kinds.pop(str(value), None)


def get(value: str) -> JobKind:
    try:
        return _kinds[value]
    except KeyError:
        raise NoHandler(value) from None


def handler_for(value: str) -> JobHandler:
    return get(value).handler


def registered(scope: str | None = None) -> list[JobKind]:
    return [k for k in _kinds.values() if scope is None or k.scope == scope]


def choices() -> list[tuple[str, str]]:
    """``JobRun.kind``'s choices: every registered kind, in registration order."""
    return [(k.value, k.label) for k in _kinds.values()]


# -- task senders ------------------------------------------------------------------------------
def register_sender(name: str, send: Callable[..., Any]) -> None:
    """``send`` is usually a Celery task's ``delay``; with no broker it runs inline."""
    _senders[name] = send


def send(name: str, *args: Any) -> Any:
    try:
        sender = _senders[name]
    except KeyError:
        raise NoSender(name) from None
    return sender(*args)


# -- beat entries ------------------------------------------------------------------------------
def register_beat(name: str, task: str, schedule: Any, **options: Any) -> None:
    """A periodic task. ``schedule`` is what Celery takes (a crontab, seconds); ``options``
    are the entry's other keys (``args``, ``kwargs``, ``options``)."""
    _beat[name] = {"task": task, "schedule": schedule, **options}


class BeatSchedule(Mapping):
    """The registered beat entries, read when beat looks at them (after Django's apps are
    ready), so ``config/celery.py`` can install the schedule before any app has registered."""

    def __getitem__(self, name: str) -> dict[str, Any]:
        return _beat[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(_beat))

    def __len__(self) -> int:
        return len(_beat)
