"""What operators do to dead jobs: requeue (exactly once), reconcile with RQ, delete."""
