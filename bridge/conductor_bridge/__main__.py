"""`python -m conductor_bridge` is `conductor-bridge`."""

from conductor_bridge.cli import main

raise SystemExit(main())
