"""Frozen entry point of `vaddesk-gui` (windowed executable: no console on Windows/macOS).

A windowed build starts with sys.stdout/sys.stderr set to None; they are made safe before anything
else is imported. Arguments are files/folders to open, as with `vaddesk FILE...`; options such as
`--self-test` still work (their output goes to the log when there is no console).
"""

import multiprocessing

from vaddesk.applog import make_std_streams_safe

make_std_streams_safe()
# `vaddesk segment --jobs N` spawns worker processes: in a frozen app each one starts this same
# executable, and freeze_support() turns it into the worker instead of a second app.
multiprocessing.freeze_support()

from vaddesk.cli import main  # noqa: E402

raise SystemExit(main())
