"""WSGI entry point for production servers: `gunicorn wsgi:app`."""

from voting import create_app

app = create_app()
