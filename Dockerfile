# The platform image: web (gunicorn), Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    AFTERSALES_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

# A CJK font and Pango for the invoice PDFs (WeasyPrint).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
# Editable install: the project runs from /app (templates/ and static/ live beside the code).
RUN pip install -e .

# Static files are collected at build time with the production storage (hashed names,
# compressed); the throw-away secrets below exist only for this step and are not kept.
RUN SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    PII_KEYS='{"keys":{"build":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},"active":"build","index_key":"AAAA"}' \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /app/var

RUN useradd --create-home --uid 1000 app && mkdir -p /app/var && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py"]
