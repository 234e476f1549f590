"""Identity: which platform customer a record belongs to, resolved in bulk.

A customer is known by ExternalRefs: `(source, customer_id)` for a source's
own id and `("email", address)` for an e-mail address. One query looks up
the batch's source ids, one its e-mails; unknown people are created in bulk.
When one record ties a source id of customer A to the e-mail of customer B,
A and B are the same person: the older survives and the other is merged in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ingestion import selectors
from ingestion.errors import RecordInvalid
from ingestion.models import Customer, CustomerMerge, Event, ExternalRef, Interaction, Order
from ingestion.services import _db
from ingestion.services.validation import customer_clean

EMAIL_SOURCE = "email"


@dataclass
class Resolution:
    """The customer of each record, and what resolving them changed."""

    customer_pks: list[int]
    created: set[int] = field(default_factory=set)
    merges: list[tuple[int, int]] = field(default_factory=list)  # (survivor, merged)

    @property
    def changed(self) -> set[int]:
        out = set(self.created)
        for survivor, merged in self.merges:
            out.update((survivor, merged))
        return out


Identity = tuple[str | None, str | None, int | None]  # (source customer id, e-mail, platform id)


def customers_resolve(
    *,
    source: str,
    identities: Sequence[Identity],
    seen: Sequence[datetime | None],
    platform_map: dict[int, int] | None = None,
) -> Resolution:
    """Customers for `identities` (already validated, blocked values dropped; platform ids known,
    see `platform_customers`, whose answer the caller may pass as `platform_map`).

    `seen[i]` is the time of record i: customers' first/last seen move to cover it.

    Writers run side by side (file workers, API requests). When several meet the same new people
    at once, the last one's ref insert waits for the others to commit and finds refs taken. Only
    this step is then rolled back (a savepoint) and linked again, now finding their customers:
    the rest of the batch is kept, and the batch does not run again alone.
    """
    # A batch names each person many times (one record per order): link each distinct identity
    # once, with the earliest and latest time it was seen. Linking the same identity again
    # would find what the first link made, so the result is the same.
    spans: dict[Identity, list] = {}
    for ident, when in zip(identities, seen, strict=True):
        span = spans.get(ident)
        if span is None:
            spans[ident] = [when, when]
        elif when is not None:
            if span[0] is None or when < span[0]:
                span[0] = when
            if span[1] is None or when > span[1]:
                span[1] = when
    res = spans_resolve(source=source, spans=spans, platform_map=platform_map)
    by_identity = dict(zip(spans, res.customer_pks, strict=True))
    res.customer_pks = [by_identity[ident] for ident in identities]
    return res


def spans_resolve(
    *,
    source: str,
    spans: dict[Identity, Sequence[datetime | None]],
    platform_map: dict[int, int] | None = None,
) -> Resolution:
    """`customers_resolve` for distinct identities, each with the `(first, last)` time its records
    were seen (None when they carry none): the customers come in the order of `spans`."""

    def attempt(_: int) -> Resolution:
        with transaction.atomic():
            return _resolve(source, spans, platform_map)

    return _db.conflict_retried(attempt, attempts=_RESOLVE_ATTEMPTS)


_RESOLVE_ATTEMPTS = 5  # each waits for the writers in its way; then the pipeline runs the batch alone


def _resolve(
    source: str, spans: dict[Identity, Sequence[datetime | None]], platform_map: dict[int, int] | None
) -> Resolution:
    refs = _db.rows_by_key(
        ExternalRef,
        source=source,
        key="external_id",
        keys=list({c for c, _, _ in spans if c}),
        columns=("customer_id",),
    )
    ref_map = {k: v[0] for k, v in refs.items()}
    emails = _db.rows_by_key(
        ExternalRef,
        source=EMAIL_SOURCE,
        key="external_id",
        keys=list({e for _, e, _ in spans if e}),
        columns=("customer_id",),
    )
    email_map = {k: v[0] for k, v in emails.items()}
    if platform_map is None:
        platform_map = platform_customers({p for _, _, p in spans if p})
    linker = _Linker(ref_map, email_map, platform_map)
    tmp = [linker.link(cid, email, platform_pk) for cid, email, platform_pk in spans]
    res = Resolution(customer_pks=[])
    for survivor, merged, evidence in linker.merges:
        customer_merge(survivor_pk=survivor, merged_pk=merged, reason="shared identity", evidence=evidence)
        res.merges.append((survivor, merged))
    roots = [linker.find(pk) for pk in tmp]
    seen_by: dict[int, tuple[datetime, datetime]] = {}
    for pk, (first, last) in zip(roots, spans.values(), strict=True):
        if first is not None:
            lo_hi = seen_by.get(pk)
            seen_by[pk] = (first, last) if lo_hi is None else (min(lo_hi[0], first), max(lo_hi[1], last))
    real = _create_placeholders(linker, seen_by)
    res.created = set(real.values())
    _insert_refs(source, linker, real)
    res.customer_pks = [real.get(pk, pk) for pk in roots]
    _seen_update({pk: v for pk, v in seen_by.items() if pk > 0})
    if linker.email_fill:
        _email_fill({linker.find(pk): e for pk, e in linker.email_fill.items() if linker.find(pk) > 0})
    return res


def customers_held(pks: Sequence[int]) -> list[int]:
    """The live customer of each pk, held (FOR KEY SHARE) until this transaction ends.

    A batch stores its records in a transaction after the one that resolved their customers
    (`pipeline._write`). A merge that committed in between is followed here; one that starts
    now waits for this transaction (it locks both customers), then moves these records too.
    A customer deleted meanwhile (`customer_delete`) fails the batch as a conflict: it runs
    again, and resolving its people again creates them anew. Orders carry no database foreign
    key (see `Order.customer`), so this is the check that none lands on a customer that is gone.
    """
    live: dict[int, int] = {}
    todo = sorted(set(pks))
    for _ in range(_MAX_MERGE_HOPS):
        if not todo:
            break
        if _db.on_postgres():
            array, param = _db.typed_array(todo, "bigint")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, merged_into_id FROM ingestion_customer WHERE id = ANY({array})"  # noqa: S608
                    " ORDER BY id FOR KEY SHARE",
                    [param],
                )
                rows = cursor.fetchall()
        else:  # one writer at a time: nothing to hold
            rows = Customer.objects.filter(pk__in=todo).values_list("pk", "merged_into_id")
        found = {pk: into or pk for pk, into in rows}
        if len(found) < len(todo):
            gone = sorted(set(todo) - set(found))
            raise IntegrityError(f"Customers {gone[:5]} were deleted while this batch was written.")
        live.update(found)
        todo = sorted({into for into in live.values() if into not in live})
    out = []
    for pk in pks:
        for _ in range(_MAX_MERGE_HOPS):
            if live.get(pk, pk) == pk:
                break
            pk = live[pk]
        out.append(pk)
    return out


_MAX_MERGE_HOPS = 5  # merges repoint older merges to their survivor: one hop is the rule


def customer_delete(customer: Customer) -> None:
    """Delete a customer with its refs, orders, lines, interactions and events (the ORM cascade).

    It first waits for the ingestion writers in flight and keeps new ones out until it commits
    (the writers' lock, exclusively): a batch holding this customer could otherwise store an
    order for it between the cascade's collecting and its delete, and orders have no database
    foreign key to refuse it (see `Order.customer`).
    """
    with transaction.atomic():
        _db.writers_lock(exclusive=True)
        customer.delete()


def platform_customers(pks: set[int]) -> dict[int, int]:
    """`{platform id: the customer it is now}` for the ids that exist (a merged id leads to its survivor)."""
    return selectors.live_pks(pks)


class _Linker:
    """Links identities to customer pks in memory; negative pks are customers still to create."""

    def __init__(self, ref_map: dict[str, int], email_map: dict[str, int], platform_map: dict[int, int]):
        self.ref_map, self.email_map, self.platform_map = ref_map, email_map, platform_map
        self.alias: dict[int, int] = {}
        self.new_emails: dict[int, str] = {}  # placeholder -> first e-mail
        self.new_refs: dict[str, int] = {}
        self.new_email_refs: dict[str, int] = {}
        self.email_fill: dict[int, str] = {}  # existing customer -> e-mail newly linked to it
        self.merges: list[tuple[int, int, dict]] = []
        self._next = -1

    def find(self, pk: int) -> int:
        while pk in self.alias:
            pk = self.alias[pk]
        return pk

    def link(self, cid: str | None, email: str | None, platform_pk: int | None = None) -> int:
        known = [
            self.find(self.platform_map[platform_pk]) if platform_pk in self.platform_map else None,
            self.find(self.ref_map[cid]) if cid in self.ref_map else None,
            self.find(self.email_map[email]) if email in self.email_map else None,
        ]
        known = [pk for pk in known if pk is not None]
        if not known:
            pk = self._next
            self._next -= 1
            self.new_emails[pk] = email or ""
        else:
            pk = known[0]
            for other in known[1:]:
                if self.find(other) != self.find(pk):
                    pk = self._join(self.find(pk), self.find(other), cid, email)
            pk = self.find(pk)
        if cid and cid not in self.ref_map:
            self.ref_map[cid] = self.new_refs[cid] = pk
        if email and email not in self.email_map:
            self.email_map[email] = self.new_email_refs[email] = pk
            if pk > 0:
                self.email_fill[pk] = email
        return pk

    def _join(self, a: int, b: int, cid: str | None, email: str | None) -> int:
        if a < 0 or b < 0:  # a customer not yet created folds into the other one
            if a < 0 and b < 0:
                keep, drop = max(a, b), min(a, b)
            else:
                keep, drop = (b, a) if a < 0 else (a, b)
            self.alias[drop] = keep
            dropped_email = self.new_emails[drop]
            if keep < 0 and not self.new_emails[keep]:
                self.new_emails[keep] = dropped_email
            elif keep > 0 and dropped_email:
                self.email_fill.setdefault(keep, dropped_email)
            return keep
        survivor, merged = min(a, b), max(a, b)  # pks grow with creation: the older survives
        self.alias[merged] = survivor
        self.merges.append((survivor, merged, {"customer_id": cid, "email": email}))
        return survivor


def _create_placeholders(linker: _Linker, seen_by: dict[int, tuple]) -> dict[int, int]:
    """Create the customers that are still placeholders; `{placeholder: pk}`."""
    todo = [pk for pk in linker.new_emails if pk not in linker.alias]
    now = timezone.now()
    rows = []
    for pk in todo:
        first, last = seen_by.get(pk, (None, None))
        rows.append((linker.new_emails[pk], "", "", first, last, now, now))
    ids = _db.insert_rows(
        Customer,
        ("email", "name", "phone", "first_seen_at", "last_seen_at", "created_at", "updated_at"),
        rows,
    )
    real = dict(zip(todo, ids, strict=True))
    for pk in list(linker.alias):
        root = linker.find(pk)
        if pk < 0 and root in real:
            real[pk] = real[root]
    return real


def _insert_refs(source: str, linker: _Linker, real: dict[int, int]) -> None:
    now = timezone.now()
    rows = [
        (source, ext, real.get(linker.find(pk), linker.find(pk)), now) for ext, pk in linker.new_refs.items()
    ]
    rows += [
        (EMAIL_SOURCE, e, real.get(linker.find(pk), linker.find(pk)), now)
        for e, pk in linker.new_email_refs.items()
    ]
    # In key order: two writers inserting the same new refs then wait for each other in one
    # direction only, never in a cycle (a deadlock PostgreSQL needs a second to detect).
    rows.sort()
    fields = ("source", "external_id", "customer_id", "created_at")
    if _db.insert_absent(ExternalRef, fields, rows) < len(rows):
        # Writers that linked some of these identities first have now committed: linking
        # again (customers_resolve) finds their customers.
        raise IntegrityError("A concurrent writer linked some of these identities first.")


def _seen_update(seen_by: dict[int, tuple[datetime, datetime]]) -> None:
    """Widen first/last seen of existing customers: one statement (PostgreSQL) or fetch + bulk_update."""
    if not seen_by:
        return
    if _db.on_postgres():
        pks = list(seen_by)
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE ingestion_customer c
                   SET first_seen_at = LEAST(c.first_seen_at, v.f),
                       last_seen_at = GREATEST(c.last_seen_at, v.l)
                   FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS v(id, f, l)
                   WHERE c.id = v.id AND (c.first_seen_at IS NULL OR c.first_seen_at > v.f
                                          OR c.last_seen_at IS NULL OR c.last_seen_at < v.l)""",
                [pks, [seen_by[p][0] for p in pks], [seen_by[p][1] for p in pks]],
            )
        return
    changed = []
    for c in Customer.objects.filter(pk__in=list(seen_by)).only("id", "first_seen_at", "last_seen_at"):
        lo, hi = seen_by[c.pk]
        if c.first_seen_at is None or c.first_seen_at > lo or c.last_seen_at is None or c.last_seen_at < hi:
            c.first_seen_at = lo if c.first_seen_at is None else min(c.first_seen_at, lo)
            c.last_seen_at = hi if c.last_seen_at is None else max(c.last_seen_at, hi)
            changed.append(c)
    Customer.objects.bulk_update(changed, ["first_seen_at", "last_seen_at"], batch_size=500)


