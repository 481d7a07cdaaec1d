# syntax=docker/dockerfile:1
#
# Nimbus production image. One image serves every role: the default command
# is the ASGI web server; docker-compose.yml runs migrations, the Celery worker
# and the Temporal worker from the same image with other commands.
#
# Configuration comes only from the environment at run time (see
# nimbus/settings/prod.py); nothing secret is baked in.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

# Collected static files go to /app/staticfiles (STATIC_ROOT), part of the image;
# NIMBUS_DATA_DIR is only for runtime data.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=nimbus.settings.prod \
    NIMBUS_DATA_DIR=/var/lib/nimbus

RUN groupadd --system --gid 10001 nimbus \
 && useradd --system --uid 10001 --gid nimbus --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin nimbus

WORKDIR /app

# Requirements first, so that a code change does not reinstall every package.
# Every runtime dependency ships manylinux wheels, so no compiler is needed.
COPY requirements/ requirements/
RUN pip install -r requirements/prod.txt -c requirements/constraints.txt

COPY . .
RUN python -m compileall -q apps nimbus

# Production settings refuse to load without these variables; settings only
# parse them and collectstatic connects to nothing, so placeholders suffice.
# They are set for this one command and are not kept in the image.
# Collected as root, so the running application cannot alter its own assets.
RUN mkdir -p "$NIMBUS_DATA_DIR" \
 && SECRET_KEY=build-time-placeholder-not-a-secret-build-time-placeholder-not-a-secret \
    NIMBUS_BASE_DOMAIN=build.invalid \
    DATABASE_URL=postgresql://build:build@127.0.0.1:9/build \
    REDIS_URL=redis://127.0.0.1:9/0 \
    TEMPORAL_ADDRESS=127.0.0.1:9 \
    python manage.py collectstatic --noinput \
 && chown nimbus:nimbus "$NIMBUS_DATA_DIR"

USER nimbus:nimbus

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# --proxy-headers trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (uvicorn's
# default is 127.0.0.1); set it to the reverse proxy's address when there is one.
CMD ["uvicorn", "nimbus.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--ws", "websockets-sansio", "--lifespan", "off", "--proxy-headers"]
