"""Front-end: the command line. Flags and ``LAST9_*`` variables in, an exit code and a JSON or
``NAME=value`` result out; ``wrap`` around a command."""

from last9_change_event.cli.command import main

__all__ = ["main"]
