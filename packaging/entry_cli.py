"""Frozen entry point of `vaddesk` (console executable): the full CLI, and the GUI without args."""

import multiprocessing

from vaddesk.applog import make_std_streams_safe

make_std_streams_safe()
# `vaddesk segment --jobs N` spawns worker processes: in a frozen app each one starts this same
# executable, and freeze_support() turns it into the worker instead of a second app.
multiprocessing.freeze_support()

from vaddesk.cli import main  # noqa: E402

raise SystemExit(main())
