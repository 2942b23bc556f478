"""The transports the API tests run over, and the packaged bundle behind the gateway harness.

`make package`'s bundle is built once per session into a temporary directory and extracted
read-only; each gateway fixture is one warm Lambda instance of it (a process of its own) with
the suite's environment, behind a local HTTP listener:

- `gateway`: the suite's PostgreSQL, Upstash REST bridge, token, APP_ENV=test, and its keys:
  the dev signing secret as SUPABASE_JWT_SECRET (the suite's tokens verify; a read-only task
  directory cannot hold var/dev-jwt-secret, so there is no dev login in the bundle), invoices
  in S3 (moto's server; boto3 comes from the runtime, as on Lambda);
- `tight_gateway`: the same with rate limits of one request a minute;
- `down_gateway`: PostgreSQL and Redis unreachable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.embedded import free_port
from shared.adapters.tokens import dev_secret
from shared.services.context import Context
from shared.settings import get_settings
from tests.support.api_client import Api, HttpApi, InProcessApi
from tests.support.gateway import Gateway, LambdaTask
from tests.support.harness import SuiteServices

INVOICE_BUCKET = "gateway-invoices"
MEDIA_BUCKET = "gateway-media"  # the bundle's task directory is read-only: photos go to S3
TRANSPORTS = ("in-process", "http", "gateway")


@pytest.fixture(scope="session")
def lambda_bundle(
    tmp_path_factory: pytest.TempPathFactory, packaged_bundle: Path
) -> Iterator[LambdaTask]:
    """`make package`'s zip (the run's one), extracted read-only."""
    work = tmp_path_factory.mktemp("lambda")
    task = LambdaTask.build(packaged_bundle, packaged_bundle.parent / "sam.json", work)
    try:
        yield task
    finally:
        task.remove()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3, as a server the bundle's process reaches over HTTP."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        region_name="ap-south-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for bucket in (INVOICE_BUCKET, MEDIA_BUCKET):
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"}
        )
    try:
        yield url
    finally:
        server.stop()


def bundle_environment(services: SuiteServices, s3_url: str, **overrides: str) -> dict[str, str]:
    """What the bundle's function is configured with: the suite's own settings."""
    env = {
        name: os.environ[name]
        for name in ("CORS_ORIGINS", "BID_RATE_LIMIT", "WRITE_RATE_LIMIT", "ALLOW_SELF_OUTBID")
        if name in os.environ
    }
    env.update(
        APP_ENV="test",
        LOG_LEVEL="INFO",
        DATABASE_URL=services.database_url,
        UPSTASH_REDIS_REST_URL=services.rest_url,
        UPSTASH_REDIS_REST_TOKEN=os.environ["UPSTASH_REDIS_REST_TOKEN"],
        SUPABASE_JWT_SECRET=dev_secret(get_settings()),
        # (the suite's ledger key: the task directory is read-only, no var/ key of its own)
        LEDGER_SIGNING_KEY=get_settings().ledger_seed,
        INVOICE_BUCKET=INVOICE_BUCKET,
        MEDIA_BUCKET=MEDIA_BUCKET,
        AWS_ENDPOINT_URL_S3=s3_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        TZ=get_settings().tz,
    )
    env.update(overrides)
    return env


def _gateway(
    bundle: LambdaTask, env: dict[str, str], log: Path
) -> Iterator[tuple[Gateway, HttpApi]]:
    gateway = Gateway(bundle, env, log).start()
    api = HttpApi(gateway.serve(), name="gateway")
    try:
        yield gateway, api
    finally:
        api.close()
        gateway.stop()


@pytest.fixture(scope="session")
def gateway_pair(
    lambda_bundle: LambdaTask,
    services: SuiteServices,
    s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Gateway, HttpApi]]:
    env = bundle_environment(services, s3_server)
    yield from _gateway(lambda_bundle, env, tmp_path_factory.mktemp("gw") / "function.log")


@pytest.fixture
def gateway(gateway_pair: tuple[Gateway, HttpApi], ctx: Context) -> Gateway:
    return gateway_pair[0]


@pytest.fixture(scope="session")
def tight_gateway(
    lambda_bundle: LambdaTask,
    services: SuiteServices,
    s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Gateway, HttpApi]]:
    env = bundle_environment(services, s3_server, WRITE_RATE_LIMIT="1/m:1", BID_RATE_LIMIT="1/m:1")
    yield from _gateway(lambda_bundle, env, tmp_path_factory.mktemp("gw") / "tight.log")


@pytest.fixture(scope="session")
def down_gateway(
    lambda_bundle: LambdaTask,
    services: SuiteServices,
    s3_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Gateway, HttpApi]]:
    dead = free_port()  # nothing listens here
    env = bundle_environment(
        services,
        s3_server,
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{dead}/postgres",
        UPSTASH_REDIS_REST_URL=f"http://127.0.0.1:{dead}",
    )
    yield from _gateway(lambda_bundle, env, tmp_path_factory.mktemp("gw") / "down.log")


@pytest.fixture(scope="session")
def http_api(api_url: str) -> Iterator[HttpApi]:
    api = HttpApi(api_url, name="http")
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, ctx: Context) -> str:
    return str(request.param)


@pytest.fixture
def api(transport: str, request: pytest.FixtureRequest, ctx: Context) -> Api:
    """The API over the transport this test is parametrised with."""
    if transport == "in-process":
        return InProcessApi(request.getfixturevalue("client"))
    if transport == "http":
        over_http: Api = request.getfixturevalue("http_api")
        return over_http
    gateway: Api = request.getfixturevalue("gateway_pair")[1]
    return gateway
