"""The compose deployment: valid under the compose spec, pinned to the server we test against,
wired so that dependencies wait for health and the worker can scale."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import PROJECT_ROOT
from stack.temporal_server import temporal_cli_path

COMPOSE = PROJECT_ROOT / "docker-compose.yml"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
DOCKER_COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose missing (.ci/run installs Debian's package)"
)


def project_copy(tmp_path: Path) -> Path:
    """The repo's compose files with .env made from .env.example, as a user would set it up."""
    for name in ("docker-compose.yml", "Dockerfile", "deploy"):
        (tmp_path / name).symlink_to(PROJECT_ROOT / name)
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    return tmp_path


def compose(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER_COMPOSE is not None
    return subprocess.run(
        [DOCKER_COMPOSE, *args], cwd=folder, capture_output=True, text=True, timeout=60
    )


@needs_compose
def test_compose_file_is_valid(tmp_path: Path) -> None:
    # Without a version key, docker-compose validates against the compose spec's JSON schema.
    result = compose(project_copy(tmp_path), "config", "-q")
    assert result.returncode == 0, result.stderr
    services = compose(tmp_path, "config", "--services").stdout.split()
    assert set(services) >= {"postgresql", "temporal", "temporal-ui", "worker", "api", "llm"}


@needs_compose
def test_compose_without_env_file_fails_with_a_clear_message(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    (folder / ".env").unlink()
    result = compose(folder, "config", "-q")
    assert result.returncode != 0 and ".env" in result.stderr


def server_versions() -> tuple[str, str]:
    out = subprocess.run(
        [temporal_cli_path(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Server ([\d.]+), UI ([\d.]+)", out)
    assert match, out
    return match.group(1), match.group(2)


def test_temporal_images_match_the_server_the_tests_use() -> None:
    server, ui = server_versions()
    text = COMPOSE.read_text()
    assert set(re.findall(r"\$\{TEMPORAL_VERSION:-([\d.]+)\}", text)) == {server}
    assert set(re.findall(r"\$\{TEMPORAL_UI_VERSION:-([\d.]+)\}", text)) == {ui}
    env = ENV_EXAMPLE.read_text()
    assert f"TEMPORAL_VERSION={server}\n" in env
    assert f"TEMPORAL_UI_VERSION={ui}\n" in env


def test_services_wait_for_health_and_worker_scales() -> None:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]

    def waits_for(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert waits_for("temporal-schema") == {"postgresql": "service_healthy"}
    assert waits_for("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert waits_for("temporal-admin") == {"temporal": "service_healthy"}
    for name in ("worker", "api"):
        assert waits_for(name) == {"temporal-admin": "service_completed_successfully"}
    for name in ("postgresql", "temporal", "worker", "api", "llm"):
        assert "healthcheck" in services[name], name
    # `--scale worker=N` needs no fixed container name and no published port.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert services["llm"]["profiles"] == ["llm"]
    # The admin step is our module, which registers the attributes the workflows upsert.
    assert services["temporal-admin"]["command"][:3] == ["python", "-m", "stack.admin"]


@needs_compose
def test_searxng_profile_runs_a_json_enabled_searxng_for_the_worker(tmp_path: Path) -> None:
    folder = project_copy(tmp_path)
    result = compose(folder, "--profile", "searxng", "config")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    searxng = services["searxng"]
    assert searxng["profiles"] == ["searxng"]
    assert "ports" not in searxng  # internal only: the worker reaches it by service name
    mount = next(v for v in searxng["volumes"] if v.endswith(":/etc/searxng/settings.yml:ro"))
    assert mount.startswith(str(folder / "deploy" / "searxng" / "settings.yml"))
    assert searxng["environment"]["SEARXNG_BASE_URL"] == "http://searxng:8080/"
    for name in ("worker", "api"):
        assert services[name]["environment"]["RESEARCH_SEARXNG_URL"] == "http://searxng:8080"
    # A SearXNG elsewhere: .env's URL wins over the compose service.
    with (folder / ".env").open("a") as env:
        env.write("RESEARCH_SEARXNG_URL=https://search.example.org\n")
    elsewhere = yaml.safe_load(compose(folder, "config").stdout)["services"]["worker"]
    assert elsewhere["environment"]["RESEARCH_SEARXNG_URL"] == "https://search.example.org"


def test_searxng_settings_enable_the_json_api() -> None:
    settings = yaml.safe_load((PROJECT_ROOT / "deploy" / "searxng" / "settings.yml").read_text())
    assert settings["use_default_settings"] is True
    assert "json" in settings["search"]["formats"]  # else SearXNG answers 403 to format=json
    assert settings["server"]["limiter"] is False  # bot detection would throttle the worker
    assert "secret_key" not in settings["server"]  # from SEARXNG_SECRET, never in the repo
    raw: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]["searxng"]
    assert raw["profiles"] == ["searxng"]


def test_image_is_multi_stage_uv_build_running_as_non_root() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, flags=re.MULTILINE)
    assert stages == ["uv", "builder", "runtime"]
    assert "uv sync --locked --no-dev" in dockerfile
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "USER research" in runtime and "/uv" not in runtime
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".env"} <= set(ignored)


def host_ip(port: str | dict[str, Any]) -> str | None:
    """The host address a published port binds (`config` writes "ip:host:container/proto" for
    ports with an address, and the long form for the others)."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = port.split(":")
    return parts[0] if len(parts) == 3 else None


@needs_compose
def test_temporal_is_published_on_loopback_only_and_its_ui_is_read_only(tmp_path: Path) -> None:
    # Neither the frontend nor the Web UI authenticates anyone: on another interface, whoever
    # reaches the host could read, signal and terminate every run.
    folder = project_copy(tmp_path)
    result = compose(folder, "--profile", "llm", "--profile", "searxng", "config")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    for name in ("temporal", "temporal-ui"):
        ports = services[name]["ports"]
        assert ports and all(host_ip(p) == "127.0.0.1" for p in ports), (name, ports)
    published = {name for name, spec in services.items() if spec.get("ports")}
    assert published == {"temporal", "temporal-ui", "api"}  # the API has keys of its own
    assert services["temporal-ui"]["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    # An operator opts in to write actions in .env.
    with (folder / ".env").open("a") as env:
        env.write("TEMPORAL_DISABLE_WRITE_ACTIONS=false\n")
    opted = yaml.safe_load(compose(folder, "config").stdout)["services"]["temporal-ui"]
    assert opted["environment"]["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "false"
