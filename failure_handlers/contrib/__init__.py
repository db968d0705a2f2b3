"""Integrations with the frameworks RQ apps live in; each needs its own extra (`pip install
'rq-dead-letter[django]'`) and is imported only by applications that use it."""
