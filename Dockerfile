# The production-shaped image: the web app under gunicorn, Celery worker and beat.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 GUNICORN_BIND=0.0.0.0:8000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY lightboard ./lightboard
COPY tasks ./tasks
COPY reviews ./reviews
COPY reports ./reports
# The `directory` extra (LDAP / Active Directory sign-in and sync): python-ldap compiles against
# OpenLDAP's headers; the compiler goes again, the libraries (and headers) stay.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libldap2-dev libsasl2-dev \
    && pip install --no-cache-dir ".[directory]" \
    && apt-get purge -y --auto-remove gcc \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# collectstatic and the catalogues need settings but no database or real secret.
RUN DEBUG=1 python manage.py compile_catalogues \
    && DEBUG=1 STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput
RUN useradd --create-home lightboard && mkdir -p /app/media && chown lightboard /app/media
USER lightboard
EXPOSE 8000
# Workers, threads and timeouts: gunicorn.conf.py (WEB_CONCURRENCY, GUNICORN_THREADS, ...).
CMD ["gunicorn", "lightboard.wsgi:application"]
