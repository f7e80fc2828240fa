"""A terminal-side ZVT simulator: technicians bench-test a guard without a terminal, tests and
the demo run against it. `SimTerminal` is the terminal's logic (no I/O), `SimServer` puts it on
a pty, a serial device or TCP, `faults` injects the line and host failures real shops see."""

from .faults import Faults, FaultSpecError
from .server import SimServer
from .terminal import SimTerminal

__all__ = ["FaultSpecError", "Faults", "SimServer", "SimTerminal"]