def _email_fill(emails: dict[int, str]) -> None:
    """Give customers without an e-mail the one a record just linked to them."""
    objs = list(Customer.objects.filter(pk__in=list(emails), email="").only("id", "email"))
    for c in objs:
        c.email = emails[c.pk]
    Customer.objects.bulk_update(objs, ["email"], batch_size=500)


@transaction.atomic
def customer_merge(*, survivor_pk: int, merged_pk: int, reason: str, evidence: dict) -> CustomerMerge:
    """Fold customer `merged_pk` into `survivor_pk`: every row is repointed, nothing is deleted."""
    survivor = Customer.objects.select_for_update().get(pk=survivor_pk)
    merged = Customer.objects.select_for_update().get(pk=merged_pk)
    moved = {
        model._meta.model_name: model.objects.filter(customer_id=merged_pk).update(customer_id=survivor_pk)
        for model in (ExternalRef, Order, Interaction, Event)
    }
    moved["customer"] = Customer.objects.filter(merged_into_id=merged_pk).update(merged_into_id=survivor_pk)
    for attr in ("email", "name", "phone"):
        if not getattr(survivor, attr):
            setattr(survivor, attr, getattr(merged, attr))
    survivor.first_seen_at = _min(survivor.first_seen_at, merged.first_seen_at)
    survivor.last_seen_at = _max(survivor.last_seen_at, merged.last_seen_at)
    survivor.profile_updated_at = _max(survivor.profile_updated_at, merged.profile_updated_at)
    survivor.save(
        update_fields=[
            "email",
            "name",
            "phone",
            "first_seen_at",
            "last_seen_at",
            "profile_updated_at",
            "updated_at",
        ]
    )
    merged.merged_into_id = survivor_pk
    merged.save(update_fields=["merged_into", "updated_at"])
    return CustomerMerge.objects.create(
        merged_customer_id=merged_pk, into_id=survivor_pk, reason=reason, evidence=evidence, moved=moved
    )


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


