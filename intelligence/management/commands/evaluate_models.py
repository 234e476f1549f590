from django.core.management.base import BaseCommand

from intelligence import selectors


def _cell(value) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"


class Command(BaseCommand):
    help = "Print the validation metrics of every model version."

    def handle(self, *args, **options):
        versions = list(selectors.versions_list())
        if not versions:
            self.stdout.write("No model versions yet; run `manage.py train_models`.")
            return
        header = ["version", "active", "as_of", "horizon", "churn model", "ltv model"]
        header += list(selectors.METRIC_NAMES)
        rows = []
        for v in versions:
            m = selectors.version_metrics(version=v)
            rows.append(
                [v.label, "*" if v.active else "", str(v.as_of), str(v.horizon_days)]
                + [str(m["churn_model"] or "-"), str(m["ltv_model"] or "-")]
                + [_cell(m[name]) for name in selectors.METRIC_NAMES]
            )
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for line in [header, *rows]:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
