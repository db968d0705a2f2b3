"""Redis Cluster is refused in one line: RQ cannot run on it (a queue's keys and our Lua scripts span slots)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import assert_one_line_error, run_script
from tests.redis_servers import DATA_ARGS, RedisProcess, requires_redis_server, start_server

pytestmark = [pytest.mark.integration, requires_redis_server]


@pytest.fixture(scope="module")
def cluster_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """One node started in cluster mode, no slots assigned (every key command answers CLUSTERDOWN)."""
    directory = tmp_path_factory.mktemp("cluster")
    node = start_server(
        directory, [*DATA_ARGS, "--cluster-enabled", "yes", "--cluster-config-file", str(directory / "nodes.conf")]
    )
    with node.client() as admin:  # a user that may not run INFO: only a cluster reply can tell
        admin.acl_setuser("no-info", enabled=True, passwords=["+no-info-pw"], keys=["*"], channels=["*"],
                          commands=["+@all", "-info"])  # fmt: skip
    yield node
    node.stop()


def test_a_cluster_url_is_one_line_exit_2():
    result = run_script("scripts/dlq.py", "stats", env={"REDIS_URL": "redis+cluster://:pw-1234@127.0.0.1:7000/0"})
    assert_one_line_error(result, "REDIS_URL=", "RQ does not support Redis Cluster")
    assert "pw-1234" not in result.stderr


def test_a_server_in_cluster_mode_is_one_line_exit_2(cluster_node):
    result = run_script("scripts/dlq.py", "stats", env={"REDIS_URL": f"redis://127.0.0.1:{cluster_node.port}/0"})
    assert_one_line_error(result, "is a cluster node", "RQ does not support Redis Cluster")


def test_a_cluster_reply_is_explained_when_info_is_not_allowed(cluster_node):
    url = f"redis://no-info:no-info-pw@127.0.0.1:{cluster_node.port}/0"
    result = run_script("scripts/dlq.py", "list", env={"REDIS_URL": url})
    assert_one_line_error(result, "answered as a cluster node", "RQ does not support Redis Cluster")
    assert "no-info-pw" not in result.stderr
