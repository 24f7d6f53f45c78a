"""gunicorn's settings for lightboard's web nodes, read from the working directory (the image,
the compose stack and `make load` use it). Each can be changed by an environment variable.

Processes rather than threads: lightboard's requests are mostly Python work between short
PostgreSQL queries, and the threads of one process take turns at its interpreter lock after every
query. `make load LOAD_ARGS="--capacity"` on a 2-core machine, in steps of 25 users, pairs run
one after the other on the same code: 5 processes x 4 threads, knee 100 requests/s, against
5 x 2, 127; later 5 x 2, 127 (147 at 125 users), against 8 x 1, 130 (155). So four
single-threaded processes per core. Each process holds one PostgreSQL connection
(DB_CONN_MAX_AGE): N web nodes of C cores hold 4 x C x N connections."""

import multiprocessing
import os

# Loopback unless told: the image listens on every interface (GUNICORN_BIND in the Dockerfile).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 4)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
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
