from vaddesk.cli import main

raise SystemExit(main())
