"""gunicorn settings of the reference app: the ad server's own (gunicorn.conf.py) without its hooks."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8001')}"
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
errorlog = "-"
loglevel = "warning"
proc_name = "adserver-reference"
