# The whole local stack in one container: the REST API (8000), the socket node with the web
# app (8080), the Upstash-REST bridge (only when UPSTASH_REDIS_REST_URL is unset; loopback
# only), and embedded PostgreSQL and Redis under /app/var unless DATABASE_URL / REDIS_URL are
# given.
#   docker build -t auction . && docker run -p 8000:8000 -p 8080:8080 auction
# With neither DATABASE_URL nor APP_ENV given, that is the development stack with demo data;
# anything else is production (see infra/stack.py, --dev-unless-configured).
# On your own machine publish the ports on loopback only:
#   docker run -p 127.0.0.1:8000:8000 -p 127.0.0.1:8080:8080 auction
# A bare `-p 8000:8000` publishes them on every interface of the host, and the development
# stack's dev login signs a token for anyone, in any role (the stack prints a warning line).
# The socket node alone (Render, see infra/render.yaml): `python -m socket_node`.
#
# The base images are build arguments so that a machine without a registry can build on
# local ones (.ci/container builds them from Debian packages); the defaults are the official
# images. A build behind a TLS-inspecting proxy may pass PIP_CERT / NODE_EXTRA_CA_CERTS as
# build arguments naming a CA bundle it mounts at build time: they exist only while the
# install steps run, and nothing of them is copied into the image.
ARG NODE_BASE=node:20-bookworm-slim
ARG PYTHON_BASE=python:3.11-slim-bookworm

# -- 1. the web app --------------------------------------------------------------------------
FROM ${NODE_BASE} AS web
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# -- 2. Python dependencies (pinned in pyproject.toml), in a venv ----------------------------
FROM ${PYTHON_BASE} AS deps
ARG PIP_CERT
# `python3`, not `python`: Debian's own python3 has no `python` command.
RUN python3 -m venv /venv
COPY pyproject.toml /src/pyproject.toml
# Only the runtime dependencies (the project's code comes in the last stage). pip is removed
# afterwards: nothing installs at run time.
RUN /venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml','rb'))['project']['dependencies']))" > /src/requirements.txt \
 && /venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /src/requirements.txt \
 && /venv/bin/pip uninstall --yes --quiet pip setuptools

# -- 3. the runtime ---------------------------------------------------------------------------
FROM ${PYTHON_BASE} AS runtime
# API_HOST: the API listens on every interface inside the container, so `-p 8000:8000`
# reaches it (outside a container it stays on 127.0.0.1). No API_PORT / SOCKET_PORT here: the
# defaults are 8000 / 8080, and Render's PORT must win over anything the image says.
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 API_HOST=0.0.0.0
RUN useradd --create-home --uid 10001 app
COPY --from=deps /venv /venv
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY functions ./functions
COPY socket_node ./socket_node
COPY infra ./infra
COPY --from=web /src/web/dist ./web/dist
# The code is root's and read-only to the app; only var/ (databases, mail, invoices) is its.
RUN python3 -m compileall -q -j 0 --invalidation-mode unchecked-hash shared functions socket_node infra \
 && mkdir -p var && chown app:app var
# Embedded PostgreSQL refuses to run as root; the whole stack runs as `app`.
USER app
EXPOSE 8000 8080
# Podman keeps HEALTHCHECK only with `--format docker`. The ports come from the environment
# (PORT wins for the socket node, as in shared/settings.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request as u; e = os.environ.get; [u.urlopen(f'http://127.0.0.1:{p}/health', timeout=4) for p in (e('API_PORT') or 8000, e('PORT') or e('SOCKET_PORT') or 8080)]" || exit 1
STOPSIGNAL SIGTERM
CMD ["python", "-m", "infra.stack", "--dev-unless-configured"]
