"""The RQ key names the delete script builds (`operations.delete.rq_key_names`): RQ's own, rebuilt."""

from __future__ import annotations

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from failure_handlers.operations import delete
from failure_handlers.operations.delete import rq_key_names


def rebuilt(names: tuple[str, ...], index: int, name: str) -> str:
    """What delete.lua builds from the `index`th (prefix, suffix) pair for `name`."""
    return names[2 * index] + name + names[2 * index + 1]


@pytest.mark.parametrize("name", ["billing", "job-1", "a:b:c", "0ec3f1e2-9d0b-4bd4-9a3e-1e8f6b8d2d41", "é"])
def test_the_script_builds_the_keys_rq_builds(name):
    names = rq_key_names()
    assert len(names) == 8
    assert rebuilt(names, 0, name) == FailedJobRegistry(name).key
    assert rebuilt(names, 1, name) == Job.key_for(name)
    assert rebuilt(names, 2, name) == Job.dependents_key_for(name)
    assert rebuilt(names, 3, name) == Result.get_key(name)


def test_a_key_rq_builds_without_the_name_is_refused(monkeypatch):
    monkeypatch.setattr(delete.Result, "get_key", classmethod(lambda cls, job_id: "rq:results"))
    with pytest.raises(ValueError, match="cannot follow"):
        rq_key_names()
