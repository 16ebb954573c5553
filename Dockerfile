# One image for the web server, the Celery worker and Celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    LANTERN_ENV=production \
    LANTERN_VAR_DIR=/var/lib/lantern

RUN apt-get update \
    && apt-get install --yes --no-install-recommends libpq5 gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app lantern \
    && mkdir -p /var/lib/lantern && chown lantern /var/lib/lantern

WORKDIR /app
COPY requirements.txt .
# The CPU build of torch: the default PyPI wheel pulls several GB of CUDA libraries.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==$(sed -n 's/^torch==//p' requirements.txt)" \
    && pip install -r requirements.txt

COPY --chown=lantern . .
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput --verbosity 0

USER lantern
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]
