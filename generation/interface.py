"""The generation app's public Python API (the only module other apps import)."""
