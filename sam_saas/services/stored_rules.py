"""The resolution and exclusion rules applied to a profile's stored seats with one SQL
statement, for re-judging after a rule change or a people import.

Why SQL: re-judging read every seat into Python and wrote each batch back, about 10 s per
100,000 seats; a million seats took minutes. Here one statement computes
every seat's verdict in the database (hash joins against the people, one term per rule) and
writes only the seats whose verdict changed, on PostgreSQL and on SQLite alike. All the
profiles re-judged together go in one pass (:class:`Scope`): per profile, the people were
hashed once per profile, 0.7 s each at 500,000 people.

The rules mean what :class:`~sam_saas.services.rules.RuleEngine` (the download's per-page
judge) says they mean; the rules in force are the engine's own lists, and
``tests/sam_saas/test_rules.py`` runs both judges on the same seats:

- the person: a person set by hand is kept; otherwise the person whose e-mail equals the
  seat's (case-insensitive, trimmed), else the first resolution rule, by priority, that finds
  one: an alias, a replaced domain, or a removed domain when exactly one person has that
  local part;
- the exclusions, judged on that person: identifier rules of the profile (cost), user rules
  (e-mail wildcard, department, cost center, role; cost and/or reclamation), and the vendor's
  protection (``BaseConnector.protection_expression``), each reason in the engine's words and
  order, joined with "; " and cut at 300 characters. Wildcards go through
  :func:`~sam_saas.models.rules.wildcard_regex`, the one translation to SQL.

E-mails split at their first "@" (the engine's ``_split`` does the same).
"""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.models import Case, CharField, Count, F, Q, Value, When
from django.db.models.functions import Coalesce, Lower, Trim

from ..models import SoftwareSubscription, UserResolutionRule
from ..models.rules import wildcard_regex

Transform = UserResolutionRule.Transform
SUB = SoftwareSubscription._meta.db_table
PERSON = "sam_saas_person"
REASON_LENGTH = 300


class Sql:
    """Pieces of SQL that differ between PostgreSQL and SQLite, and the parameters gathered
    while building a statement (``%s`` placeholders, in order)."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.params: list = []
        self.text = ""

    def param(self, value) -> str:
        self.params.append(value)
        return "%s"

    def position(self, text: str, needle: str) -> str:
        return f"strpos({text}, {needle})" if self.postgres else f"instr({text}, {needle})"

    def iregex(self, text: str, pattern: str) -> str:
        regex = self.param(wildcard_regex(pattern))
        if self.postgres:
            return f"({text} ~* {regex})"
        return f"({text} REGEXP '(?i)' || {regex})"  # Django registers REGEXP on SQLite

    def differs(self, a: str, b: str) -> str:
        return f"({a} IS DISTINCT FROM {b})" if self.postgres else f"({a} IS NOT {b})"

    def local_part(self, email: str) -> str:
        """The part before the first "@" (the whole text without one; the part after it when
        nothing precedes it), as ``rules._split`` returns it."""
        at = self.position(email, "'@'")
        return (
            f"(CASE WHEN {at} > 1 THEN substr({email}, 1, {at} - 1) "
            f"WHEN {at} = 1 THEN substr({email}, 2) ELSE {email} END)"
        )

    def domain_part(self, email: str) -> str:
        at = self.position(email, "'@'")
        return f"(CASE WHEN {at} > 1 THEN substr({email}, {at} + 1) ELSE '' END)"


class Scope:
    """The rules in force for several profiles, judged in one statement: each rule's term is
    limited to the profiles whose engine holds it (no limit when all do), so one pass over
    the seats (and one hash of the people) serves every profile."""

    def __init__(self, engines):
        self.engines = list(engines)
        self.profile_ids = [e.profile.pk for e in self.engines]
        self.resolution = self._union("resolution_rules", key=lambda r: (r.priority, r.pk))
        self.identifier = self._union("identifier_rules", key=lambda r: (r.pattern, r.pk))
        self.user = self._union("user_rules", key=None)

    def _union(self, name, key):
        rules, holders = {}, {}
        for engine in self.engines:
            for rule in getattr(engine, name):
                rules.setdefault(rule.pk, rule)
                holders.setdefault(rule.pk, set()).add(engine.profile.pk)
        ordered = list(rules.values())
        if key is not None:
            ordered.sort(key=key)
        return [(rule, holders[rule.pk]) for rule in ordered]

    def only_for(self, alias: str, holders: set[int]) -> str:
        """SQL limiting a term to the profiles in ``holders`` ("" when that is all of them).
        Profile ids are integers from the database, written into the text."""
        if holders >= set(self.profile_ids):
            return ""
        return f"{alias}.seat_profile IN ({', '.join(str(int(pk)) for pk in sorted(holders))}) AND "


def _seats_sql(scope: Scope, protections: dict, only) -> tuple[str, list]:
    """The profiles' stored seats holding a licence, with what the verdict reads: compiled
    from the ORM so "holding a seat" and the vendor's protection keep their one definition."""
    seats = SoftwareSubscription.objects.holding_seats().filter(profile_id__in=scope.profile_ids)
    if only is not None:
        seats = seats.filter(pk__in=list(only))
    text = CharField()
    if len(protections) == 1:
        protection = next(iter(protections.values()))
    else:
        protection = Case(
            *[When(profile_id=pk, then=expr) for pk, expr in protections.items()],
            default=Value(""),
            output_field=text,
        )
    seats = seats.order_by().values(
        seat_id=F("pk"),
        seat_profile=F("profile_id"),
        old_person=F("person_id"),
        by_hand=F("person_set_at"),
        was_cost=F("excluded_from_cost"),
        was_cost_reason=F("cost_exclusion_reason"),
        was_reclaim=F("excluded_from_reclamation"),
        was_reclaim_reason=F("reclamation_exclusion_reason"),
        upn=F("user_principal_name"),
        seat_role=F("role"),
        email=Lower(Trim("user_principal_name"), output_field=text),
        identifier_value=Coalesce(F("identifier__value"), Value(""), output_field=text),
        protection=protection,
    )
    sql, params = seats.query.get_compiler(using=seats.db).as_sql()
    return sql, list(params)


