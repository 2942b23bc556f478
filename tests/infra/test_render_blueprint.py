"""infra/render.yaml, checked as Render would read it: only the fields Render documents for a
Blueprint (https://render.com/docs/blueprint-spec), each environment variable with exactly one
source, and what it starts: the socket node on Render's PORT, migrations before each deploy,
the health check the node answers."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from shared.settings import REPO_ROOT, Settings, load_settings

BLUEPRINT = REPO_ROOT / "infra" / "render.yaml"

# Render's Blueprint specification, as documented (blueprint-spec: root-level fields, service
# fields, Docker, scaling, build, disks, static sites, Key Value, setting environment
# variables, referencing values from other services). Deprecated aliases that Render still
# accepts are listed as such. Databases, projects and environment groups are not used here, so
# only their shape is checked loosely; a service is checked key by key.
REGIONS = ["oregon", "ohio", "virginia", "frankfurt", "singapore"]
SERVICE_PLANS = ["free", "starter", "standard", "pro", "pro plus", "pro max", "pro ultra"]
STRING = {"type": "string", "minLength": 1}
REGISTRY_CREDENTIAL = {
    "type": "object",
    "properties": {
        "fromRegistryCreds": {
            "type": "object",
            "properties": {"name": STRING},
            "required": ["name"],
            "additionalProperties": False,
        }
    },
    "required": ["fromRegistryCreds"],
    "additionalProperties": False,
}
IP_ALLOW_LIST = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"source": STRING, "description": {"type": "string"}},
        "required": ["source"],
        "additionalProperties": False,
    },
}


def _env_var(source: str, schema: dict[str, Any]) -> dict[str, Any]:
    """One way of setting a variable: `key` and exactly one source."""
    return {
        "type": "object",
        "properties": {
            "key": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            source: schema,
        },
        "required": ["key", source],
        "additionalProperties": False,
    }


ENV_VAR = {
    "oneOf": [
        _env_var("value", {"type": ["string", "number", "boolean"]}),
        _env_var("generateValue", {"const": True}),
        _env_var("sync", {"const": False}),
        _env_var(
            "fromDatabase",
            {
                "type": "object",
                "properties": {
                    "name": STRING,
                    "property": {
                        "enum": ["connectionString", "host", "port", "user", "password", "database"]
                    },
                },
                "required": ["name", "property"],
                "additionalProperties": False,
            },
        ),
        _env_var(
            "fromService",
            {
                "type": "object",
                "properties": {
                    "name": STRING,
                    "type": {"enum": ["web", "pserv", "worker", "cron", "keyvalue", "redis"]},
                    "property": {"enum": ["host", "port", "hostport", "connectionString"]},
                    "envVarKey": STRING,
                },
                "required": ["name", "type"],
                "oneOf": [{"required": ["property"]}, {"required": ["envVarKey"]}],
                "additionalProperties": False,
            },
        ),
        {
            "type": "object",
            "properties": {"fromGroup": STRING},
            "required": ["fromGroup"],
            "additionalProperties": False,
        },
    ]
}
SERVICE = {
    "type": "object",
    "properties": {
        # essential
        "name": STRING,
        "type": {"enum": ["web", "pserv", "worker", "cron", "keyvalue", "redis"]},
        "runtime": {
            "enum": ["node", "python", "elixir", "go", "ruby", "rust", "docker", "image", "static"]
        },
        "env": STRING,  # deprecated: runtime
        "plan": {"enum": SERVICE_PLANS},
        "previews": {
            "type": "object",
            "properties": {
                "generation": {"enum": ["off", "manual", "automatic"]},
                "numInstances": {"type": "integer", "minimum": 1},
                "plan": {"enum": SERVICE_PLANS},
            },
            "additionalProperties": False,
        },
        "pullRequestPreviewsEnabled": {"type": "boolean"},  # deprecated: previews.generation
        "buildCommand": STRING,
        "startCommand": STRING,
        "schedule": STRING,
        "preDeployCommand": STRING,
        "region": {"enum": REGIONS},
        "repo": STRING,
        "branch": STRING,
        "autoDeployTrigger": {"enum": ["commit", "checksPass", "off"]},
        "autoDeploy": {"type": "boolean"},  # deprecated: autoDeployTrigger
        "domains": {"type": "array", "items": STRING},
        "healthCheckPath": {"type": "string", "pattern": "^/"},
        "maxShutdownDelaySeconds": {"type": "integer", "minimum": 1, "maximum": 300},
        # Docker
        "dockerCommand": STRING,
        "dockerfilePath": STRING,
        "dockerContext": STRING,
        "registryCredential": REGISTRY_CREDENTIAL,
        "image": {
            "type": "object",
            "properties": {"url": STRING, "creds": REGISTRY_CREDENTIAL},
            "required": ["url"],
            "additionalProperties": False,
        },
        # scaling
        "numInstances": {"type": "integer", "minimum": 1},
        "scaling": {
            "type": "object",
            "properties": {
                "minInstances": {"type": "integer", "minimum": 1},
                "maxInstances": {"type": "integer", "minimum": 1},
                "targetMemoryPercent": {"type": "integer", "minimum": 1, "maximum": 90},
                "targetCPUPercent": {"type": "integer", "minimum": 1, "maximum": 90},
            },
            "required": ["minInstances", "maxInstances"],
            "additionalProperties": False,
        },
        # build
        "buildFilter": {
            "type": "object",
            "properties": {
                "paths": {"type": "array", "items": STRING},
                "ignoredPaths": {"type": "array", "items": STRING},
            },
            "additionalProperties": False,
        },
        "rootDir": STRING,
        # disks
        "disk": {
            "type": "object",
            "properties": {
                "name": STRING,
                "mountPath": STRING,
                "sizeGB": {"type": "integer", "minimum": 1},
            },
            "required": ["name", "mountPath"],
            "additionalProperties": False,
        },
        # static sites
        "staticPublishPath": STRING,
        "headers": {"type": "array", "items": {"type": "object"}},
        "routes": {"type": "array", "items": {"type": "object"}},
        # Key Value, and data access control
        "ipAllowList": IP_ALLOW_LIST,
        "maxmemoryPolicy": {
            "enum": [
                "allkeys-lru",
                "volatile-lru",
                "allkeys-random",
                "volatile-random",
                "volatile-ttl",
                "noeviction",
            ]
        },
        "previewPlan": STRING,
        # environment variables
        "envVars": {"type": "array", "items": ENV_VAR},
    },
    "required": ["name", "type"],
    "additionalProperties": False,
}
BLUEPRINT_SCHEMA = {
    "type": "object",
    "properties": {
        "services": {"type": "array", "items": SERVICE},
        "databases": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "envVarGroups": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "projects": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "ungrouped": {"type": "object"},
        "previews": {
            "type": "object",
            "properties": {
                "generation": {"enum": ["off", "manual", "automatic"]},
                "expireAfterDays": {"type": "integer", "minimum": 1},
            },
            "additionalProperties": False,
        },
        "previewsEnabled": {"type": "boolean"},  # deprecated: previews.generation
        "previewsExpireAfterDays": {"type": "integer"},  # deprecated: previews.expireAfterDays
    },
    "additionalProperties": False,
}
VALIDATOR = jsonschema_rs.Draft202012Validator(BLUEPRINT_SCHEMA)

# Variables that AWS's SDK reads (the invoice and media buckets), not our settings.
AWS_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
SECRETS = {
    "DATABASE_URL",
    "REDIS_URL",
    "UPSTASH_REDIS_REST_TOKEN",
    "SUPABASE_JWT_SECRET",
    "LEDGER_SIGNING_KEY",
    "SENDGRID_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
}


def problems(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in VALIDATOR.iter_errors(document)
    ]


@pytest.fixture(scope="module")
def blueprint() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(BLUEPRINT.read_text())
    return document


@pytest.fixture(scope="module")
def node(blueprint: dict[str, Any]) -> dict[str, Any]:
    services: list[dict[str, Any]] = blueprint["services"]
    [service] = services
    return service


def test_every_key_is_one_render_documents(blueprint: dict[str, Any]) -> None:
    assert problems(blueprint) == []


@pytest.mark.parametrize(
    ("mutation", "complaint"),
    [
        (lambda s: s.update(dockerCmd="python -m socket_node"), "'dockerCmd' was unexpected"),
        (lambda s: s.update(region="mumbai"), "region"),
        (lambda s: s.update(plan="hobby"), "plan"),
        (lambda s: s["envVars"].append({"key": "X", "value": "1", "sync": False}), "envVars"),
        (lambda s: s["envVars"].append({"key": "X"}), "envVars"),
        (lambda s: s.update(healthCheckPath="health"), "healthCheckPath"),
    ],
    ids=[
        "unknown-key",
        "unknown-region",
        "unknown-plan",
        "two-sources",
        "no-source",
        "relative-path",
    ],
)
def test_the_schema_refuses_what_render_would(
    blueprint: dict[str, Any], mutation: Any, complaint: str
) -> None:
    broken = yaml.safe_load(BLUEPRINT.read_text())
    mutation(broken["services"][0])
    found = problems(broken)
    assert found and any(complaint in p for p in found), found


def _module_command(command: str) -> str:
    """`python -m package.module`, run without a shell: the module, which must be runnable."""
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-m"] and len(argv) == 3, f"not a plain command: {command!r}"
    module = argv[2]
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"no module {module}"
    if spec.submodule_search_locations:  # a package runs its __main__
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module
    else:
        assert spec.origin and "__main__" in Path(spec.origin).read_text(), module
    return module


def test_it_builds_the_dockerfile_and_starts_the_socket_node(node: dict[str, Any]) -> None:
    assert node["type"] == "web" and node["runtime"] == "docker"
    assert (REPO_ROOT / node["dockerfilePath"]).is_file()
    assert (REPO_ROOT / node["dockerContext"]).resolve() == REPO_ROOT
    assert _module_command(node["preDeployCommand"]) == "infra.migrate"
    assert _module_command(node["dockerCommand"]) == "socket_node"


def test_the_health_check_is_the_socket_nodes_health(node: dict[str, Any]) -> None:
    assert node["healthCheckPath"] == "/health"
    routes = (REPO_ROOT / "socket_node" / "http_routes.py").read_text()
    assert '"/health"' in routes


def _env(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["key"]: v for v in node["envVars"] if "key" in v}


def test_every_variable_is_one_the_stack_reads_and_secrets_are_never_inline(
    node: dict[str, Any],
) -> None:
    known = {f.alias for f in Settings.model_fields.values() if f.alias} | AWS_VARIABLES
    env = _env(node)
    assert set(env) <= known, set(env) - known
    for key in SECRETS & set(env):
        assert env[key] == {"key": key, "sync": False}, key
    assert env["APP_ENV"]["value"] == "production"


def test_render_port_is_the_port_the_node_listens_on(node: dict[str, Any]) -> None:
    env = _env(node)
    # Render sets PORT; nothing here (or in the image) may name another port.
    assert "PORT" not in env and "SOCKET_PORT" not in env
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    image_env = " ".join(re.findall(r"^ENV (.+)$", dockerfile, re.M))
    assert not re.search(r"\b(SOCKET_)?PORT=", image_env), image_env
    # What the socket node reads on Render: the blueprint's values, the dashboard's secrets
    # (placeholders here), and Render's PORT.
    values = {k: str(v["value"]) for k, v in env.items() if "value" in v}
    secrets = {
        "SUPABASE_JWKS_URL": "https://project.supabase.co/auth/v1/.well-known/jwks.json",
        "DATABASE_URL": "postgresql://app:secret@db.example.com:5432/postgres",
    }
    settings = load_settings(**values, **secrets, PORT="10000")
    assert settings.socket_port == 10000
    assert settings.app_env == "production" and not settings.dev_login_enabled
