"""checks layer (kept light: the command line reads its default from here)."""

DEFAULT_CONCURRENCY = 24
"""Checks run at once, unless told otherwise. They mostly wait on the network (in the app, in
a process of their own): the bundled Post-Deployment phase's 19 checks run in one wave; a bound
of 8 ran them in three, so a phase took three times its slowest check. Still a bound: a phase
of a hundred checks must not open a hundred connections to production at once."""
