#!/usr/bin/env python3
"""The action's post step (``post-entrypoint``): the stop of an ``auto-stop`` start."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from last9_change_event.edge import post

if __name__ == "__main__":
    sys.exit(post())
