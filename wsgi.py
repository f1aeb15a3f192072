"""WSGI entry point for gunicorn's gevent workers: cooperative I/O first, then the application."""

from gevent import monkey

monkey.patch_all()

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()  # psycopg2 waits on sockets through gevent instead of blocking the worker

from app import create_app  # noqa: E402

app = create_app()
