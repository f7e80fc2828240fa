"""`python -m pi_agent.sim` runs the simulator without the rest of the command line."""

import sys

from ..cliargs import Parser
from .cli import add_arguments, run

parser = Parser(prog="python -m pi_agent.sim", description=__doc__)
add_arguments(parser)
sys.exit(run(parser.parse_args()))
