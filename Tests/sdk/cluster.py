"""Several runnel nodes on one PostgreSQL database behind nginx (round-robin, no buffering, so
streams flow), looking to a test like one server."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from conftest import Reachable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, directory: Path, ports):
        self.directory = directory
        self.ports = list(ports)
        self.port = None
        self.process = None

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        # Workers run as an unprivileged user when nginx starts as root; they write temp files here.
        os.chmod(self.directory, 0o777)
        self.port = free_port()
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in self.ports)
        d = self.directory
        config = f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    client_max_body_size 600m;
    upstream runnel {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://runnel;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            # A request a node failed must not be replayed on another: runs are not idempotent.
            proxy_next_upstream off;
        }}
    }}
}}
"""
        (d / "nginx.conf").write_text(config)
        self.process = subprocess.Popen(["nginx", "-p", str(d), "-c", str(d / "nginx.conf"), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=open(d / "stderr.log", "w"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("nginx exited: " + (d / "stderr.log").read_text() + (d / "error.log").read_text())
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Cluster(Reachable):
    """`nodes` runnel processes sharing `database`, reached through nginx."""

    def __init__(self, directory: Path, nodes, nginx: Nginx, database: str):
        self.directory = directory
        self.nodes = nodes
        self.nginx = nginx
        self.database = database
        self.port = nginx.port

    def sql(self, query, params=()):
        return self.nodes[0].sql(query, params)

    def log_text(self) -> str:
        return "".join(node.log_text() for node in self.nodes)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        self.nginx.stop()
        codes = [node.stop(sig, timeout) for node in self.nodes]
        return codes[0]
