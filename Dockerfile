# syntax=docker/dockerfile:1
# One image for the operator and every built-in component (see docs/install.md, "Building the image").
#   docker build -t ghcr.io/tradingbot-operator/tradingbot:0.1.0 .
# ENTRYPOINT runs the operator; the operator's Deployments start components with
# `command: ["tradingbot-component"]`, so both console scripts are on PATH.

# Builder and runtime must share the base image: the venv's interpreter is a symlink into it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# Optional extras baked into the image: postgres lets the storage component use a PostgreSQL DSN.
ARG EXTRAS=postgres
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so a source change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY operator/ operator/
COPY components/ components/
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
    && wheel="$(ls /tmp/wheels/tradingbot_operator-*.whl)" \
    && /opt/venv/bin/pip install "${wheel}${EXTRAS:+[$EXTRAS]}" \
    && /opt/venv/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="tradingbot-operator" \
      org.opencontainers.image.description="Kubernetes operator and components for Kraken trading bots" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed non-root identity, the same uid the chart and the operator's pod specs run as.
RUN groupadd --system --gid 10001 tradingbot \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tradingbot
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
# 8080 components' HTTP (health, metrics, APIs); 8081 operator liveness; 8082 operator metrics.
EXPOSE 8080 8081 8082
ENTRYPOINT ["tradingbot-operator"]
