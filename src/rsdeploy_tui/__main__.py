"""`python -m rsdeploy_tui` runs the same command line as `rsdeploy-tui`."""

from __future__ import annotations

import sys

from rsdeploy_tui.cli import main

sys.exit(main())
