"""Background work: RQ on Redis when REDIS_URL is set, inline otherwise.

Jobs are named by dotted path so that an RQ worker process can run them with its own app.
"""
import importlib
import logging

from flask import current_app

log = logging.getLogger(__name__)
_worker_app = None


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def execute(path: str, *args, **kwargs):
    """Entry point of an RQ job: runs `path(*args)` inside an application context."""
    global _worker_app
    from flask import has_app_context
    if has_app_context():
        return _resolve(path)(*args, **kwargs)
    if _worker_app is None:
        from app import create_app
        _worker_app = create_app()
    with _worker_app.app_context():
        return _resolve(path)(*args, **kwargs)


def queue():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    from rq import Queue
    return Queue("opencertif", connection=Redis.from_url(url))


def enqueue(path: str, *args, **kwargs):
    """Run `path(*args)` in the background (RQ) or now; returns the RQ job or the result."""
    q = queue()
    if q is None:
        return execute(path, *args, **kwargs)
    return q.enqueue(execute, path, *args, **kwargs, job_timeout=1800)
