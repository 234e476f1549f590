"""Internal services of the intelligence app (other apps use intelligence.interface)."""
