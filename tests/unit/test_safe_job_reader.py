"""Job data is decoded without ever running code from Redis."""

import json
import os
import pickle
from datetime import UTC, datetime

from failure_handlers.jobs.safe_reader import UNDECODED, safe_loads


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/never-created-by-safe-loads",))


def test_plain_pickles_and_json_decode():
    meta = {"failures": [{"attempt": 1, "message": "boom"}], "at": datetime(2026, 1, 1, tzinfo=UTC), "ids": {1, 2}}
    assert safe_loads(pickle.dumps(meta), "pickle") == meta
    assert safe_loads(json.dumps({"a": [1]}).encode(), "json") == {"a": [1]}


def test_a_pickle_that_would_run_code_is_refused_not_run():
    assert safe_loads(pickle.dumps(Evil()), "pickle") is UNDECODED
    assert not os.path.exists("/tmp/never-created-by-safe-loads")


def test_garbage_and_custom_serializers_are_undecoded():
    assert safe_loads(b"\x80\x05garbage", "pickle") is UNDECODED
    assert safe_loads(b"{not json", "json") is UNDECODED
    assert safe_loads(pickle.dumps({}), "myapp.serializers.Msgpack") is UNDECODED
