"""Where the failures also go: Sentry (`sentry.py`) and OpenTelemetry (`tracing.py`), both optional.

Neither SDK is ever imported here: each hook looks for the SDK in `sys.modules` (the application
imported and set it up, or nothing is done) and does nothing without it. Every hook is guarded:
telemetry never stops or slows the failure handler's own work.
"""
