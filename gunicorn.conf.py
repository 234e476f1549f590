"""gunicorn settings read from the project root (`gunicorn quimbi_site.wsgi`); flags override them."""

import gc
import logging

wsgi_app = "quimbi_site.wsgi:application"


def post_worker_init(worker):
    """Warm each worker before it takes requests: importing the ML stack and unpickling the active
    model cost seconds that would otherwise land on a customer's first request."""
    try:
        from intelligence.interface import models_warm

        models_warm()
    except Exception:  # a cold worker still serves; it pays on its first request instead
        logging.getLogger("quimbi").exception("model warm-up failed")
    # What is loaded now lives as long as the worker: the collector's full passes skip it.
    gc.freeze()
