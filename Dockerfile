# Rostrum server image: control plane and SFU workers in one process.
#   docker-compose up -d --build      (see docker-compose.yml and docs/operations.md)

# --- web client packages (socket.io-client etc.); no build step, files are served as-is
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/ ./
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
RUN if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
    elif [ -f package.json ]; then npm install --no-audit --no-fund --loglevel=error; fi

# --- the server
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# the C fan-out (sfu/_fanout.c) is built against Debian's libsrtp2 by the package's build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libsrtp2-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml setup.py README.md ./
COPY meeting_server ./meeting_server
COPY sfu ./sfu
COPY interpretation ./interpretation
COPY documents ./documents
COPY webcast ./webcast
COPY --from=web /src/web ./web
# Editable install: the package finds web/ (templates, static files) beside itself in /app.
RUN pip install -e . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin rostrum \
    && mkdir -p /data && chown rostrum /data
USER rostrum
ENV ROSTRUM_HOST=0.0.0.0 \
    ROSTRUM_PORT=8080 \
    ROSTRUM_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
# SIGTERM (docker stop) closes peer connections cleanly before the process exits.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "meeting_server"]
