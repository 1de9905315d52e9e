"""Issue 17 item 1: `flask worker` builds the application once, before RQ forks a work-horse per
job; each job runs in a fresh application context with an empty session; jobs go to the queue of
their kind. Redis database 11 or 12, one per xdist
worker (tests/test_workers.py uses 13)."""
import logging
import os
import time

import pytest
from flask import current_app, g

from app import jobs
from tests.conftest import REDIS_TEST_URL as REDIS_URL

log = logging.getLogger(__name__)


@pytest.fixture
def redis_app(app, monkeypatch, tmp_path):
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Redis ne répond pas sur 127.0.0.1:6379")
    conn.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    # Every build of the application, in this process or in a forked work-horse, is one line
    # in this file (a counter in memory would stay in the horse that incremented it).
    builds = tmp_path / "builds"
    builds.touch()
    import app as app_package
    real = app_package.create_app

    def counting_create_app(*args, **kwargs):
        with builds.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(app_package, "create_app", counting_create_app)
    monkeypatch.setattr(jobs, "_worker_app", None)
    yield conn, builds
    conn.flushdb()


def probe(number):
    """A job: what its context and session look like when it starts, then it dirties both."""
    from app.extensions import db
    from app.models.notification import MailMessage
    clean = "probe" not in g and not db.session.new and len(db.session.identity_map) == 0
    g.probe = number
    db.session.add(MailMessage(destinataire=f"p{number}@example.org", sujet="s", corps_texte="c",
                               statut="en_attente"))
    db.session.flush()  # left uncommitted: the next job must not see it
    return {"pid": os.getpid(), "clean": clean, "app": id(current_app._get_current_object()),
            "rows": db.session.query(MailMessage).count()}


def noop():
    return None


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "sans-fork"])
def test_worker_builds_the_application_once_for_many_jobs(app, redis_app, fork):
    conn, builds = redis_app
    from rq import Queue
    with app.app_context():
        queued = [jobs.enqueue("tests.test_worker.probe", n) for n in range(30)]
    assert {j.origin for j in queued} == {"documents"}
    args = ["worker", "--burst"] + ([] if fork else ["--sans-fork"])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert builds.read_text() == ""  # no create_app in the worker nor in any horse
    results = [Queue("documents", connection=conn).fetch_job(j.id).return_value() for j in queued]
    assert all(r is not None for r in results), results
    assert {r["app"] for r in results} == {id(app)}  # the app built before the worker started
    assert all(r["clean"] for r in results)  # fresh context, empty session for every job
    assert {r["rows"] for r in results} == {1}  # no job saw another one's uncommitted row
    pids = {r["pid"] for r in results}
    assert (len(pids) == 30) if fork else (pids == {os.getpid()})


def test_a_plain_rq_horse_would_build_the_app_per_job(app, redis_app):
    """The counter above is not blind: without `flask worker`, each horse builds the app."""
    conn, builds = redis_app
    from rq import Queue, Worker
    with app.app_context():
        for _ in range(2):
            jobs.enqueue("tests.test_worker.noop")
    assert Worker([Queue("documents", connection=conn)], connection=conn).work(burst=True)
    assert len(builds.read_text().split()) == 2


def test_job_overhead_is_logged(app, redis_app, caplog):
    """The cost of a job beyond its own work (fork, RQ bookkeeping, context), measured; the
    figure is logged (the bench measures, tests do not time)."""
    with app.app_context():
        for _ in range(40):
            jobs.enqueue("tests.test_worker.noop")
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["worker", "--burst", "documents"])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    log.warning("flask worker : %.1f ms par travail vide (40 travaux, fork)", elapsed / 40 * 1000)


def test_jobs_go_to_the_queue_of_their_kind():
    assert jobs.queue_for("app.workflow.mail.deliver_many") == "mail"
    assert jobs.queue_for("app.workflow.issued.batches.run_print_batch") == "documents"
    assert jobs.queue_for("app.workflow.imports.run") == "imports"
    assert jobs.QUEUES == ("mail", "documents", "imports")  # the worker's priority order


def test_without_redis_the_job_runs_inline_in_the_callers_transaction(app, db):
    from app.models.notification import MailMessage
    row = jobs.enqueue("tests.test_worker.probe", 7)
    assert row["rows"] == 1 and db.session.query(MailMessage).one().destinataire == "p7@example.org"


def test_worker_refuses_an_unknown_queue(app, redis_app):
    result = app.test_cli_runner().invoke(args=["worker", "--burst", "impression"])
    assert result.exit_code != 0 and "files inconnues" in result.output
