"""Helpers for tests of the serving and tracking paths."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from lxml import etree

from app.settings import PROJECT_ROOT
from vast.macros import fill_macros
from vast.validate import validate

NS = {"v": "http://www.iab.com/VAST"}


def runtime(app):
    return app.extensions["runtime"]


def refresh(app) -> None:
    """What the catalog loop does every tick."""
    runtime(app).catalog.refresh()


def flush(app) -> int:
    """Run the in-process flusher (and the serving counts push) until nothing is left."""
    rt = runtime(app)
    rt.counter.push()
    total = 0
    while flushed := rt.flusher.flush_once():
        total += flushed
    return total


def get_vast(client, query: str = "", version: str = "4.2", **kwargs):
    response = client.get(f"/vast?{query}", **kwargs)
    assert response.status_code == 200, response.data
    validate(response.data, version)
    return etree.fromstring(response.data)


def ads_in(document) -> list:
    """The Ad elements of a parsed VAST document (a no-fill in 4.x holds a root Error instead)."""
    return document.findall("{*}Ad")


def ad_urls(document) -> dict[str, str]:
    """Every beacon URL of a 4.x document, by event, with the path and query only (for the test client)."""
    urls = {"impression": document.findtext(".//v:Impression", namespaces=NS).strip()}
    for tracking in document.iterfind(".//v:Tracking", namespaces=NS):
        urls[tracking.get("event")] = tracking.text.strip()
    urls["click"] = document.findtext(".//v:ClickTracking", namespaces=NS).strip()
    urls["error"] = fill_macros(document.findtext(".//v:Error", namespaces=NS).strip(), {"ERRORCODE": "405"})
    return {event: _local(url) for event, url in urls.items()}


def _local(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def node_parser(script: Path, packages: tuple[str, ...]):
    """A player's parser run by node on our documents (`script` reads a JSON list of documents on stdin and
    prints a JSON list of what it saw): a callable, or a skip where node or the npm devDependencies
    (`make assets`) are missing; under CI they must be there."""
    node = shutil.which("node")
    missing = [name for name in packages if not (PROJECT_ROOT / "node_modules" / name).is_dir()]
    if node is None or missing:
        message = (
            f"{script.name} needs node and the npm devDependencies: run `make assets`"
            f" (node: {node or 'missing'}; missing packages: {', '.join(missing) or 'none'})"
        )
        if os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)

    def parse(*documents: bytes) -> list[dict]:
        run = subprocess.run(
            [node, str(script)],
            input=json.dumps([document.decode() for document in documents]),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(run.stdout)

    return parse
