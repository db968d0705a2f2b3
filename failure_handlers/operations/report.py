"""What a requeue or delete run did: exact counts, the first problems, the time taken.

One report type for `rq-dlq requeue`, the dashboard's result page and the API's JSON, so that
the three say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from failure_handlers.operations.requeue import Outcome, Result

MAX_PROBLEMS = 1_000  # skipped/error details kept in a report; the counts stay exact


@dataclass(frozen=True)
class Problem:
    job_id: str
    result: str  # "skipped" or "error"
    detail: str


@dataclass
class BulkReport:
    action: str  # "requeue" or "delete"
    dry_run: bool
    selected: int  # ids the action was bounded to
    done: int = 0  # requeued / deleted (or would be, in a dry run)
    skipped: int = 0
    errors: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS skips and errors
    seconds: float = 0.0
    processed: int = 0  # ids gone through so far (done, skipped or an error); the rest untouched
    cancelled: bool = False  # stopped between two batches (`stop`): the ids after `processed` untouched

    @property
    def untouched(self) -> int:
        """Ids the run never reached (a cancelled run's rest): still as they were."""
        return self.selected - self.processed

    def count(self, outcome: Outcome) -> None:
        """Add one requeue outcome: done if (it would be) requeued, else a skip or an error."""
        if outcome.result in (Result.REQUEUED, Result.WOULD_REQUEUE):
            self.done += 1
        else:
            self.note(outcome.job_id, outcome.result, outcome.detail)

    def note(self, job_id: str, result: str, detail: str) -> None:
        if result == Result.ERROR:
            self.errors += 1
        else:
            self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(job_id, str(result), detail))

    def line(self) -> str:
        """`requeued 3, skipped 0, errors 1 (0.01 s)`, the CLI's summary line."""
        verb = {"requeue": "requeued", "delete": "deleted"}[self.action]
        verb = f"would {self.action}" if self.dry_run else verb
        stopped = f", cancelled: {self.untouched} not reached" if self.cancelled else ""
        return f"{verb} {self.done}, skipped {self.skipped}, errors {self.errors}{stopped} ({self.seconds:.2f} s)"

    def as_json(self) -> dict[str, object]:
        done_name = {"requeue": "requeued", "delete": "deleted"}[self.action]
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "selected": self.selected,
            ("would_" + self.action if self.dry_run else done_name): self.done,
            "skipped": self.skipped,
            "errors": self.errors,
            "problems": [problem.__dict__ for problem in self.problems],
            "problems_truncated": self.skipped + self.errors > len(self.problems),
            "seconds": round(self.seconds, 3),
            "summary": self.line(),
        }
