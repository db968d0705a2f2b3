"""From a failure to its record: bounded texts, the cause of failures known only from RQ,
failure-group fingerprints, and the DLQ entry built from them. Pure code but for `entry_builder`."""
