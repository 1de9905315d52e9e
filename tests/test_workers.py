"""Stateless workers (issue 9): two gunicorn processes on PostgreSQL and Redis serve the same
sessions and the same data, count one rate limit together and hand background jobs to RQ.

Each process gets its own instance folder (OPENCERTIF_INSTANCE): nothing is shared through a
worker's memory or disk, only through the environment (SECRET_KEY), PostgreSQL and Redis.
Needs PostgreSQL and Redis on 127.0.0.1 (skipped without them, except with CI=true). One test
function on purpose: pytest-xdist may spread the tests of a module over several processes, and
they would share the database and the Redis database below.
"""
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
DB_NAME = "opencertif_workers_test"
REDIS_URL = "redis://127.0.0.1:6379/13"  # a Redis database of its own, flushed before and after
QUEUE = "mail"  # app/jobs.py: the queue of mail jobs
NEW_PASSWORD = "Nouveau-Secret-Workers-2026!"
USER = "utilisateur.etablissement"  # app/seed_data/demo.py
USER_EMAIL = f"{USER}@demo.example.org"
STARTUP_TIMEOUT = 40


def _pg_server() -> str:
    url = os.environ.get("DATABASE_URL_TEST", "")
    return url.rsplit("/", 1)[0] if url.startswith("postgresql") else PG_SERVER


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (obligatoire avec CI=true)")
    pytest.skip(reason)


def _require_services():
    if os.environ.get("CI") == "true" and not os.environ.get("DATABASE_URL_TEST", "").startswith("postgresql"):
        pytest.skip("deux workers gunicorn : testé dans la passe PostgreSQL de `make test`")
    import psycopg
    from redis import Redis
    from redis.exceptions import RedisError
    try:
        psycopg.connect(f"{_pg_server()}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL injoignable ({_pg_server()}) : {exc}")
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except (RedisError, OSError) as exc:
        _unavailable(f"Redis injoignable ({REDIS_URL}) : {exc}")


