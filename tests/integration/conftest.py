"""Fixtures of the integration tests that start services of their own."""

from __future__ import annotations

import shutil

import pytest

from harness.servers import RedisServer


@pytest.fixture
def redis_process(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def start_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    servers = []

    def start(*options: str, durable: bool = False) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", durable=durable, options=options).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()
