# syntax=docker/dockerfile:1.7
# One image for the worker, the API, the admin step and the optional local LLM server.
# Build: docker build -t durable-research .   (docker compose builds it for you)

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- build: resolve the locked environment into /app/.venv --------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
# llama-cpp-python (the embedded model server) compiles llama.cpp from source.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    # A portable build: -march=native would tie the image to the build machine's CPU.
    CMAKE_ARGS="-DGGML_NATIVE=OFF"
WORKDIR /app
# Dependencies first, in their own layer: code changes do not recompile llama.cpp.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-dev --no-install-project
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev

# --- runtime: no compilers, no uv, a non-root user -----------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# libgomp: llama.cpp's OpenMP runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 research \
 && useradd --system --uid 10001 --gid research --home-dir /data --shell /usr/sbin/nologin research \
 && mkdir -p /data \
 && chown research:research /data
# Code and environment stay root-owned: the service can write only to /data.
COPY --from=builder /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RESEARCH_DATA_DIR=/data \
    RESEARCH_DOCS_DIRS=/app/corpus
WORKDIR /app
USER research
VOLUME ["/data"]
EXPOSE 8000 9464
CMD ["python", "-m", "worker"]
