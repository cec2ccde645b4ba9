"""Download subscriptions: every membership and every pending invitation becomes a seat.

The download first collects the whole organization (compact tuples, about 1 KB per seat),
and writes, in one transaction, a page of seats at a time (:mod:`.writer_threads`,
:mod:`.seat_writer`). That is what makes "a vendor failure halfway leaves the last good data
untouched" true: nothing is committed until Calendly has answered every page. Seats missing
from a *complete* download become ``removed``. The vendor's records become seats in
:mod:`.vendor_seats`.
"""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.utils import timezone

from sam_saas.connectors import ConnectorError
from sam_saas.models import IntegrationProfile, JobRun
from sam_saas.services import jobs
from sam_saas.services.connections import record_check
from sam_saas.services.vendor_text import RecordSkipped, TextCleaner

from .client import CalendlyClient
from .connection import build_client, check_connection
from .errors import InvalidRequest
from .seat_writer import SeatWriter
from .vendor_seats import (
    OWNER_REASON,
    SELF_REASON,
    Seat,
    protection_reason,
    seat_from_invitation,
    seat_from_membership,
)
from .writer_threads import InlineWriter, ThreadedWriter

__all__ = [
    "OWNER_REASON",
    "SELF_REASON",
    "Downloader",
    "SeatWriter",
    "download_subscriptions",
    "protection_reason",
]

logger = logging.getLogger(__name__)

WRITE_BATCH = 500
# Progress is written to the job row at most this often, not once per page.
PROGRESS_EVERY_SECONDS = 1.0
MAX_LISTING_RESTARTS = 2


class Downloader:
    """Streams every page of members and pending invitations into a writer.

    All seat writes happen in one transaction that commits only after the last page, so a
    failure part-way leaves the last good data untouched. On PostgreSQL outside a transaction
    (a worker, a command) the writer runs in its own thread and connection: database work
    overlaps the wait for Calendly, and progress and refreshed tokens, written on this
    thread's connection, are committed at once. Elsewhere the seats are buffered and written
    at the end."""

    def __init__(self, profile: IntegrationProfile, run: JobRun, client: CalendlyClient):
        self.profile = profile
        self.run = run
        self.client = client
        self._reported_at = 0.0
        self.cleaner = TextCleaner()

    def _convert(self, convert, item) -> Seat | None:
        try:
            return convert(item, self.cleaner)
        except RecordSkipped as exc:
            self.cleaner.skip(str(exc))
            return None

    def _stream(self, writer, label: str, pages_factory, convert) -> None:
        """Send one listing to the writer. A stale page token restarts the listing (Calendly's
        tokens are short-lived); the writer skips seats it already has."""
        for attempt in range(MAX_LISTING_RESTARTS + 1):
            buffer: list[Seat] = []
            listed = 0
            try:
                for page in pages_factory():
                    for item in page:
                        if (seat := self._convert(convert, item)) is not None:
                            buffer.append(seat)
                    listed += len(page)
                    if len(buffer) >= WRITE_BATCH:
                        writer.write(buffer)
                        buffer = []
                    self.run.fetched = self._fetched_before + listed
                    self._maybe_report(f"Fetched {listed:,} {label} so far")
                if buffer:
                    writer.write(buffer)
                self._fetched_before += listed
                return
            except InvalidRequest as exc:
                if not exc.stale_page_token or attempt == MAX_LISTING_RESTARTS:
                    raise
                logger.warning("stale page token while listing %s; restarting", label)

    def _maybe_report(self, message: str) -> None:
        now = time.monotonic()
        if now - self._reported_at >= PROGRESS_EVERY_SECONDS:
            self._reported_at = now
            # The total is unknown until the last page: approach 95% and finish at the end.
            jobs.report_progress(self.run, min(95, 5 + self.run.fetched // 200), message)

    def run_download(self) -> None:
        check = check_connection(self.client, self.profile.alias)
        record_check(self.profile, check, self.run)
        org_uri = check.organization_uri
        self._fetched_before = 0
        now = timezone.now()

        def make_writer():
            # A record skipped in the listing may be a seat still held: without it the listing
            # is not complete, so nothing is marked removed this time.
            return SeatWriter(
                self.profile,
                check.plan,
                check.account,
                now,
                mark_vanished=lambda: not self.cleaner.skipped,
            )

        threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        writer = ThreadedWriter(make_writer) if threaded else InlineWriter(make_writer)
        try:
            self._stream(
                writer,
                "members",
                lambda: self.client.iter_memberships(org_uri),
                seat_from_membership,
            )
            if self._fetched_before == 0:
                raise ConnectorError(
                    "Calendly listed no members at all; refusing to mark every seat removed.",
                    hint="Check that the token belongs to the right organization, then refresh.",
                )
            self._stream(
                writer,
                "pending invitations",
                lambda: self.client.iter_invitations(org_uri, status="pending"),
                seat_from_invitation,
            )
        except BaseException:
            writer.abort()
            raise
        result = writer.finish()
        warnings = self.cleaner.warnings()
        if self.cleaner.skipped:
            warnings.append(
                "Seats missing from this listing were not marked removed, because skipped "
                "records may be among them."
            )
        if warnings:
            self.run.warnings = [*self.run.warnings, *warnings]
        self.run.created, self.run.updated = result.created, result.updated
        self.run.removed, self.run.unmatched = result.removed, result.unmatched
        self.run.fetched = self._fetched_before


def download_subscriptions(profile: IntegrationProfile, run: JobRun) -> None:
    """The connector's first process. Raises :class:`ConnectorError` with a hint on failure,
    after which no existing subscription has changed."""
    client = build_client(profile, stats=run)
    with client:
        Downloader(profile, run, client).run_download()
