"""The README's curl walk-through runs top to bottom in one shell, as written, against a live server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from app.settings import PROJECT_ROOT
from harness.servers import AppServer

SECTION = ("## Using the API with curl", "## Admin console")


def walkthrough() -> str:
    """Every ```sh block of the README's curl section, in order, as one script."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    start = readme.index(SECTION[0])
    section = readme[start : readme.index(SECTION[1], start)]
    return "\n".join(re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M))


def test_the_readme_walkthrough_runs_as_written(sqlite_template, tmp_path):
    database = tmp_path / "adserver.db"
    shutil.copy(sqlite_template, database)
    server = AppServer(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "REDIS_URL": "",
            "STORAGE_DIR": str(tmp_path / "creatives"),
            "SECRET_KEY": "walkthrough-secret-" + "x" * 32,
            "APP_ENV": "development",
        },
        workers=1,
        log=tmp_path / "gunicorn.log",
    ).start()
    try:
        server.flask("create-admin", "--email", "admin@example.com", "--password", "change-me-please")
        # The project directory as the reader has it, apart from the files the walk-through makes.
        shell = tmp_path / "shell"
        shell.mkdir()
        (shell / ".venv").symlink_to(PROJECT_ROOT / ".venv")
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", walkthrough()],
            cwd=shell,
            env={**server.env, "BASE": server.base_url, "PYTHONPATH": str(PROJECT_ROOT)},
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        server.stop()
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    lines = run.stdout.splitlines()
    codes = [line for line in lines if re.fullmatch(r"\d{3}", line)]
    # seek, advertiser kept while named, supply tag deleted, impression, the campaign that delivered kept
    # (409) and archived, logout, 401
    assert codes == ["206", "409", "204", "204", "409", "200", "204", "401"], run.stdout[-3000:]
    answers = [json.loads(line) for line in lines if line.startswith("{")]
    report = next(answer for answer in answers if answer.get("group_by") == ["campaign", "creative"])
    assert report["totals"]["impressions"] == 1 and report["totals"]["fills"] == 1
    assert [(row["campaign_name"], row["creative_name"]) for row in report["rows"]] == [
        ("Spring launch", "Spot 15s")
    ]
    assert sorted(path.name for path in shell.iterdir()) == [".venv"]  # it cleaned up after itself
