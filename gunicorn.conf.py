"""gunicorn's settings for lightboard's web nodes, read from the working directory (the image,
the compose stack and `make load` use it). Each can be changed by an environment variable.

gthread workers: a request spends part of its time waiting for PostgreSQL, and a second thread
of the process fills that time; more threads per process than that make them queue for its
interpreter lock after each query, which `make load LOAD_ARGS="--capacity"` measured on a 2-core
machine as a lower knee (5 x 4 threads: 100 requests/s; 5 x 2: 127; 8 x 1: 100-130)."""

import multiprocessing
import os

# Loopback unless told: the image listens on every interface (GUNICORN_BIND in the Dockerfile).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 2)
# A request past this is stopped (the import of a large file runs as a Celery job instead).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
graceful_timeout = 30
# Connections kept open between a browser's requests (behind a balancer, between its requests).
keepalive = 5
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
# Restart a process after this many requests (with jitter, so they don't all restart at once):
# a slow leak in a library cannot grow without limit.
max_requests = 5000
max_requests_jitter = 500
