"""`python -m kiosk.cli`: the `kiosk` command without its console script (the deploy tests use it)."""

import sys

from kiosk.cli import main

sys.exit(main())