def _profile_update(pk: int, values: dict, version: datetime | None) -> bool:
    """Apply a source's e-mail, name and phone for the customer unless the record is older than
    the ones applied last (Shopify retries and reorders deliveries for hours); a record without
    `updated_at` always applies. True when something was written."""
    if not values:
        return False
    rows = Customer.objects.filter(pk=pk)
    if version is None:
        return rows.update(**values, updated_at=timezone.now()) > 0
    # One conditional UPDATE: of two syncs of the same customer racing, the newer one wins.
    not_older = Q(profile_updated_at__isnull=True) | Q(profile_updated_at__lte=version)
    return rows.filter(not_older).update(**values, profile_updated_at=version, updated_at=timezone.now()) > 0


@transaction.atomic
def customer_sync(*, source: str, data: dict):
    """Create or update one customer from a source's customer record (merging when it proves one)."""
    from ingestion.interface import CustomerRef

    clean, errors = customer_clean(data)
    if clean is None:
        raise RecordInvalid("Invalid customer record.", details=errors)
    platform_pk = clean["platform_customer_id"]
    known = platform_customers({platform_pk} - {None})
    if platform_pk is not None and platform_pk not in known:
        raise RecordInvalid(
            "Invalid customer record.", details={"platform_customer_id": ["No such customer."]}
        )
    res = customers_resolve(
        source=source,
        identities=[(clean["customer_id"], clean["email"], platform_pk)],
        seen=[None],
        platform_map=known,
    )
    pk = res.customer_pks[0]
    updated = _profile_update(
        pk, {k: clean[k] for k in ("name", "phone", "email") if clean[k]}, clean["updated_at"]
    )
    if res.changed or updated:
        from ingestion.services.common import customers_changed_on_commit

        customers_changed_on_commit(res.changed | {pk})
    return CustomerRef(
        customer_id=str(pk),
        created=pk in res.created,
        merged_from=tuple(str(m) for s, m in res.merges if s == pk),
    )
