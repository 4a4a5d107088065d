"""HTTPS with --tls-cert/--tls-key: TLS 1.2+, non-blocking handshakes, reload on SIGHUP."""
import os
import signal
import socket
import ssl
import subprocess
import time

import httpx
import pytest

from conftest import TLS_FILES, Runnel, runnel_binary

pytestmark = [pytest.mark.single_node,
              pytest.mark.skipif(TLS_FILES is not None, reason="starts servers with certificates of its own")]


def make_certificate(folder, name):
    certificate, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return certificate, key


def handshake(port, cafile, **versions) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(cafile))
    for name, value in versions.items():
        setattr(context, name, value)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(sock, server_hostname="127.0.0.1")


def https_server(tmp_path, *args):
    certificate, key = make_certificate(tmp_path, "first")
    server = Runnel(tmp_path, args=["--tls-cert", str(certificate), "--tls-key", str(key), *args]).start()
    assert f"listening on https://127.0.0.1:{server.port}" in server.log_text()
    return server, certificate, key


def test_https_answers_with_tls_1_2_and_1_3_only(tmp_path):
    server, certificate, _ = https_server(tmp_path)
    try:
        health = httpx.get(f"https://127.0.0.1:{server.port}/health", verify=str(certificate), timeout=10)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with handshake(server.port, certificate, minimum_version=version, maximum_version=version) as sock:
                assert sock.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
                cipher = sock.cipher()[0]
                assert "GCM" in cipher or "CHACHA20" in cipher, cipher
        with pytest.raises(ssl.SSLError):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.set_ciphers("ALL:@SECLEVEL=0")
            context.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=10)).close()
        # Plain HTTP to the HTTPS port gets no answer it could mistake for one.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as plain:
            plain.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = plain.recv(100)
            except ConnectionResetError:
                answer = b""
            assert not answer.startswith(b"HTTP/")
    finally:
        server.stop()


def test_stalled_handshakes_hold_no_one_up_and_are_cut_off(tmp_path):
    server, certificate, _ = https_server(tmp_path, "--header-read-timeout", "1")
    try:
        # Half a ClientHello on many connections: the loop must go on serving everyone else.
        stalled = []
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            stalled.append(sock)
        started = time.monotonic()
        with httpx.Client(verify=str(certificate), timeout=10) as client:
            assert client.get(f"https://127.0.0.1:{server.port}/health").status_code == 200
        assert time.monotonic() - started < 2
        # The head timeout covers the handshake: all are closed within it (and a little).
        time.sleep(2.5)
        for sock in stalled:
            sock.settimeout(5)
            assert sock.recv(100) == b""
            sock.close()
    finally:
        server.stop()


def test_sighup_reloads_the_certificate_for_new_connections(tmp_path):
    server, certificate, key = https_server(tmp_path)
    try:
        before = handshake(server.port, certificate)
        first = before.getpeercert(binary_form=True)
        second_certificate, second_key = make_certificate(tmp_path, "second")
        os.replace(second_certificate, certificate)
        os.replace(second_key, key)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "TLS certificate and key reloaded" not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.05)
        with handshake(server.port, certificate) as after:
            assert after.getpeercert(binary_form=True) != first
        # The connection made before the reload goes on with the certificate it had.
        before.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert before.recv(100).startswith(b"HTTP/1.1 200")
        before.close()
        # Files that do not load leave the certificate in use, and say so.
        certificate.write_text("not a certificate")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "TLS reload failed" not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.05)
        assert server.process.poll() is None
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with context.wrap_socket(sock) as again:
                again.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert again.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        server.stop()


def test_health_command_speaks_tls_when_the_settings_do(tmp_path):
    server, certificate, key = https_server(tmp_path)
    try:
        env = {**os.environ, "RUNNEL_TLS_CERT": str(certificate), "RUNNEL_TLS_KEY": str(key)}
        probe = subprocess.run([runnel_binary(), "health", "--port", str(server.port)], capture_output=True, text=True,
                               env=env, timeout=30)
        assert probe.returncode == 0 and probe.stdout.strip() == "ok", probe.stderr
    finally:
        server.stop()


def test_unusable_certificate_settings_stop_the_start_with_the_reason(tmp_path):
    certificate, key = make_certificate(tmp_path, "only")
    _, other_key = make_certificate(tmp_path, "other")
    for args, reason in ((["--tls-cert", str(certificate)], "go together"),
                         (["--tls-cert", str(certificate), "--tls-key", str(other_key)], "mismatch"),
                         (["--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", str(key)], "certificate")):
        result = subprocess.run([runnel_binary(), "serve", "--port", "0", "--database", str(tmp_path / "db.sqlite"), *args],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode == 2 and "runnel: error:" in result.stderr and reason in result.stderr, result.stderr
