# The tracker's image, used by docker-compose.yml for web, worker and beat.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    PATH="/opt/venv/bin:$PATH"

RUN pip install --no-cache-dir uv
WORKDIR /app

# Dependencies first, from the lock file, so code changes reuse this layer. The runtime
# ones only: no default group (dev, and bench with the benchmark's Datasette).
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-default-groups --no-install-project

COPY . .
# Settings need a database URL to import; collectstatic does not connect.
RUN DATABASE_URL=postgres://build@localhost/build SECRET_KEY=build DEBUG=false \
    python manage.py collectstatic --noinput

# var/dumps exists in the image so the named volume mounted there starts out writable.
RUN useradd --create-home --uid 1000 waic && mkdir -p /app/var/dumps && chown -R waic /app
USER waic
EXPOSE 8000
CMD ["gunicorn", "waic.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "2"]
