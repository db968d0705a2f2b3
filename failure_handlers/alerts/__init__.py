"""Alert notifications: `rq-dlq alert --once | --watch` (never in a worker).

`rules.py` decides (pure), `figures.py` reads the DLQ, `messages.py` words a notification,
`channels.py` delivers it (webhook, SMTP), `outbox.py` keeps every delivery until it succeeds,
`notifier.py` claims each (rule, subject) once per cool-down in Redis and runs the passes.
"""
