"""The processes a load test or a drill runs against: gunicorn, Celery workers, redis-server, pgserver.

Each one is started as a child of the benchmark with the environment it is given, and stopped (its whole
process group) on exit, so nothing outlives the benchmark.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
PGSERVER_BIN = REPOSITORY / ".venv/lib/python3.11/site-packages/pgserver/pginstall/bin"
LOG_DIR = REPOSITORY / "var" / "bench-logs"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, *, timeout_seconds: float = 120.0, accept: tuple[int, ...] = (200,)) -> None:
    """Poll a URL until it answers with an accepted status; raise TimeoutError when it never does."""
    deadline = time.monotonic() + timeout_seconds
    last_problem = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback URL we built
                if response.status in accept:
                    return
                last_problem = f"status {response.status}"
        except urllib.error.HTTPError as error:
            if error.code in accept:
                return
            last_problem = f"status {error.code}"
        except OSError as error:
            last_problem = str(error)
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_seconds:.0f} s: {last_problem}")


def wait_for_port(port: int, *, timeout_seconds: float = 30.0) -> None:
    """Wait until something accepts TCP connections on the loopback port."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_seconds:.0f} s")


@dataclass
class ManagedProcess:
    """A child process in its own process group, with its output in a log file."""

    name: str
    command: list[str]
    environment: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> ManagedProcess:
        """Start the process; returns at once."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=REPOSITORY,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        """Whether the process has been started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        """Send a signal to the process and every child it started."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def stop(self, *, grace_seconds: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after the grace period."""
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)
        # Children that outlived their parent (a pool process) are still in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        """The last lines of the process's log, for a failure message."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (e.g. a Celery worker's pool processes)."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    if not children_file.exists():
        return []
    return [int(child) for child in children_file.read_text().split()]


def base_environment(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with the overrides applied; an empty value removes a variable."""
    environment = dict(os.environ)
    environment.setdefault("HF_HUB_OFFLINE", "1")
    environment.setdefault("TOKENIZERS_PARALLELISM", "false")
    # One intra-op thread per process: several workers on two cores must not each spawn a thread per core.
    environment.setdefault("OMP_NUM_THREADS", "1")
    environment.setdefault("MKL_NUM_THREADS", "1")
    environment.setdefault("LANTERN_LOG_LEVEL", "WARNING")
    # Served as in production: no debug pages, no query log kept per request.
    environment.setdefault("DJANGO_DEBUG", "false")
    for name, value in overrides.items():
        if value == "":
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def served_environment(database_urls: Mapping[str, str], *, redis_url: str = "", **overrides: str) -> dict[str, str]:
    """What a benchmark serves Lantern with: its own database, no rate limits, and no local or cloud LLM server
    from the settings (the extractive answerer, unless the tenant points at servers of its own)."""
    return {
        **database_urls,
        "REDIS_URL": redis_url,
        "LANTERN_RATE_LIMIT_USER_PER_MINUTE": "0",
        "LANTERN_RATE_LIMIT_TENANT_PER_MINUTE": "0",
        "LANTERN_LOCAL_BASE_URL": "",
        "LANTERN_CLOUD_BASE_URL": "",
        **overrides,
    }


def gunicorn_process(
    *, port: int, workers: int, threads: int, environment: Mapping[str, str], log_name: str = "gunicorn"
) -> ManagedProcess:
    """gunicorn serving the app with the project's config file, bound to loopback."""
    env = base_environment(
        {
            **environment,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
    )
    command = [
        str(VENV_BIN / "gunicorn"),
        "-c",
        "config/gunicorn.py",
        # The access log line per request costs CPU the load test wants to measure the app with.
        "--access-logfile",
        "/dev/null",
        "config.wsgi:application",
    ]
    return ManagedProcess("gunicorn", command, env, LOG_DIR / f"{log_name}.log")


def celery_worker_process(
    *, environment: Mapping[str, str], concurrency: int = 1, log_name: str = "celery-worker", name: str = "bench"
) -> ManagedProcess:
    """A Celery worker (prefork pool) for the app, without beat."""
    env = base_environment(environment)
    command = [
        str(VENV_BIN / "celery"),
        "-A",
        "config.celery",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--pool=prefork",
        f"--hostname={name}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    return ManagedProcess("celery", command, env, LOG_DIR / f"{log_name}.log")


def redis_server_process(*, port: int) -> ManagedProcess:
    """A throwaway redis-server on a loopback port, without persistence."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return ManagedProcess("redis", command, base_environment({}), LOG_DIR / f"redis-{port}.log")


@dataclass
class Services:
    """Started processes, stopped in reverse order on exit."""

    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, process: ManagedProcess) -> ManagedProcess:
        """Start and keep track of a process."""
        self.processes.append(process.start())
        return process

    def stop_all(self) -> None:
        """Stop every process started here, newest first."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


@contextlib.contextmanager
def services() -> Iterator[Services]:
    """A set of processes that are all stopped when the block ends, however it ends."""
    started = Services()
    previous_handler = signal.getsignal(signal.SIGTERM)

    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        yield started
    finally:
        started.stop_all()
        signal.signal(signal.SIGTERM, previous_handler)
