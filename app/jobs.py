"""Background work: RQ on Redis when REDIS_URL is set, inline otherwise.

Jobs are named by dotted path. `flask worker` (app/cli.py → run_worker) builds the application
once, in the worker's parent process, before RQ forks a work-horse per job: the horse inherits
the built app (copy-on-write) instead of building it again, which cost seconds per job.
Queues are listened to in priority order: a mail never waits behind a print batch or an import.
"""
import importlib
import logging
import os
import time

from flask import current_app

log = logging.getLogger(__name__)

QUEUES = ("mail", "documents", "imports")  # priority order of `flask worker`
_KINDS = (("app.workflow.mail.", "mail"), ("app.workflow.pieces", "documents"),
          ("app.reports.", "documents"))
_worker_app = None  # the app a worker process runs its jobs with (set once, before forking)


def queue_for(path: str) -> str:
    """The queue a job goes to, from its kind (its module)."""
    for prefix, name in _KINDS:
        if path.startswith(prefix):
            return name
    return "imports" if "import" in path.rpartition(".")[0] else "documents"


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def use_app(app) -> None:
    """Make `app` the application of every job this process (and its forks) runs."""
    global _worker_app
    _worker_app = app


def execute(path: str, *args, **kwargs):
    """Entry point of an RQ job: runs `path(*args)` in a fresh application context whose
    database session starts and ends empty (nothing leaks from one job into the next)."""
    global _worker_app
    if _worker_app is None:  # a plain `rq worker`: built here, once per work-horse
        from app import create_app
        _worker_app = create_app()
    from app.extensions import db
    started = time.perf_counter()
    with _worker_app.app_context():
        db.session.remove()
        func = _resolve(path)
        ready = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            done = time.perf_counter()
            db.session.remove()
            log.info("job %s: %.1f ms de travail, %.1f ms de mise en place", path,
                     (done - ready) * 1000, (ready - started + time.perf_counter() - done) * 1000)


def connection():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    return Redis.from_url(url)


def queue(name: str = "documents"):
    conn = connection()
    if conn is None:
        return None
    from rq import Queue
    return Queue(name, connection=conn)


def enqueue(path: str, *args, **kwargs):
    """Run `path(*args)` in the background (RQ, on the queue of its kind) or now; returns the RQ
    job or the result."""
    q = queue(queue_for(path))
    if q is None:  # inline, in the caller's context and transaction
        return _resolve(path)(*args, **kwargs)
    return q.enqueue(execute, path, *args, **kwargs, job_timeout=1800)


class _HorseReusingApp:
    """Mixin for RQ's forking Worker: the horse drops the database connections it inherited
    from the parent (a socket must never be shared by two processes), then runs the job with
    the parent's app."""

    def main_work_horse(self, job, queue):
        from app.extensions import db
        with _worker_app.app_context():
            db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


def run_worker(app, queues=QUEUES, burst: bool = False, fork: bool = True, name: str | None = None):
    """Run an RQ worker on `queues` whose jobs use `app` (built once by the caller). `fork=False`
    runs the jobs in this process (RQ's SimpleWorker): less isolation, no fork."""
    from rq import SimpleWorker, Worker
    use_app(app)
    from app.reports.pdf import warm_up
    warm_up()  # imported and drawn once here: every horse inherits it (≈ 1 s each otherwise)
    with app.app_context():  # a new context: its session is not the caller's
        from app.extensions import db
        db.session.remove()
        db.engine.dispose()  # no connection opened by the build survives into the horses
        conn = connection()
    if conn is None:
        raise RuntimeError("REDIS_URL n'est pas défini : les travaux s'exécutent sans file.")
    base = Worker if fork else SimpleWorker
    cls = type("OpenCertifWorker", (_HorseReusingApp, base), {}) if fork else base
    worker = cls(list(queues), connection=conn, name=name or f"opencertif-{os.getpid()}")
    return worker.work(burst=burst, with_scheduler=True)
