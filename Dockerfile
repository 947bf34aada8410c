# NMD CDS Hooks service: slim Python, non-root, gunicorn (gevent workers that read each request whole
# before the app runs) serving the app named in service/gunicorn_conf.py. Production needs
# NMD_CDS_BASE_URL (the JWT audience) and trusted issuers.
# Two stages: the build stage installs the service and its dependencies (wheels only) into a virtual
# environment; the final image gets that environment alone, without pip, setuptools, caches or build tools.
# The base image is pinned by version; pin it by digest too (python:3.11.13-slim-bookworm@sha256:...)
# for byte-for-byte reproducible builds.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN python -m venv /opt/nmd-cds \
    && /opt/nmd-cds/bin/pip install --only-binary=:all: . \
    && /opt/nmd-cds/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/nmd-cds/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NMD_CDS_HOST=0.0.0.0 \
    NMD_CDS_PORT=8080 \
    NMD_CDS_SQLITE_PATH=/var/lib/nmd-cds/nmd-cds.sqlite3
RUN useradd --create-home --uid 10001 cds \
    && mkdir -p /var/lib/nmd-cds /etc/nmd-cds \
    && chown cds /var/lib/nmd-cds
COPY --from=build /opt/nmd-cds /opt/nmd-cds
# The SQLite store (feedback, card ledger, JWT replay) lives outside the container's layer. Configuration
# files (trusted issuers and their key sets, a site file) are mounted read-only at /etc/nmd-cds;
# see the README's Docker section.
VOLUME ["/var/lib/nmd-cds"]
WORKDIR /var/lib/nmd-cds

USER cds
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NMD_CDS_PORT', '8080'), timeout=4)"]
CMD ["gunicorn", "-c", "python:service.gunicorn_conf"]
