"""Frozen entry point of `vaddesk` (console executable): the full CLI, and the GUI without args."""

from vaddesk.applog import make_std_streams_safe

make_std_streams_safe()

from vaddesk.cli import main  # noqa: E402

raise SystemExit(main())
