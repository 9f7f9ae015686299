"""checklist layer."""
