"""``python -m last9_change_event``: the command line."""

import sys

from last9_change_event.cli.command import main

sys.exit(main())
