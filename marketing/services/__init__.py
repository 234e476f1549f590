"""Marketing business logic (writes); reads live in marketing.selectors."""