def _admin_sql(statement: str):
    import psycopg
    with psycopg.connect(f"{_pg_server()}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def _query(db_url: str, sql: str, *params):
    import psycopg
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


class Server:
    """One `gunicorn 'app:create_app()'` (one sync worker) with its own instance folder."""

    def __init__(self, name: str, env: dict, tmp: Path):
        self.name = name
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.instance = tmp / f"instance-{name}"
        self.instance.mkdir()
        self.log = tmp / f"gunicorn-{name}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "sync",
                 "--bind", f"127.0.0.1:{self.port}", "--timeout", "60", "--no-control-socket",
                 "app:create_app()"],
                cwd=ROOT, env={**env, "OPENCERTIF_INSTANCE": str(self.instance)},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, deadline: float):
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"gunicorn {self.name} s'est arrêté ({self.proc.returncode}) :\n{_tail(self.log)}")
            try:
                with urllib.request.urlopen(f"{self.base}/login/", timeout=5) as r:
                    if r.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.3)
        pytest.fail(f"gunicorn {self.name} ne répond pas sur {self.base} :\n{_tail(self.log)}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A cookie jar and no automatic redirects: cookies go to both servers, as in a browser
    (cookies ignore the port), and each 302 is asserted where it happens."""

    def __init__(self):
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())

    def open(self, server: Server, path: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(server.base + path, data=body)
        try:
            with self.opener.open(request, timeout=30) as r:
                return r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")

    def csrf(self, server: Server, path: str) -> str:
        status, _, html = self.open(server, path)
        assert status == 200, (path, status)
        match = (re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
                 or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html))
        assert match, f"pas de jeton CSRF dans {path}"
        return match.group(1)

    def login(self, server: Server, username: str, password: str):
        token = self.csrf(server, "/login/")
        return self.open(server, "/login/", {"csrf_token": token, "username": username,
                                             "password": password})


def _logged_in(response) -> bool:
    status, headers, _ = response
    return status == 302 and "/login" not in (headers.get("Location") or "")


def _auth_limit() -> int:
    from config import Config
    return int(Config.AUTH_RATE_LIMIT.split()[0])  # "10 per 5 minute"


def test_two_gunicorn_workers_share_nothing_but_postgresql_and_redis(tmp_path):
    _require_services()
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from app.seed_data.demo import DEMO_PASSWORD

    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    db_url = f"{_pg_server()}/{DB_NAME}"
    drop = {"DATABASE_URL_TEST", "DATABASE_URL_TEST_EFFECTIVE", "OPENCERTIF_INSTANCE", "SECRET_KEY",
            "MAIL_SERVER", "SERVER_SOFTWARE", "RATELIMIT_ENABLED", "SESSION_COOKIE_SECURE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DATABASE_URL=db_url, REDIS_URL=REDIS_URL, SECRET_KEY=secrets.token_hex(32),
               FLASK_APP="run.py", PYTHONUNBUFFERED="1")
    servers: list[Server] = []
    try:
        setup = {**env, "OPENCERTIF_INSTANCE": str(tmp_path / "instance-setup")}
        for command in (["db", "upgrade"], ["demo"]):
            done = subprocess.run([sys.executable, "-m", "flask", *command], cwd=ROOT, env=setup,
                                  check=False, capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, f"flask {' '.join(command)} :\n{done.stderr[-3000:]}"
        redis.flushdb()

        # The same environment without SECRET_KEY: gunicorn refuses to start (config.py), rather
        # than each machine generating its own key into its own instance folder.
        servers.append(nokey := Server("sans-cle", {k: v for k, v in env.items() if k != "SECRET_KEY"},
                                       tmp_path))
        servers.append(a := Server("A", env, tmp_path))
        servers.append(b := Server("B", env, tmp_path))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        a.wait_ready(deadline)
        b.wait_ready(deadline)
        try:
            nokey.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail("gunicorn sans SECRET_KEY a démarré sur PostgreSQL")
        assert nokey.proc.returncode != 0
        assert "SECRET_KEY manquante" in _tail(nokey.log, 20000)

        # 1. A session opened on A is valid on B (signed cookie, same SECRET_KEY).
        admin = Browser()
        assert _logged_in(admin.login(a, "admin", DEMO_PASSWORD))
        status, _, html = admin.open(b, "/mon-compte/")
        assert status == 200 and "<td>admin</td>" in html
        status, headers, _ = Browser().open(b, "/mon-compte/")  # the page is protected
        assert status == 302 and "/login" in headers["Location"]

        # 2. A mail requested on A is a job in Redis, not sent by the web worker; an RQ worker
        #    (a third process, its own instance folder) delivers it and records it in PostgreSQL.
        queue = Queue(QUEUE, connection=redis)
        anonymous = Browser()
        token = anonymous.csrf(a, "/compte/mot-de-passe-oublie")
        status, _, _ = anonymous.open(a, "/compte/mot-de-passe-oublie",
                                      {"csrf_token": token, "email": USER_EMAIL})
        assert status == 302
        assert queue.count == 1
        rows = _query(db_url, "SELECT id, statut, corps_texte FROM mail_message WHERE destinataire = %s",
                      USER_EMAIL)
        assert [r[1] for r in rows] == ["en_attente"]
        mail_id, _, body = rows[0]
        rq_instance = tmp_path / "instance-rq"
        rq_instance.mkdir()
        worker = subprocess.run(
            [sys.executable, "-m", "flask", "worker", "--burst", QUEUE],
            cwd=ROOT, env={**env, "OPENCERTIF_INSTANCE": str(rq_instance)},
            check=False, capture_output=True, text=True, timeout=120)
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert queue.count == 0 and FailedJobRegistry(queue=queue).count == 0, worker.stderr[-3000:]
        assert _query(db_url, "SELECT statut FROM mail_message WHERE id = %s", mail_id) == [("depose",)]
        assert len(list((rq_instance / "outbox").glob("*.eml"))) == 1  # the worker's own disk
        assert not (a.instance / "outbox").exists() and not (b.instance / "outbox").exists()

        # 3. What A wrote, B serves: the outbox lists the mail; the reset link signed by A opens
        #    on B; the password chosen through B opens a session on A.
        status, _, html = admin.open(b, "/outboxview/list/")
        assert status == 200 and USER_EMAIL in html
        link = re.search(r"/compte/mot-de-passe/[^\s?]+\?reset=1", body).group(0)
        user = Browser()
        token = user.csrf(b, link)
        status, headers, _ = user.open(b, link, {"csrf_token": token, "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
        assert status == 302 and "/login" in headers["Location"]
        assert _logged_in(user.login(a, USER, NEW_PASSWORD))
        status, _, html = user.open(b, "/mon-compte/")
        assert status == 200 and f"<td>{USER}</td>" in html

        # 4. R-ACC-2 (brute force): one login counter for the address, kept in Redis and counted
        #    by both workers: the limit falls at the configured total, although each worker has
        #    seen only half of the attempts.
        for key in redis.scan_iter("LIMITS:*"):
            redis.delete(key)
        limit = _auth_limit()
        attacker = Browser()
        for attempt in range(limit):
            server = (a, b)[attempt % 2]
            status, _, _ = attacker.login(server, "admin", f"mauvais-{attempt}")
            assert status != 429, f"limité dès l'essai {attempt + 1} sur {limit}"
        assert any(redis.scan_iter("LIMITS:*")), "le compteur n'est pas dans Redis"
        for server in (a, b):
            status, _, _ = attacker.login(server, "admin", DEMO_PASSWORD)
            assert status == 429, f"{server.name} : {status} au-delà de {limit} essais"
    except BaseException:
        for server in servers:
            print(f"--- gunicorn {server.name} ---\n{_tail(server.log)}")
        raise
    finally:
        for server in servers:
            server.stop()
        redis.flushdb()
        _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
