"""Where the download's seat writes run: on their own thread and database connection
(PostgreSQL, outside a transaction), so database work overlaps the wait for Calendly, or
inline at the end (SQLite, or a caller already in a transaction). Either way every write of
one download is one transaction that commits only after the last page."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection, transaction

from .vendor_seats import Seat

if TYPE_CHECKING:
    from .seat_writer import SeatWriter


@dataclass
class WriteResult:
    created: int
    updated: int
    removed: int
    unmatched: int


def _finish(writer: SeatWriter) -> WriteResult:
    removed, unmatched = writer.finish()
    return WriteResult(writer.created, writer.updated, removed, unmatched)


class InlineWriter:
    """The writer on the calling thread (SQLite, or a caller already in a transaction).

    Seats are buffered and written in one atomic block only when the listing is complete, so
    nothing else the download commits meanwhile, a refreshed single-use token above all,
    shares the fate of a failed listing."""

    def __init__(self, factory):
        self._factory = factory
        self._batches: list[list[Seat]] = []

    def write(self, seats: list[Seat]) -> None:
        self._batches.append(seats)

    def finish(self) -> WriteResult:
        with transaction.atomic():
            writer = self._factory()
            for batch in self._batches:
                writer.write(batch)
            self._batches = []
            return _finish(writer)

    def abort(self) -> None:
        self._batches = []


class _Aborted(Exception):
    pass


# Batches of seats (500 each, about 1 KB a seat) the fetch may run ahead of the writer. Enough
# for the fetch to go on while the writer starts (reading a large profile's stored seats and
# their people takes a second or two), bounded so a slow database still slows the fetch.
QUEUED_BATCHES = 40
_FINISH = object()
_ABORT = object()


class ThreadedWriter:
    """The writer on its own thread and database connection, fed through a bounded queue
    (so a slow database slows the fetch down instead of filling memory)."""

    def __init__(self, factory):
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self._error: BaseException | None = None
        self._result: WriteResult | None = None
        self._thread = threading.Thread(
            target=self._run, args=(factory,), name="calendly-seat-writer", daemon=True
        )
        self._thread.start()

    def _run(self, factory) -> None:
        try:
            with transaction.atomic():
                writer = factory()
                while True:
                    item = self._queue.get()
                    if item is _ABORT:
                        raise _Aborted
                    if item is _FINISH:
                        self._result = _finish(writer)
                        return
                    writer.write(item)
        except _Aborted:
            return
        except BaseException as exc:  # handed to the fetching thread
            self._error = exc
            while self._queue.get() not in (_FINISH, _ABORT):
                pass  # keep draining so the fetching thread never blocks on a full queue
        finally:
            connection.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, seats: list[Seat]) -> None:
        self._raise_if_failed()
        self._queue.put(seats)

    def finish(self) -> WriteResult:
        self._queue.put(_FINISH)
        self._thread.join()
        self._raise_if_failed()
        return self._result

    def abort(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_ABORT)
            self._thread.join()
