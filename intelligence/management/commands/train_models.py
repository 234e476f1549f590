from datetime import date

from django.core.management.base import BaseCommand, CommandError

from intelligence.errors import IntelligenceError
from intelligence.management.commands._arguments import as_of_checked
from intelligence.management.commands._progress import tqdm_progress
from intelligence.services import training


class Command(BaseCommand):
    help = "Train churn, LTV and segmentation on the ingested data and activate the new version."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="YYYY-MM-DD (exclusive)")
        parser.add_argument("--horizon-days", type=int, default=None)
        parser.add_argument(
            "--no-activate", action="store_true", help="store the version without activating it"
        )

    def handle(self, *args, as_of=None, horizon_days=None, no_activate=False, verbosity=1, **options):
        as_of_checked(as_of)
        if horizon_days is not None and horizon_days < 1:
            raise CommandError("--horizon-days must be positive.")
        with tqdm_progress(desc="train", stream=self.stderr._out, disable=verbosity < 1) as progress:
            try:
                version = training.models_train(
                    as_of=as_of, horizon_days=horizon_days, progress=progress, activate=not no_activate
                )
            except IntelligenceError as exc:
                raise CommandError(str(exc)) from exc
        churn, ltv = version.metrics.get("churn", {}), version.metrics.get("ltv", {})
        self.stdout.write(
            f"Trained {version.label} as of {version.as_of}, horizon {version.horizon_days} days, "
            f"{version.customers_trained} customers, {version.training_seconds:.1f} s; "
            f"churn {churn.get('model')} ROC AUC {churn.get('roc_auc')}, LTV {ltv.get('model')} "
            f"Spearman {ltv.get('spend_spearman')}{'' if no_activate else ' (active)'}."
        )
