"""deploy/compose.yaml and its nginx.conf: the shape the README promises, and a config nginx accepts."""
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT


def test_compose_runs_three_nodes_on_postgresql_behind_nginx():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    nodes = [name for name in services if name.startswith("runnel-")]
    assert len(nodes) == 3 and {"postgres", "nginx"} <= set(services)
    for name in nodes:
        assert services[name]["environment"]["RUNNEL_DATABASE"].startswith("postgres://")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_the_nginx_config_is_valid(tmp_path):
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for node in ("runnel-1", "runnel-2", "runnel-3"):
        config = config.replace(f"{node}:8080", "127.0.0.1:8080")
    config = config.replace("events {", f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{", 1)
    (tmp_path / "nginx.conf").write_text(config)
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
