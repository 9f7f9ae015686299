"""ui/screens layer."""