def _person_terms(scope: Scope) -> tuple[Sql, Sql]:
    """(terms, joins): the resolution rules in priority order, each term the person it finds
    (NULL: none), over ``split s`` with its ``local_part`` and ``domain``."""
    terms, joins = Sql(), Sql()
    term_sql, join_sql = [], []
    for n, (rule, holders) in enumerate(scope.resolution):
        only = scope.only_for("s", holders)
        if rule.transform == Transform.ALIAS:
            alias = terms.param(rule.alias_email.strip().lower())
            person = terms.param(rule.person_id)
            term_sql.append(f"CASE WHEN {only}s.email = {alias} THEN {person} END")
        elif rule.transform == Transform.REPLACE_DOMAIN:
            on = f"lower(r{n}.email) = s.local_part || '@' || {joins.param(rule.new_domain)}"
            if rule.match_domain:
                on += f" AND s.domain = {joins.param(rule.match_domain)}"
            join_sql.append(f"LEFT JOIN {PERSON} r{n} ON {only}s.local_part <> '' AND {on}")
            term_sql.append(f"r{n}.id")
        elif rule.transform == Transform.REMOVE_DOMAIN:
            local = joins.local_part("lower(email)")
            # Names and fragments are ours; every value is a parameter.
            unique_local = (
                f"SELECT {local} AS local_part, MIN(id) AS id FROM {PERSON} "  # noqa: S608
                f"GROUP BY {local} HAVING COUNT(*) = 1"
            )
            join_sql.append(
                f"LEFT JOIN ({unique_local}) r{n} ON {only}r{n}.local_part = s.local_part"
            )
            term_sql.append(f"r{n}.id")
    terms.text = f"COALESCE(x.id, {', '.join(term_sql)})" if term_sql else "x.id"
    joins.text = " ".join(join_sql)
    return terms, joins


def _user_rule_condition(q: Sql, rule) -> str:
    conditions = []
    if rule.email_pattern:
        conditions.append(q.iregex("v.upn", rule.email_pattern))
    if rule.department:
        department = q.param(rule.department.lower())
        conditions.append(f"lower(COALESCE(p.department, '')) = {department}")
    if rule.cost_center:
        cost_center = q.param(rule.cost_center.lower())
        conditions.append(f"lower(COALESCE(p.cost_center, '')) = {cost_center}")
    if rule.role:
        conditions.append(f"lower(v.seat_role) = {q.param(rule.role.lower())}")
    return " AND ".join(conditions) or "1 = 0"


def _reasons(scope: Scope, *, cost: bool) -> Sql:
    """The cost (or reclamation) exclusion reasons of a seat ``v`` with person ``p``, in the
    engine's order, joined with "; " and cut like the engine's."""
    q = Sql()
    parts = []
    if cost:
        for rule, holders in scope.identifier:
            condition = scope.only_for("v", holders) + q.iregex("v.identifier_value", rule.pattern)
            parts.append((condition, q.param(f"Identifier rule {rule.pattern!r}: {rule.reason}")))
    else:
        parts.append(("v.protection <> ''", "v.protection"))
    for rule, holders in scope.user:
        if rule.exclude_from_cost if cost else rule.exclude_from_reclamation:
            condition = scope.only_for("v", holders) + _user_rule_condition(q, rule)
            parts.append((condition, q.param(f"User rule {rule}: {rule.reason}")))
    if not parts:
        q.text = "''"
        return q
    pieces = " || ".join(f"(CASE WHEN {c} THEN '; ' || {t} ELSE '' END)" for c, t in parts)
    q.text = f"substr({pieces}, 3, {REASON_LENGTH})"
    return q


