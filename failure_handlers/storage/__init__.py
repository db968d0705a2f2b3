"""The project's Redis namespace: every key we own, and every Lua script that writes them.

Every key lives under one prefix (`DLQ_PREFIX`, default `rq:dlq:`) and is declared in `keys.py`
(class `DlqKeys`, named for that prefix), with the names we write into RQ's job hashes (`META_*`);
nothing else builds a key name. Every Lua script is a file in `lua/`, loaded and sent by `scripts.py`;
`lua/prelude.lua` builds the same key names from the prefix and is prepended to each script.

Its users, each over its own keys: the dead-letter queue (`dlq/`: entries, indexes, claims), circuit
breakers (`circuits/`), idempotent tasks (`idempotency/`), alerts (`alerts/`), the failure archive's
event stream (`archive/`), Prometheus counters (`metrics/`), the reconciler's last pass
(`operations/`) and the dashboard's confirmed selections (`web/`). The stored formats are described
in `keys.py`; changing one is a migration, not a refactor.
"""
