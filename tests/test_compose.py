"""docker-compose.yml and the Dockerfile name real entry points of this project.

Docker is not available here, so this loads the files and resolves every
command: a `manage.py` subcommand must exist, a gunicorn target must import,
a celery app and subcommand must exist.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent
DJANGO_SERVICES = {"migrate", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def check_command(argv: list[str]) -> None:
    """Fail unless `argv` runs something this project really provides."""
    if argv[:2] == ["sh", "-c"]:
        for part in re.split(r"&&|;", argv[2]):
            check_command(shlex.split(part))
        return
    if argv[:2] == ["python", "manage.py"]:
        assert argv[2] in get_commands(), f"no management command {argv[2]!r}"
    elif argv[0] == "gunicorn":
        module, _, attr = argv[1].partition(":")
        assert callable(getattr(importlib.import_module(module), attr))
    elif argv[0] == "celery":
        app_module = argv[argv.index("-A") + 1]
        app = importlib.import_module(app_module).celery_app
        assert app.main == "waic"
        subcommand = next(a for a in argv[argv.index("-A") + 2 :] if not a.startswith("-"))
        assert subcommand in celery_cli.commands, f"no celery subcommand {subcommand!r}"
    else:
        pytest.fail(f"unknown entry point {argv!r}")


def test_services_and_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis"} | DJANGO_SERVICES
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    redis_command = services["redis"]["command"]
    assert "--appendonly" in redis_command and "noeviction" in redis_command


def test_long_running_services_are_restarted_when_they_exit(compose: dict[str, Any]) -> None:
    """A worker killed (out of memory, say) comes back by itself, as under `manage.py up`;
    the one-shot migrate job is not run again."""
    services = compose["services"]
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name].get("restart") in ("unless-stopped", "always", "on-failure"), name
    assert services["migrate"]["restart"] == "no"


def test_django_services_share_one_definition(compose: dict[str, Any]) -> None:
    services = compose["services"]
    base = compose["x-django"]
    for name in DJANGO_SERVICES:
        service = services[name]
        assert service["image"] == base["image"] and service["build"] == base["build"]
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in DJANGO_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


@pytest.mark.parametrize("service", sorted(DJANGO_SERVICES))
def test_service_command_is_a_real_entry_point(compose: dict[str, Any], service: str) -> None:
    check_command(compose["services"][service]["command"])


def test_dockerfile_command_is_a_real_entry_point() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)
    assert cmd
    check_command(json.loads(cmd.group(1)))
    assert "FROM python:3.13" in dockerfile
    assert "uv sync --frozen" in dockerfile


def test_unknown_entry_points_are_caught() -> None:
    with pytest.raises(AssertionError):
        check_command(["python", "manage.py", "no_such_command"])
    with pytest.raises(AssertionError):
        check_command(["celery", "-A", "waic", "no_such_subcommand"])


def test_web_and_worker_share_the_dumps_directory(compose: dict[str, Any]) -> None:
    """The worker writes dataset dumps that the web server offers: one volume, mounted at
    the default DUMPS_DIR (var/dumps under the image's /app) in both."""
    for name in ("web", "worker"):
        assert "dumps:/app/var/dumps" in compose["services"][name]["volumes"]
    assert "dumps" in compose["volumes"]


def test_web_streams_long_responses_with_threads(compose: dict[str, Any]) -> None:
    """Sync gunicorn workers are killed after 30 s without a heartbeat, mid-export."""
    command = compose["services"]["web"]["command"]
    assert "--threads" in command and int(command[command.index("--threads") + 1]) > 1


class _ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's merge tags (!reset, !override), read as their plain values."""


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(
        _tag,
        lambda loader, node: (
            loader.construct_sequence(node)
            if isinstance(node, yaml.SequenceNode)
            else loader.construct_mapping(node)
            if isinstance(node, yaml.MappingNode)
            else loader.construct_scalar(node)
        ),
    )


def test_the_scale_file_splits_fetch_and_extraction_queues() -> None:
    """docker-compose.scale.yml (docs/scaling.md): fetch workers and extraction workers on
    their own queues, named the same in the settings of every Django service."""
    scale = yaml.load((ROOT / "docker-compose.scale.yml").read_text(), Loader=_ComposeLoader)
    services = scale["services"]
    for name in ("worker", "extractor"):
        check_command(services[name]["command"])
    queue_of = {name: services[name]["command"][-1] for name in ("worker", "extractor")}
    for name in ("web", "worker", "extractor", "beat"):
        env = services[name]["environment"]
        assert env["CELERY_QUEUE"] == queue_of["worker"] == "fetch"
        assert env["CELERY_EXTRACT_QUEUE"] == queue_of["extractor"] == "extract"
    assert services["extractor"]["extends"] == {"file": "docker-compose.yml", "service": "worker"}
    assert services["web"]["ports"] == []  # the proxy publishes the port
    conf = (ROOT / services["proxy"]["volumes"][0].split(":")[0]).read_text()
    assert "server web:8000;" in conf and "listen 8000;" in conf
