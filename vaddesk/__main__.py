from vaddesk.cli import main

# The guard keeps spawned worker processes (GUI analysis, batch jobs), which import this
# module as __mp_main__, from starting a second vaddesk.
if __name__ == "__main__":
    raise SystemExit(main())
