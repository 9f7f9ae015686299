"""rsdeploy-tui: a full-screen terminal runbook for production deployments."""

__version__ = "0.1.0"
