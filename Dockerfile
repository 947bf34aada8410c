# NMD CDS Hooks service: slim Python, non-root, gunicorn (gevent workers) serving the app named in
# service/gunicorn_conf.py. Production needs NMD_CDS_BASE_URL (the JWT audience) and trusted issuers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NMD_CDS_HOST=0.0.0.0 \
    NMD_CDS_PORT=8080 \
    NMD_CDS_SQLITE_PATH=/var/lib/nmd-cds/nmd-cds.sqlite3

RUN useradd --create-home --uid 10001 cds && mkdir -p /var/lib/nmd-cds && chown cds /var/lib/nmd-cds
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER cds
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('NMD_CDS_PORT', '8080'), timeout=4)"]
CMD ["gunicorn", "-c", "python:service.gunicorn_conf"]
