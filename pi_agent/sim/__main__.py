"""`python -m pi_agent.sim` runs the simulator without the rest of the command line."""

import argparse
import sys

from .cli import add_arguments, run

parser = argparse.ArgumentParser(prog="python -m pi_agent.sim", description=__doc__)
add_arguments(parser)
sys.exit(run(parser.parse_args()))
