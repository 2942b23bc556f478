# The whole local stack in one container: the REST API (8000), the socket node with the web
# app (8080), the Upstash-REST bridge (8079, only when UPSTASH_REDIS_REST_URL is unset), and
# embedded PostgreSQL and Redis under /app/var unless DATABASE_URL / REDIS_URL are given.
#   docker build -t auction . && docker run -p 8000:8000 -p 8080:8080 auction
# The socket node alone (Render, see infra/render.yaml): `python -m socket_node`.

# -- 1. the web app --------------------------------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# -- 2. Python dependencies (pinned in pyproject.toml), in a venv ----------------------------
FROM python:3.11-slim-bookworm AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY pyproject.toml /src/pyproject.toml
# Only the runtime dependencies: the project's code comes in the last stage.
RUN /venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml','rb'))['project']['dependencies']))" > /src/requirements.txt \
 && /venv/bin/pip install -r /src/requirements.txt

# -- 3. the runtime ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    API_PORT=8000 SOCKET_PORT=8080
RUN useradd --create-home --uid 10001 app
COPY --from=deps /venv /venv
WORKDIR /app
COPY --chown=app:app pyproject.toml ./
COPY --chown=app:app shared ./shared
COPY --chown=app:app functions ./functions
COPY --chown=app:app socket_node ./socket_node
COPY --chown=app:app infra ./infra
COPY --chown=app:app --from=web /src/web/dist ./web/dist
RUN mkdir -p var && chown app:app var
# Embedded PostgreSQL refuses to run as root; the whole stack runs as `app`.
USER app
EXPOSE 8000 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; [urllib.request.urlopen(f'http://127.0.0.1:{p}/health', timeout=4) for p in (8000, 8080)]" || exit 1
STOPSIGNAL SIGTERM
CMD ["python", "-m", "infra.stack"]
