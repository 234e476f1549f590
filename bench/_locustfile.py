"""Locust users of bench/loadtest.py (`make loadtest`); run by it, not a benchmark of its own.

One user class; the traffic mix is its task weights (they add up to 100):
  70 ingestion   new order batches sent with an Idempotency-Key (40), retries of an answered
                 batch with the same key (8), batches mixing new and already-stored orders (12),
                 interaction batches (5), event batches (5);
  20 intelligence  customer detail (10), churn (3), LTV (3), score (3), model list (1);
  10 agent pages   queue (5) and ticket (5); each agent account logs in once, through the form.

bench/loadtest.py writes the configuration (JSON, path in LOADTEST_CONFIG) and reads what
each locust process writes into the configuration's `out_dir`:
  batches-<pid>.jsonl  every ingestion request and its answer (format: bench/_loadcheck.py)
  samples-<pid>.csv    every request: group, name, end time, milliseconds, status, ok
  run-<pid>.json       when the test started and when it began to stop
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from collections import defaultdict, deque
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlencode

from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task
from locust.contrib.fasthttp import FastHttpSession

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONFIG = json.loads(Path(os.environ["LOADTEST_CONFIG"]).read_text(encoding="utf-8"))
OUT = Path(CONFIG["out_dir"])
PID = os.getpid()
SHOP_CUSTOMERS = 20  # customers per generated mini-shop (~200 orders, ~60 interactions, ~300 events)
BUFFER_CAP = 5_000  # generated records kept per kind; the rest is dropped, not sent
SENT_KEPT = 2_000  # answered orders kept per user for deliberate duplicates
# Unique per process and call: each mini-shop has its own seed, so its ids are new (synthetic
# ids and e-mails embed the seed) and never collide with another user's or the base shop's.
_SEEDS = itertools.count(PID * 1_000_000 + 1)
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

# The desk's agents stay logged in: one browser session per agent account, shared by the users
# playing that agent, so the login form is used once per agent (as at a real desk), not per user.
_desk: dict[str, FastHttpSession] = {}
_desk_locks: dict[str, Semaphore] = defaultdict(Semaphore)

_batches = (OUT / f"batches-{PID}.jsonl").open("a", encoding="utf-8")
_samples_fh = (OUT / f"samples-{PID}.csv").open("a", encoding="utf-8", newline="")
_samples = csv.writer(_samples_fh)


@events.request.add_listener
def _sample(request_type, name, response_time, response=None, exception=None, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    ok = int(exception is None)
    _samples.writerow((name.split(" ", 1)[0], name, f"{time.time():.3f}", f"{response_time:.1f}", status, ok))


@events.user_error.add_listener
def _user_error(user_instance, exception, tb, **kwargs):
    # A task that raised (e.g. no login form) is an error of the run, like a failed request.
    name = f"user error: {type(exception).__name__}"
    _samples.writerow(("user", name, f"{time.time():.3f}", "0", 0, 0))


def _text(resp) -> str:
    if not resp.status_code:
        return repr(getattr(resp, "error", None))
    try:
        return resp.text or ""
    except Exception as exc:  # an unreadable body is still a failure to report
        return repr(exc)


_run = {"pid": PID}


@events.test_start.add_listener
def _started(**kwargs):
    _run["started"] = time.time()


@events.test_stopping.add_listener
def _stopping(**kwargs):
    _run["stopping"] = time.time()


@events.quitting.add_listener
def _quitting(**kwargs):
    _run.setdefault("stopping", time.time())
    _batches.close()
    _samples_fh.close()
    (OUT / f"run-{PID}.json").write_text(json.dumps(_run), encoding="utf-8")


@events.init.add_listener
def _generator_warm(**kwargs):
    """Import numpy and build the product catalogue before the clock runs: done on the first
    refill instead, it would stall the event loop and inflate every request then in flight."""
    from ingestion.synthetic import shop_blocks

    list(shop_blocks(customers=1, seed=1))


class _Shop:
    """Fresh synthetic records for one user, drawn from small generated shops."""

    def __init__(self) -> None:
        self.buffers: dict[str, deque] = {k: deque() for k in ("orders", "interactions", "events")}

    def take(self, kind: str, n: int) -> list[dict]:
        buf = self.buffers[kind]
        while len(buf) < n:
            self._refill()
        return [buf.popleft() for _ in range(n)]

    def _refill(self) -> None:
        from ingestion.synthetic import shop_blocks

        for block in shop_blocks(customers=SHOP_CUSTOMERS, seed=next(_SEEDS)):
            for kind, buf in self.buffers.items():
                buf.extend(getattr(block, kind))
                while len(buf) > BUFFER_CAP:  # orders drive the refills; other kinds pile up
                    buf.popleft()


class MixedClient(FastHttpUser):
    wait_time = between(CONFIG["wait_min"], CONFIG["wait_max"])
    # Production runs behind a TLS-terminating proxy: with DEBUG off Django redirects plain
    # HTTP and sets Secure cookies, so every request says what the proxy would say.
    default_headers = {"X-Forwarded-Proto": "https"}
    network_timeout = 90.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.shop = _Shop()
        self.sent_orders: deque[dict] = deque(maxlen=SENT_KEPT)
        self.retryable: tuple[bytes, str, list[str]] | None = None  # body, key, ids
        self.agent = random.choice(CONFIG["agents"])

    # --- ingestion (70) ------------------------------------------------------------------------

    @task(40)
    def orders_new(self) -> None:
        records = self.shop.take("orders", CONFIG["batch"])
        key = f"load-{uuid.uuid4().hex}"
        body = self._body(records)
        if self._ingest("orders", "new", body, records, [], key=key) == 200:
            self.retryable = (body, key, [r["external_id"] for r in records])

    @task(8)
    def orders_retry(self) -> None:
        """The client did not see the answer (say, a timeout) and sends the same request again."""
        if self.retryable is None:
            self.orders_new()
            return
        body, key, ids = self.retryable
        self.retryable = None
        self._ingest("orders", "retry", body, [], ids, key=key)

    @task(12)
    def orders_mixed(self) -> None:
        """A re-export overlapping the previous one: a fifth of the batch is already stored."""
        n_old = min(len(self.sent_orders), CONFIG["batch"] // 5)
        old = random.sample(list(self.sent_orders), n_old)
        new = self.shop.take("orders", CONFIG["batch"] - n_old)
        records = new + old
        random.shuffle(records)
        self._ingest("orders", "mixed", self._body(records), new, [r["external_id"] for r in old])

    @task(5)
    def interactions_new(self) -> None:
        records = self.shop.take("interactions", CONFIG["batch"])
        self._ingest("interactions", "new", self._body(records), records, [])

    @task(5)
    def events_new(self) -> None:
        records = self.shop.take("events", CONFIG["batch"])
        self._ingest("events", "new", self._body(records), records, [])

    def _body(self, records: list[dict]) -> bytes:
        return json.dumps({"source": CONFIG["source"], "records": records}, separators=(",", ":")).encode()

    def _ingest(self, kind, mode, body, new: list[dict], old: list[str], *, key: str | None = None) -> int:
        """POST one batch, log it for the exactly-once check, return the status (0: no answer)."""
        headers = {"Content-Type": "application/json", "X-API-Key": CONFIG["ingest_key"]}
        if key:
            headers["Idempotency-Key"] = key
        id_field = "message_id" if kind == "events" else "external_id"
        with self.client.post(
            f"/api/data/{kind}",
            data=body,
            headers=headers,
            name=f"ingest POST {kind} ({mode})",
            catch_response=True,
        ) as resp:
            status = resp.status_code or 0
            counts = None
            if status == 200:
                try:
                    data = resp.json()
                except ValueError:
                    resp.failure("200 without a JSON body")
                else:
                    counts = {k: data.get(k) for k in ("accepted", "duplicates", "updated", "rejected")}
            else:
                resp.failure(f"HTTP {status}: {_text(resp)[:200]}")
            replayed = (resp.headers or {}).get("Idempotent-Replayed") == "true"
        entry = {
            "kind": kind,
            "mode": mode,
            "status": status,
            "replayed": replayed,
            "key": key,
            "new": [[r[id_field], len(r.get("lines") or ())] for r in new],
            "old": old,
            "counts": counts,
        }
        _batches.write(json.dumps(entry, separators=(",", ":")) + "\n")
        _batches.flush()
        if status == 200 and kind == "orders" and mode != "retry":
            self.sent_orders.extend(new)
        return status

    # --- intelligence reads (20) ---------------------------------------------------------------

    def _read(self, method: str, path: str, name: str, payload: dict | None = None) -> None:
        headers = {"X-API-Key": CONFIG["read_key"]}
        if payload is None:
            self.client.request(method, path, headers=headers, name=f"intel {method} {name}")
        else:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode()
            self.client.request(method, path, data=body, headers=headers, name=f"intel {method} {name}")

    def _customer(self) -> str:
        return random.choice(CONFIG["customer_ids"])

    @task(10)
    def customer_detail(self) -> None:
        cid = self._customer()
        self._read("GET", f"/api/intelligence/customers/{cid}", "/api/intelligence/customers/<id>")

    @task(3)
    def churn(self) -> None:
        self._read(
            "POST", "/api/intelligence/predict/churn", "predict/churn", {"customer_id": self._customer()}
        )

    @task(3)
    def ltv(self) -> None:
        payload = {"customer_id": self._customer(), "horizon_months": 12}
        self._read("POST", "/api/intelligence/predict/ltv", "predict/ltv", payload)

    @task(3)
    def score(self) -> None:
        payload = {"customer_id": self._customer(), "scoring_context": "retention"}
        self._read("POST", "/api/intelligence/score", "score", payload)

    @task(1)
    def models(self) -> None:
        self._read("GET", "/api/intelligence/models", "models")

    # --- agent pages (10) ----------------------------------------------------------------------

    def _logged_in(self) -> FastHttpSession | None:
        """The agent's browser session (cookies apart from the API client's), None if login failed."""
        username = self.agent["username"]
        with _desk_locks[username]:  # one login per agent, however many users play that agent
            if username not in _desk:
                browser = self._login()
                if browser is None:
                    return None
                _desk[username] = browser
            return _desk[username]

    def _login(self) -> FastHttpSession | None:
        browser = FastHttpSession(
            base_url=self.host,
            request_event=self.environment.events.request,
            user=self,
            network_timeout=self.network_timeout,
            connection_timeout=self.connection_timeout,
            headers=self.default_headers,
        )
        # The session and CSRF cookies are Secure (DEBUG off). A browser sends them over the
        # proxy's HTTPS; this plain-HTTP hop must send them too (locust's own workaround for
        # that no longer works with geventhttpclient, which sets the request type per URL).
        browser.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))
        page = browser.get("/accounts/login/?next=/support/", name="agent GET login")
        match = _CSRF.search(page.content or b"")
        if match is None:
            raise RuntimeError(f"no CSRF token on the login page (HTTP {page.status_code})")
        form = {
            "csrfmiddlewaretoken": match.group(1).decode(),
            "username": self.agent["username"],
            "password": self.agent["password"],
            "next": "/support/",
        }
        origin = self.host.replace("http://", "https://", 1)
        with browser.post(
            "/accounts/login/",
            data=urlencode(form),
            # Django checks a secure POST's origin against the host: a browser sends both.
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": origin + "/accounts/login/",
            },
            name="agent POST login",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if resp.status_code != 302:  # a refused login renders the form again (200)
                resp.failure(f"login refused (HTTP {resp.status_code})")
                return None
        return browser

    def _page(self, path: str, name: str) -> None:
        browser = self._logged_in()
        if browser is None:
            return  # the failed login is already counted
        # Redirects are not followed: a page answering 302 sent the agent back to the login form.
        with browser.get(path, name=name, allow_redirects=False, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                if resp.status_code == 302:
                    _desk.pop(self.agent["username"], None)  # log in again next time

    @task(5)
    def queue(self) -> None:
        view = random.choice(("mine", "unassigned", "breaching", "all"))
        self._page(f"/support/?view={view}", "agent GET /support/?view=<view>")

    @task(5)
    def ticket(self) -> None:
        ticket_id = random.choice(self.agent["ticket_ids"])
        self._page(f"/support/tickets/{ticket_id}/", "agent GET /support/tickets/<id>/")
