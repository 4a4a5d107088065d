"""Starts the real `runnel` binary on a free port with a temporary database."""
import atexit
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from openai import OpenAI

ROOT = Path(__file__).resolve().parents[2]


def runnel_binary() -> str:
    explicit = os.environ.get("RUNNEL_BINARY")
    if explicit:
        return explicit
    # The most recently built one, so a stale release build never hides a fresh debug build.
    candidates = [ROOT / ".build" / c / "runnel" for c in ("release", "debug")]
    built = [c for c in candidates if c.exists()]
    if not built:
        raise RuntimeError("no runnel binary: run `swift build` first or set RUNNEL_BINARY")
    return str(max(built, key=lambda c: c.stat().st_mtime))


def make_tls_files():
    """With RUNNEL_SDK_TLS set, every server serves HTTPS with a self-signed certificate made here,
    which this process (the SDK, httpx, raw sockets) trusts through SSL_CERT_FILE."""
    if not os.environ.get("RUNNEL_SDK_TLS"):
        return None
    folder = Path(tempfile.mkdtemp(prefix="runnel-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    os.environ["SSL_CERT_FILE"] = str(certificate)
    return certificate, key


TLS_FILES = make_tls_files()


def sdk_store() -> str:
    """`postgresql` when the suite runs against PostgreSQL (the test command's second pass)."""
    return os.environ.get("RUNNEL_SDK_STORE", "sqlite")


def postgres_admin_url() -> str:
    url = os.environ.get("RUNNEL_TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError("RUNNEL_TEST_POSTGRES_URL is not set (scripts/test.sh starts a PostgreSQL and sets it)")
    return url


_database_counter = [0]


def fresh_postgres_database() -> str:
    """A new, empty database on the test cluster; its URL."""
    _database_counter[0] += 1
    name = f"runnel_sdk_{os.getpid()}_{_database_counter[0]}_{time.monotonic_ns() % 1_000_000}"
    admin = postgres_admin_url()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", admin, "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/" + name


def sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def query_database(database, sql: str, params=()) -> list:
    """Rows of a query on a server's database, SQLite file or PostgreSQL URL (through psql, with
    `?` parameters inlined as literals; tests pass only ids and numbers)."""
    if not str(database).startswith("postgres"):
        import sqlite3
        with sqlite3.connect(database) as db:
            return db.execute(sql, params).fetchall()
    for value in params:
        sql = sql.replace("?", sql_literal(value), 1)
    output = subprocess.run(["psql", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", str(database), "-c", sql],
                            check=True, capture_output=True, text=True).stdout
    rows = []
    for line in output.splitlines():
        rows.append(tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("\t")))
    return rows


class Reachable:
    """What tests use to talk to a server on `self.port`: one process, or a cluster's balancer."""

    port: int

    @property
    def base_url(self) -> str:
        return f"{'https' if TLS_FILES else 'http'}://127.0.0.1:{self.port}/v1"

    def client(self, api_key="test-key", **kwargs) -> OpenAI:
        return OpenAI(base_url=self.base_url, api_key=api_key, max_retries=0, **kwargs)

    def connect(self, timeout=10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if TLS_FILES:
            return ssl.create_default_context(cafile=str(TLS_FILES[0])).wrap_socket(sock, server_hostname="127.0.0.1")
        return sock


class Runnel(Reachable):
    """One server process; `start` waits for its 'listening on' line to learn the port."""

    def __init__(self, directory: Path, args=(), env=None, database=None, open_files=None):
        self.directory = directory
        self.open_files = open_files
        if database is None:
            database = fresh_postgres_database() if sdk_store() == "postgresql" else directory / "runnel.sqlite"
        self.database = database
        self.args = list(args)
        self.env = env or {}
        self.log_path = directory / f"runnel-{time.monotonic_ns()}.log"
        self.process = None
        self.port = None

    def start(self, timeout=20.0):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNEL_")}
        env.update(self.env)
        command = [runnel_binary(), "serve", "--port", "0", "--database", str(self.database), *self.args]
        if TLS_FILES:
            command += ["--tls-cert", str(TLS_FILES[0]), "--tls-key", str(TLS_FILES[1])]
        self.log = open(self.log_path, "w")
        def limit_open_files():
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.directory,
                                        preexec_fn=limit_open_files if self.open_files else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"listening on https?://[^ ]*:(\d+)", self.log_text())
            if match:
                self.port = int(match.group(1))
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"runnel exited early ({self.process.returncode}):\n{self.log_text()}")
            time.sleep(0.02)
        raise RuntimeError(f"runnel did not start:\n{self.log_text()}")

    def sql(self, query: str, params=()) -> list:
        return query_database(self.database, query, params)

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout=15.0) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log:
            self.log.close()
        return self.process.returncode


_MEASURED = []


@pytest.fixture
def report():
    """Records a measured figure; every one is printed in the run's summary, so CI shows them."""
    return _MEASURED.append


def pytest_terminal_summary(terminalreporter):
    if _MEASURED:
        terminalreporter.section("measured")
        for line in _MEASURED:
            terminalreporter.write_line(line)


@pytest.fixture
def backend():
    """The model backend servers start with; the runs suites run once per backend."""
    return "echo"


@pytest.fixture
def start_runnel(tmp_path, backend, request):
    started = []

    def start(*args, env=None, database=None, open_files=None):
        args = list(args)
        if backend == "openai" and "--backend" not in args:
            # The fake upstream follows the echo rules, so the same assertions hold.
            upstream = request.getfixturevalue("upstream")
            delay = 0
            if "--echo-delay-ms" in args:
                index = args.index("--echo-delay-ms")
                delay = int(args[index + 1])
                del args[index:index + 2]
            args += ["--backend", "openai", "--backend-url", upstream.delayed_url(delay) if delay else upstream.url]
        nodes = int(os.environ.get("RUNNEL_SDK_CLUSTER", "0"))
        if nodes:
            server = start_cluster(tmp_path / f"cluster{len(started)}", nodes, args, env=env, database=database)
        else:
            server = Runnel(tmp_path, args=args, env=env, database=database, open_files=open_files).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


def start_cluster(directory: Path, count: int, args=(), env=None, database=None):
    """`count` nodes on one fresh PostgreSQL database behind nginx."""
    from cluster import Cluster, Nginx
    database = database or fresh_postgres_database()
    nodes = []
    for index in range(count):
        node_directory = directory / f"node{index}"
        node_directory.mkdir(parents=True, exist_ok=True)
        nodes.append(Runnel(node_directory, args=args, env=env, database=database).start())
    nginx = Nginx(directory / "nginx", [node.port for node in nodes]).start()
    return Cluster(directory, nodes, nginx, database)


@pytest.fixture
def runnel(start_runnel):
    return start_runnel()


@pytest.fixture
def client(runnel):
    return runnel.client()


@pytest.fixture
def upstream():
    from fake_upstream import FakeUpstream
    server = FakeUpstream()
    yield server
    server.close()


@pytest.fixture
def weather_assistant(client):
    return client.beta.assistants.create(
        model="gpt-4o", instructions="You are a weather bot.",
        tools=[{"type": "function", "function": {
            "name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}])
