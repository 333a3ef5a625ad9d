# SMC: one image for web (gunicorn), the Celery worker, beat and migrate.
# docker-compose.yml says which one a container runs and gives it its environment.
FROM python:3.11-slim

# PYTHONPATH: the source tree in /app (with its templates and static) is what runs, not
# the copy pip puts in site-packages.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    SMC_DATA_DIR=/data

RUN groupadd --system --gid 10001 smc \
    && useradd --system --uid 10001 --gid smc --home-dir /app --no-create-home smc \
    && mkdir -p /data /checkpoints \
    && chown smc:smc /data /checkpoints

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them
# (with no sources beside it the project itself builds empty).
COPY pyproject.toml ./
RUN pip install . && pip uninstall --yes smc

COPY . .
RUN pip install --no-deps . && rm -rf build ./*.egg-info

# Settings need a database and broker URL, a secret key and a token key to import; none
# is used by collectstatic. These dummies exist for this line only: without
# DATABASE_URL, settings.py would start the embedded database of the demo.
RUN DATABASE_URL=postgresql://collectstatic@localhost/collectstatic \
    REDIS_URL=redis://localhost:6379/0 \
    SECRET_KEY=collectstatic-only-not-a-secret \
    SMC_TOKEN_KEYS=collectstatic-only-not-a-key \
    python manage.py collectstatic --noinput

USER smc
EXPOSE 8000
CMD ["gunicorn", "smc.wsgi", "--bind=0.0.0.0:8000", "--workers=3", "--access-logfile=-"]
