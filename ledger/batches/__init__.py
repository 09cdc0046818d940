"""Cash-assistance batches: many payments, approved once, paid in one run."""
