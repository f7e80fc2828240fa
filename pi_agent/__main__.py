"""`python -m pi_agent` is the `settle-guard` command."""

import sys

from .cli import main

sys.exit(main())
