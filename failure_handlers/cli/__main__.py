"""`python -m failure_handlers.cli`: the same as the `rq-dlq` console script."""

from failure_handlers.cli import main

main()
