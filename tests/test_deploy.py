"""`deploy/`: the compose file parses, names two replicas on one PostgreSQL behind a load balancer,
and every LIVECHAT_* variable it sets is a setting the server accepts (with that value) and that
the README's configuration table documents. (No Docker engine runs here: this reads the files.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp_livechat.config import Settings, env_name, load_settings

REPO = Path(__file__).parents[1]
DEPLOY = REPO / "deploy"
_INTERPOLATION = re.compile(r"\$\{([A-Z_]+)(?::?[-?]([^}]*))?\}")
DUMMIES = {  # what an operator exports before `docker compose up`
    "LIVECHAT_CLIENT_ID": "client-id",
    "LIVECHAT_CLIENT_SECRET": "client-secret",
    "LIVECHAT_ENCRYPTION_KEY": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
}


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def interpolated(value: str) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`: a default, or what an operator sets."""
    return _INTERPOLATION.sub(lambda m: DUMMIES.get(m.group(1)) or (m.group(2) or ""), value)


def documented() -> set[str]:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 1)]
    return set(re.findall(r"`(LIVECHAT_[A-Z_]+)`", table))


def test_two_replicas_one_postgresql_one_load_balancer() -> None:
    services = compose()["services"]
    replicas = {name for name, s in services.items() if "LIVECHAT_TOKEN_STORE" in environment(s)}
    assert replicas == {"mcp-1", "mcp-2"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["lb"]["ports"] == ["8000:8000"]
    assert all(services[r]["build"]["dockerfile"] == "deploy/Dockerfile" for r in replicas)
    assert (DEPLOY / "Dockerfile").is_file()
    stores = {environment(services[r])["LIVECHAT_TOKEN_STORE"] for r in replicas}
    keys = {environment(services[r])["LIVECHAT_ENCRYPTION_KEY"] for r in replicas}
    assert len(stores) == 1 and stores.pop().startswith("postgresql://") and len(keys) == 1  # one truth
    lb = (DEPLOY / "haproxy.cfg").read_text()
    assert all(f"server {r} {r}:8000" in lb for r in replicas) and "GET /healthz" in lb
    assert "stick on req.hdr(mcp-session-id)" in lb  # session affinity for 2025-11-25 sessions
    assert "http-request deny deny_status 404 if { path /metrics }" in lb  # not for the clients
    assert "\n    http-request set-header X-Request-ID %[uuid()]\n" in lb  # at the edge: no client picks it
    assert all(services[r]["stop_grace_period"] == "30s" for r in replicas)  # above SHUTDOWN_GRACE


@pytest.mark.parametrize("service", ["mcp-1", "mcp-2"])
def test_every_variable_the_compose_file_sets_is_documented_and_accepted(service: str) -> None:
    env = environment(compose()["services"][service])
    names = {n for n in env if n.startswith("LIVECHAT_")}
    fields = {env_name(f) for f in Settings.model_fields}
    assert names <= fields, f"not settings of the server: {sorted(names - fields)}"
    assert names <= documented(), f"not in the README's configuration table: {sorted(names - documented())}"
    values = {n.removeprefix("LIVECHAT_").lower(): interpolated(env[n]) for n in names}
    settings = load_settings(**values)  # raises ConfigurationError naming a value it does not accept
    assert settings.credential_mode == "oauth" and settings.mcp_auth == "api-key"
    assert settings.public_url == "http://localhost:8000"


def test_every_setting_is_documented() -> None:
    fields = {env_name(f) for f in Settings.model_fields}
    assert fields <= documented(), sorted(fields - documented())
