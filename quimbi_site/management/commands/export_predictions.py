"""intelligence's `export_predictions`, with every run written to the audit log.

quimbi_site precedes intelligence in INSTALLED_APPS, so this command is the
one `manage.py export_predictions` runs; the export itself is unchanged.
"""

from pathlib import Path

from intelligence.management.commands import export_predictions
from quimbi_site.audit import audit_actor, audit_record


class Command(export_predictions.Command):
    def handle(self, *args, out, as_of=None, horizon_days=None, **options):
        details = {
            "file": Path(out).name,
            "as_of": as_of.isoformat() if as_of else None,
            "horizon_days": horizon_days,
        }
        with audit_actor("command:export_predictions"):
            try:
                result = super().handle(*args, out=out, as_of=as_of, horizon_days=horizon_days, **options)
            except Exception as exc:
                audit_record(
                    action="data.export",
                    target="predictions",
                    outcome="failure",
                    details={**details, "error": type(exc).__name__},
                )
                raise
            audit_record(action="data.export", target="predictions", details=details)
        return result
