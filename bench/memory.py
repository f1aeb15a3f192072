"""Resident memory of the ad server's workers against the reference's, without the load runs:
`python -m bench.memory` (about a minute).

The bench's own stack (bench.stack: gunicorn with gevent workers in the serving pods' APP_ROLE=serving,
PostgreSQL, a durable Redis, the flusher process, and the reference beside it), with 10 and then 10,000
active campaigns. Each server first answers `REQUESTS` /vast fills, pods and impression beacons, then the
RSS of each of its workers is read (`make bench` reads it after its load runs instead). Before that, the RSS
of one process at each step of a worker's start (gevent, `import app`, create_app) in both roles, and which
libraries each role loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from bench.drives import FILL, POD
from bench.machine import rss_mb
from bench.stack import SECRET_KEY, BenchStack
from bench.tokens import impression_paths
from harness.servers import PROJECT_ROOT, AppServer

REQUESTS = 200  # of each kind, per server
SIZES = (10, 10_000)
WORKERS = 2
ADMIN_SIDE = ("av", "numpy", "boto3", "rq", "pyarrow", "argon2", "alembic", "flask_wtf")

# A worker's start, step by step, as wsgi.py makes it (the psycopg2 patch left out: it loads nothing).
STARTUP = """
import json, sys
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
steps = {"python": rss()}
from gevent import monkey
monkey.patch_all()
steps["gevent"] = rss()
import app
steps["import app"] = rss()
app.create_app()
steps["create_app"] = rss()
loaded = [name for name in json.loads(sys.argv[1]) if name in sys.modules]
print(json.dumps({"steps": steps, "loaded": loaded}))
"""


def startup(env: dict[str, str]) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", STARTUP, json.dumps(ADMIN_SIDE)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout.splitlines()[-1])


def answer(server: AppServer, paths: list[str]) -> None:
    for path in paths:
        with urllib.request.urlopen(server.base_url + path, timeout=10) as response:
            response.read()


def worker_rss(server: AppServer) -> str:
    return " / ".join(f"{rss_mb(pid):.1f}" for pid in sorted(server.worker_pids()))


def main() -> None:
    stack = BenchStack(WORKERS)
    try:
        stack.start()
        for role, env in (("serving", stack.app.env), ("all", stack.app.command_env)):
            measured = startup(env)
            steps = ", ".join(f"{step} {mb:.1f}" for step, mb in measured["steps"].items())
            loaded = ", ".join(measured["loaded"]) or "none"
            print(f"one process, APP_ROLE={role}, MB: {steps}; of {', '.join(ADMIN_SIDE)}: {loaded}")
        ad = stack.prepare_campaigns(SIZES[-1])
        print(f"resident memory per worker, MB, after {REQUESTS} /vast fills, pods and beacons per server:")
        for size in SIZES:
            stack.serve_campaigns(size)
            for server in (stack.app, stack.reference):
                beacons = list(impression_paths(SECRET_KEY, ad, REQUESTS))
                answer(server, [FILL] * REQUESTS + [POD] * REQUESTS + beacons)
            app, reference = worker_rss(stack.app), worker_rss(stack.reference)
            print(f"  {size:>6,} campaigns: app {app}; reference {reference}")
    finally:
        stack.stop(keep_files=sys.exc_info()[0] is not None)


if __name__ == "__main__":
    main()