def judge_stored_seats(engines, protections: dict, only=None) -> tuple[int, int, int]:
    """Apply each engine's rules (a :class:`RuleEngine` per profile) to its profile's stored
    seats holding a licence (of the ids ``only``, when given), all profiles in one pass;
    ``protections`` maps each profile id to the vendor's protection as an expression.
    Returns (examined, changed, unmatched).

    Two statements: the verdicts that differ from what the seats hold go into a temporary
    table, then one UPDATE writes them by primary key. (Updating straight from the verdict
    query made PostgreSQL scan the whole seat table once per profile to find the rows to
    write; most re-judges change few seats, and unchanged seats are never written, so the
    table does not bloat.)"""
    scope = Scope(engines)
    seats_sql, seats_params = _seats_sql(scope, protections, only)
    q = Sql()
    local, domain = q.local_part("email"), q.domain_part("email")
    terms, joins = _person_terms(scope)
    cost, reclaim = _reasons(scope, cost=True), _reasons(scope, cost=False)
    changed = " OR ".join(
        [
            q.differs("w.old_person", "w.person_id"),
            "w.was_cost_reason <> w.cost_reason",
            "w.was_reclaim_reason <> w.reclaim_reason",
            q.differs("w.was_cost", "(w.cost_reason <> '')"),
            q.differs("w.was_reclaim", "(w.reclaim_reason <> '')"),
        ]
    )
    was = "was_cost, was_cost_reason, was_reclaim, was_reclaim_reason"
    split_sql = f"SELECT seat.*, {local} AS local_part, {domain} AS domain FROM ({seats_sql}) seat"  # noqa: S608
    matched_sql = f"""
        SELECT s.seat_id, s.seat_profile, s.upn, s.seat_role, s.identifier_value,
            s.protection, s.old_person,
            s.{was.replace(", ", ", s.")},
            CASE WHEN s.by_hand IS NOT NULL THEN s.old_person ELSE {terms.text} END AS person_id
        FROM ({split_sql}) s
        LEFT JOIN {PERSON} x ON lower(x.email) = s.email
        {joins.text}
    """  # noqa: S608
    verdict_sql = f"""
        SELECT v.seat_id, v.seat_profile, v.old_person, v.person_id, v.{was.replace(", ", ", v.")},
            {cost.text} AS cost_reason, {reclaim.text} AS reclaim_reason
        FROM ({matched_sql}) v LEFT JOIN {PERSON} p ON p.id = v.person_id
    """  # noqa: S608
    stage = connection.ops.quote_name(f"stage_verdict_{uuid.uuid4().hex[:12]}")
    # Parameters in the order their placeholders appear in the text: the reasons' select
    # list, the person terms' select list, the seats they select from, the joins after them.
    params = [*cost.params, *reclaim.params, *terms.params, *seats_params, *joins.params]
    staged = (
        "SELECT w.seat_id, w.person_id, w.cost_reason, w.reclaim_reason "  # noqa: S608
        f"FROM ({verdict_sql}) w WHERE {changed}"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} AS {staged}", params)
        try:
            if q.postgres:
                cursor.execute(f"ANALYZE {stage}")  # its row count decides the UPDATE's plan
            cursor.execute(
                f"""
                UPDATE {SUB} SET
                    person_id = w.person_id,
                    excluded_from_cost = (w.cost_reason <> ''),
                    cost_exclusion_reason = w.cost_reason,
                    excluded_from_reclamation = (w.reclaim_reason <> ''),
                    reclamation_exclusion_reason = w.reclaim_reason
                FROM {stage} w WHERE {SUB}.id = w.seat_id
                """  # noqa: S608
            )
            changed_rows = cursor.rowcount
        finally:
            cursor.execute(f"DROP TABLE {stage}")
    seats = SoftwareSubscription.objects.holding_seats().filter(profile_id__in=scope.profile_ids)
    if only is not None:
        seats = seats.filter(pk__in=list(only))
    counts = seats.aggregate(
        examined=Count("pk"), unmatched=Count("pk", filter=Q(person__isnull=True))
    )
    return counts["examined"], changed_rows, counts["unmatched"]
