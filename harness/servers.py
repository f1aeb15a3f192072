"""Real servers on loopback for load, fault and benchmark runs: our app under gunicorn, a Redis and a
PostgreSQL cluster of their own (never the shared ones), each started, killed and restarted at will."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_until(check, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout} s")
        time.sleep(interval)


class RedisServer:
    """redis-server on a free port; `durable` is the production recommendation (AOF, fsync on every write)."""

    def __init__(self, directory: Path, *, durable: bool = True, options: tuple[str, ...] = ()):
        self.directory = directory
        self.port = free_port()
        self.durable = durable
        self.options = options  # more redis-server arguments, e.g. ("--maxmemory-policy", "allkeys-lru")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                *persistence,
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        wait_until(self._answers, 10, what="redis loading its data")
        return self

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), 1) as connection,
        ):
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
        return False

    def kill(self) -> None:
        """SIGKILL: no chance to save anything beyond what the AOF already holds."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()


class RedisClusterServers:
    """A Redis Cluster on loopback (`redis-server --cluster-enabled yes`, `redis-cli --cluster create`):
    `primaries` primaries with `replicas` replicas each, durable nodes (RedisServer), a replica promoted
    `node_timeout_ms` after its primary stops answering."""

    def __init__(
        self, directory: Path, *, primaries: int = 3, replicas: int = 1, node_timeout_ms: int = 1000
    ):
        self.replicas = replicas
        options = ("--cluster-enabled", "yes", "--cluster-node-timeout", str(node_timeout_ms))
        self.nodes = [
            RedisServer(
                directory / f"node-{n}",
                # the bus on a free port of its own (else port + 10000: maybe taken, or past 65535)
                options=(*options, "--cluster-config-file", "nodes.conf", "--cluster-port", str(free_port())),
            )
            for n in range(primaries * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        """A node to start from (REDIS_URL with REDIS_CLUSTER=1)."""
        return self.nodes[0].url

    def start(self) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_until(self.ready, 30, what="the cluster's slots served and its replicas in sync")
        return self

    def _info(self, node: RedisServer, *command: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(node.port), *command], capture_output=True, text=True, timeout=5
        )
        return done.stdout

    def primaries(self) -> list[RedisServer]:
        """The live nodes that serve slots now."""
        return [
            node
            for node in self.nodes
            if node.process is not None
            and node.process.poll() is None
            and "role:master" in self._info(node, "info", "replication")
        ]

    def ready(self) -> bool:
        """Every live node sees the cluster ok, and every primary has its replicas online."""
        live = [node for node in self.nodes if node.process is not None and node.process.poll() is None]
        if not all("cluster_state:ok" in self._info(node, "cluster", "info") for node in live):
            return False
        return all(
            self._info(node, "info", "replication").count("state=online") >= self.replicas
            for node in self.primaries()
        )

    def node_of(self, port: int) -> RedisServer:
        return next(node for node in self.nodes if node.port == port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class PostgresCluster:
    """A cluster of its own made with initdb, on a free port, stoppable without touching the shared one."""

    def __init__(self):
        # A directory of its own, reachable by the postgres user (test tmp dirs are private to root).
        self.directory = Path(tempfile.mkdtemp(prefix="adserver-pg-"))
        self.directory.chmod(0o755)
        self.port = free_port()
        self.data = self.directory / "data"

    def _run(self, *command: str) -> None:
        # initdb and postgres refuse to run as root: run them as the postgres user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def init(self) -> PostgresCluster:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        return self

    def start(self) -> PostgresCluster:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.directory / "log"),
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)


class AppServer:
    """The app as production runs it: gunicorn with gevent workers from the project's gunicorn.conf.py."""

    def __init__(
        self,
        env: dict[str, str | None],
        *,
        workers: int = 2,
        log: Path | None = None,
        command: tuple[str, ...] = ("-c", "gunicorn.conf.py", "wsgi:app"),
    ):
        self.command = command  # gunicorn's arguments
        self.port = free_port()
        self.workers = workers
        environment = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="adserver-metrics-"),
            **env,
        }
        # A None in `env` unsets the variable (gunicorn.conf.py's own default then applies).
        self.env = {name: value for name, value in environment.items() if value is not None}
        self.log_path = log or Path(tempfile.mkstemp(prefix="adserver-", suffix=".log")[1])
        self.process: subprocess.Popen | None = None
        self.helpers: list[subprocess.Popen] = []  # processes beside the web server (an external flusher)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command_env(self) -> dict[str, str]:
        """The environment of `flask` commands: the server's, with the whole app (as production runs its
        migration Job, flusher and transcoder), whatever APP_ROLE the server has."""
        return {name: value for name, value in self.env.items() if name != "APP_ROLE"}

    def flask(self, *args: str) -> str:
        return subprocess.run(
            [str(Path(sys.executable).parent / "flask"), "--app", "app", *args],
            cwd=PROJECT_ROOT,
            env=self.command_env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def spawn(self, *flask_args: str) -> subprocess.Popen:
        """A long-running `flask --app app ...` command with the server's environment, stopped with it."""
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "flask"), "--app", "app", *flask_args],
                cwd=PROJECT_ROOT,
                env=self.command_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.helpers.append(process)
        return process

    def start(self, timeout: float = 30.0) -> AppServer:
        if "PROMETHEUS_MULTIPROC_DIR" in self.env:
            Path(self.env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), *self.command],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, self.process, timeout)
        wait_until(
            lambda: len(self.worker_pids()) == self.workers and self.healthy(), timeout, what="workers up"
        )
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def kill_worker(self) -> int:
        """SIGKILL one worker, as the OOM killer would; gunicorn's master starts another."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        for process in [*self.helpers, self.process]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
        self.helpers = []
        if "PROMETHEUS_MULTIPROC_DIR" in self.env:
            shutil.rmtree(self.env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
