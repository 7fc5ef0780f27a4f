"""The CLI's commands: each module has ``add_parser(sub) -> ArgumentParser`` and
``run(args) -> int`` (see vaddesk.cli)."""

import argparse
from typing import TypeAlias

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What vaddesk.cli hands each command's ``add_parser``: the subcommand collection."""
