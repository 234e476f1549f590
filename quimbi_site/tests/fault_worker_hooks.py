"""Hooks for the real Celery workers of test_fault_worker_killed.py (not a test module).

The test starts `celery -A quimbi_site worker -I quimbi_site.tests.fault_worker_hooks`; this
module then reads, from the environment:

- QUIMBI_FAULT_HOLD, one of HOLD_POINTS, and QUIMBI_FAULT_HELD, a file path: the first process
  to reach that point inside a task creates the file (with its pid) and sleeps there, so the
  test can SIGKILL the worker at a known point of the work. Later runs pass through.
- QUIMBI_FAULT_DONE, a file path: written after every task (task id and state), so the test
  knows when the redone task has finished without polling for its effects.

Without these variables the worker is unchanged. The broker also sweeps for unacknowledged
messages every second (instead of every 100 s) so that a short visibility timeout takes effect
within the test's time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import signals

from quimbi_site.celery import app

HOLD_SECONDS = 120  # far longer than the test waits; the test kills the worker long before

app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


def _hold_here() -> None:
    held = os.environ.get("QUIMBI_FAULT_HELD", "")
    try:
        with open(held, "x") as fh:  # "x": only the first process to get here holds
            fh.write(str(os.getpid()))
    except FileExistsError:
        return
    time.sleep(HOLD_SECONDS)
    raise RuntimeError("the test did not kill the held worker")


def _after_rows_write():
    """Scoring: the rows are written and committed, the model version not yet marked scored."""
    from intelligence.services import scoring

    real = scoring.rows_write

    def rows_write(**kwargs):
        real(**kwargs)
        _hold_here()

    scoring.rows_write = rows_write


def _second_breach():
    """SLA check: the second breached timer is claimed, its breach event not yet written."""
    from support.models import SLAEvent
    from support.services import sla

    real = sla._event
    breaches = []

    def event(timer, kind, at, **data):
        if kind == SLAEvent.Kind.BREACH:
            breaches.append(timer.pk)
            if len(breaches) == 2:
                _hold_here()
        return real(timer, kind, at, **data)

    sla._event = event


HOLD_POINTS = {"scoring.after_rows_write": _after_rows_write, "sla.second_breach": _second_breach}
_installed: list[str] = []


@signals.task_prerun.connect
def _install(**kwargs) -> None:
    # In the process that runs tasks (the pool child), once, after Django is set up.
    point = os.environ.get("QUIMBI_FAULT_HOLD", "")
    if point and not _installed:
        HOLD_POINTS[point]()
        _installed.append(point)


@signals.task_postrun.connect
def _done(task_id=None, state=None, **kwargs) -> None:
    done = os.environ.get("QUIMBI_FAULT_DONE", "")
    if done:
        Path(done).write_text(f"{task_id} {state}\n")
