"""Two instances on one host (`make run` beside a test server, two checkouts) keep what is theirs: the
Prometheus counters' files and gunicorn's control socket, both named after the instance's address by
gunicorn.conf.py when the environment names none."""

from __future__ import annotations

import re
import tempfile
import urllib.request
from pathlib import Path

from harness.servers import AppServer


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def _vast_answers(server: AppServer) -> int:
    text = _get(f"{server.base_url}/metrics").decode()
    found = re.findall(r'^adserver_http_requests_total\{[^}]*route="/vast"[^}]*\} ([0-9.e+]+)$', text, re.M)
    return int(sum(float(value) for value in found))


def _instance_files(server: AppServer) -> tuple[Path, Path]:
    name = f"adserver-127_0_0_1_{server.port}"
    return Path(tempfile.gettempdir()) / f"{name}-prometheus", Path(tempfile.gettempdir()) / f"{name}.ctl"


def test_a_second_instance_leaves_the_first_ones_metrics_and_control_socket(embedded_server):
    defaults = {"PROMETHEUS_MULTIPROC_DIR": None, "GUNICORN_CONTROL_SOCKET": None}
    first = embedded_server(**defaults)
    for _ in range(3):
        _get(f"{first.base_url}/vast?max_duration=30")
    assert _vast_answers(first) == 3

    second = embedded_server(**defaults)
    _get(f"{second.base_url}/vast?max_duration=30")

    assert _vast_answers(first) == 3  # the second's start wiped nothing of the first's
    assert _vast_answers(second) == 1
    (first_metrics, first_socket), (second_metrics, second_socket) = map(_instance_files, (first, second))
    assert first_metrics.is_dir() and second_metrics.is_dir()
    assert first_socket.is_socket() and second_socket.is_socket()

    first.stop()
    assert not first_metrics.exists()  # its counters' files go with it
    assert _vast_answers(second) == 1
