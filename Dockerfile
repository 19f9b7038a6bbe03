# syntax=docker/dockerfile:1
# Stage 1: build wheels with the compilers; stage 2: a slim runtime without them.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/ /src/requirements/
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r /src/requirements/prod.txt

FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DJANGO_SETTINGS_MODULE=leguas.settings
RUN useradd --create-home --uid 10001 leguas
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
COPY --chown=leguas:leguas . /app
# collectstatic needs settings to import; these throwaway values never reach a running container.
RUN DEBUG=false SECRET_KEY=collectstatic-only WPPCONNECT_SECRET_KEY=x WHATSAPP_ENCRYPTION_KEY=x \
    python manage.py collectstatic --no-input \
    && mkdir -p /app/var/media \
    && chown -R leguas:leguas /app/staticfiles /app/var
USER leguas
EXPOSE 8000
CMD ["gunicorn", "leguas.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
