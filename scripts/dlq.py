"""Inspect and tidy the dead-letter queue: the same commands as the `rq-dlq` console script.

Kept so `python scripts/dlq.py list` and `make dlq-list` work as documented; needs the package
installed (`make setup` installs it in editable mode).
"""

from failure_handlers.cli import main

if __name__ == "__main__":
    main()
