"""Time the main screens, documents and exports through the real app (issue 9).

Usage: python -m bench.run [--scale S] [--repeat N] [--quick]
A logged-in Flask test client of create_app() on the bench database (see bench.seed) issues each
request N times; the table gives median and p95 wall time, the SQL statements of one request
(engine event), and the target of issue 9. Results also go to bench-results/<timestamp>.json.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from bench.seed import DEFAULT_URL, PASSWORD

# (key, label, user, url, target median ms, target p95 ms, max statements, heavy)
# heavy: measured with fewer repetitions, peak Python memory traced.
PAGES = [
    ("liste_sec", "Liste candidatures p.1 (secrétariat)", "bench_secretariat",
     "/candidatures/list/", 25, 40, 12, False),
    ("liste_sec_statut", "Liste filtrée par statut (secrétariat)", "bench_secretariat",
     "/candidatures/list/?_flt_3_statut=en_attente_jury", 25, 40, 12, False),
    ("liste_sec_p2000", "Liste page 2000 (secrétariat)", "bench_secretariat",
     "/candidatures/list/?page_CandidatureView=1999", 25, 40, 12, False),
    ("liste_etab", "Liste candidatures p.1 (établissement)", "bench_etablissement",
     "/candidatures/list/", 25, 40, 12, False),
    ("liste_etab_statut", "Liste filtrée par statut (établissement)", "bench_etablissement",
     "/candidatures/list/?_flt_3_statut=en_attente_jury", 25, 40, 12, False),
    ("liste_etab_p2000", "Liste page 600 (établissement)", "bench_etablissement",
     "/candidatures/list/?page_CandidatureView=599", 25, 40, 12, False),
    ("dossier", "Page dossier", "bench_secretariat", "/dossier/{dossier_id}", 25, 40, 12, False),
    ("accueil_sec", "Tableau de bord (secrétariat)", "bench_secretariat", "/", 25, 40, 12, False),
    ("accueil_etab", "Tableau de bord (établissement)", "bench_etablissement", "/", 25, 40, 12,
     False),
    ("doublons", "Recherche de doublon avant création", "bench_secretariat",
     "/candidatures/recherche?nom=Martin&prenom=Jean&date_naissance=", 25, 40, 12, False),
    ("rapport", "Rapport manager (tous dossiers)", "bench_manager", "/rapports/", 300, None,
     None, False),
    ("feuille_xlsx", "Feuille de décision jury 500 (xlsx)", "bench_secretariat",
     "/jurys/feuille/1/xlsx", None, None, None, True),
    ("feuille_pdf", "Feuille de décision jury 500 (pdf)", "bench_secretariat",
     "/jurys/feuille/1/pdf", 4000, None, None, True),
    ("export_stats_csv", "Export dossiers statistiques csv (flux)", "bench_manager",
     "/statistiques/dossiers/csv/", 1000, None, None, True),
    ("export_stats_xlsx", "Export dossiers statistiques xlsx (flux)", "bench_manager",
     "/statistiques/dossiers/xlsx/", 8000, None, None, True),
    ("export_liste_csv", "Export liste candidatures csv (≤100 000)", "bench_secretariat",
     "/candidatures/export/csv/", 1000, None, None, True),
    ("export_liste_xlsx", "Export liste candidatures xlsx (≤100 000)", "bench_secretariat",
     "/candidatures/export/xlsx/", 8000, None, None, True),
]


# Targets stated per 100,000 lines (issue 17 item 4): the figure's target is scaled to the lines
# the export actually wrote.
PER_100K = {"export_stats_csv": 1000, "export_stats_xlsx": 4000}


def load1():
    """The machine's 1-minute load average when a figure is taken (the machine is shared)."""
    return round(os.getloadavg()[0], 2)


def verdict(r):
    """'oui', or 'non (×k)' with k the worst ratio of a figure to its target."""
    ratios = [r[f] / r[t] for f, t in (("median_ms", "target_median_ms"), ("p95_ms", "target_p95_ms"),
                                        ("statements", "target_statements"))
              if r.get(t) and r.get(f) is not None]
    if r.get("status") not in (200, "ok", None):
        return f"non (HTTP {r['status']})"
    if not ratios:
        return "—"
    worst = max(ratios)
    return "oui" if worst <= 1 else f"non (×{worst:.2f})"


def percentile(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def make_app(url):
    os.environ["DATABASE_URL"] = url
    from config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        WTF_CSRF_ENABLED = False
        RATELIMIT_ENABLED = False
        MAIL_SERVER = None
        REDIS_URL = None

    from app import create_app
    return create_app(BenchConfig)


def login(app, username):
    client = app.test_client()
    r = client.post("/login/", data={"username": username, "password": PASSWORD})
    if r.status_code != 302 or "/login" in r.headers.get("Location", ""):
        raise SystemExit(f"connexion impossible pour {username}")
    return client


def measure(app, engine, client, url, repeat, heavy, trace=False):
    """Time `repeat` GETs. Heavy requests also report memory: the growth of the process's peak
    RSS (getrusage; 0 when the request stays under an earlier peak, so a lower bound), or with
    trace=True the Python peak from tracemalloc (exact, but it slows the request 2-5x, so the
    time of a traced run is not comparable)."""
    import sqlalchemy as sa
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    times, cpu, status, size, peak, rss_growth = [], [], None, 0, None, None
    for i in range(repeat):
        statements.clear()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if heavy and trace:
            tracemalloc.start()
        sa.event.listen(engine, "before_cursor_execute", count)
        t, c = time.perf_counter(), time.process_time()
        r = client.get(url)
        body = r.get_data()  # consumes streamed responses too
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        sa.event.remove(engine, "before_cursor_execute", count)
        if heavy and trace:
            peak = max(peak or 0, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        if heavy:
            growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            rss_growth = max(rss_growth or 0, growth)
        status, size = r.status_code, len(body)
        if status != 200 and i == 0:  # say why: a refused figure is not a figure
            import re
            text = re.sub(r"\s+", " ", re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ",
                                              body.decode("utf-8", "replace")))
            print(f"  HTTP {status} pour {url}: {text[:300]}", flush=True)
        r.close()
    # cpu_ms: this process's CPU (the application; on SQLite its SQL too), which a loaded
    # shared machine inflates far less than the wall time
    return {"median_ms": statistics.median(times), "p95_ms": percentile(times, 0.95),
            "min_ms": min(times), "runs": len(times), "statements": len(statements),
            "cpu_ms": round(statistics.median(cpu), 1), "status": status, "bytes": size, "lines": body.count(b"\n") if heavy and "csv" in url else None,
            "peak_python_mb": round(peak / 2**20, 1) if peak else None,
            "rss_peak_growth_mb": round(rss_growth, 1) if rss_growth is not None else None,
            "sql": statements[:40]}


def live_children_cpu() -> float:
    """CPU seconds of the live descendants of this process (the PDF pool's workers under its
    forkserver stay alive, so RUSAGE_CHILDREN does not see them), read from /proc (Linux)."""
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    mine, total = {os.getpid()}, 0.0
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                total += times[pid]
                changed = True
    return total


def measure_call(engine, fn, repeat):
    """Time `repeat` calls of fn() (documents are issued in-process, then rolled back)."""
    import sqlalchemy as sa
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def cpu_now():  # this process, its finished children and its live ones (rendering pool)
        own, kids = (resource.getrusage(resource.RUSAGE_SELF),
                     resource.getrusage(resource.RUSAGE_CHILDREN))
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + live_children_cpu()

    times, cpu, size = [], [], 0
    for _ in range(repeat):
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        t, c = time.perf_counter(), cpu_now()
        size = fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((cpu_now() - c) * 1000)
        sa.event.remove(engine, "before_cursor_execute", count)
    return {"median_ms": statistics.median(times), "p95_ms": percentile(times, 0.95),
            "min_ms": min(times), "runs": len(times), "statements": len(statements),
            "status": "ok", "bytes": size, "lines": None, "peak_python_mb": None,
            "rss_peak_growth_mb": None, "cpu_ms": statistics.median(cpu),
            "sql": statements[:10]}


def measure_documents(app, engine, repeat):
    """PV of the closed 500-candidate jury and the print batch of its 500 certificates (issued
    once and kept, like the secretariat would), through the workflow functions themselves."""
    from flask_appbuilder.security.sqla.models import User

    from app.extensions import db
    from app.models.document import DocumentEmis
    from app.models.jury import Jury
    from app.security.perimeter import perimetre_of
    from app.workflow.issued.batches import print_certificates
    from app.workflow.jury.documents import issue_jury_documents
    from bench.seed import CLOSED_JURY
    out = []
    with app.test_request_context():
        user = db.session.query(User).filter_by(username="bench_secretariat").one()
        p, jury = perimetre_of(user), db.session.get(Jury, CLOSED_JURY)

        def pv():
            doc = issue_jury_documents(p, jury, "pv").emis[0]
            size = doc.taille
            db.session.rollback()
            return size
        out.append(("pv", "PV d'un jury de 500 candidats (émission)", 4000,
                    measure_call(engine, pv, repeat)))
        ids = [i for (i,) in db.session.query(DocumentEmis.id).filter(
            DocumentEmis.jury_id == CLOSED_JURY, DocumentEmis.type == "certificat",
            DocumentEmis.statut == "valide").order_by(DocumentEmis.id)]
        if not ids:
            t = time.perf_counter()
            ids = [d.id for d in issue_jury_documents(p, jury, "certificat").emis]
            db.session.commit()
            print(f"  500 certificats émis une fois en {time.perf_counter() - t:.1f} s "
                  f"(numérotés, rendus, enregistrés)", flush=True)
        out.append(("certificats_lot", f"Lot d'impression de {len(ids)} certificats", 4000,
                    measure_call(engine, lambda: len(print_certificates(ids)), repeat)))

        def issue_all():
            # The kept originals set aside inside the transaction (revoked ones do not count),
            # so that all of them are numbered, rendered and stored again; then rolled back.
            db.session.query(DocumentEmis).filter(
                DocumentEmis.jury_id == CLOSED_JURY, DocumentEmis.type == "certificat",
                DocumentEmis.statut == "valide").update(
                {"statut": "revoque", "revoque_le": DocumentEmis.emis_le,
                 "motif_revocation": "banc"}, synchronize_session=False)
            n = len(issue_jury_documents(p, jury, "certificat").emis)
            db.session.rollback()
            return n
        res = measure_call(engine, issue_all, repeat)
        # per document: the wall time and the CPU (this process and its rendering children) of
        # one certificate, the figure that does not depend on the load of a shared machine
        res["per_document_ms"] = round(res["median_ms"] / max(res["bytes"], 1), 2)
        res["per_document_cpu_ms"] = round(res["cpu_ms"] / max(res["bytes"], 1), 2)
        print(f"  émission: {res['bytes']} certificats, {res['per_document_ms']} ms et "
              f"{res['per_document_cpu_ms']} ms CPU par certificat", flush=True)
        out.append(("certificats_emission", f"Émission des {len(ids)} certificats du jury", 10000,
                    res))

        def one_duplicate():
            from app.workflow.issued.documents import issue_duplicate
            size = issue_duplicate(db.session.get(DocumentEmis, ids[0])).taille
            db.session.rollback()
            return size
        one_duplicate()  # the renderer loaded, as in a web worker that warmed it at start
        out.append(("document_ecran", "Un document depuis l'écran (duplicata)", 300,
                    measure_call(engine, one_duplicate, max(repeat, 5))))
    return out


def measure_mail(app, engine, count=1000):
    """`count` e-mails of one transaction delivered to a local SMTP server (aiosmtpd, a dev
    dependency) as the worker does it: batches over one connection each."""
    import socket

    from aiosmtpd.controller import Controller

    from app.extensions import db
    from app.models.notification import MailMessage
    from app.workflow.mail import BATCH, deliver_many

    class Counter:
        def __init__(self):
            self.received, self.connections = 0, set()

        async def handle_DATA(self, server, session, envelope):
            self.received += 1
            self.connections.add(session.peer)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    state = app.extensions["mail"]
    saved = {k: getattr(state, k) for k in ("server", "port", "use_tls", "use_ssl", "suppress")}
    try:
        for k, v in {"server": "127.0.0.1", "port": port, "use_tls": False, "use_ssl": False,
                     "suppress": False}.items():
            setattr(state, k, v)
        app.config["MAIL_SERVER"] = "127.0.0.1"
        with app.test_request_context():
            rows = [MailMessage(destinataire=f"banc{n}@example.org", sujet="Convocation au jury",
                                corps_texte="Bonjour,\n" + "Texte de la convocation.\n" * 40,
                                statut="en_attente") for n in range(count)]
            db.session.add_all(rows)
            db.session.commit()
            ids = [r.id for r in rows]
            res = measure_call(engine, lambda: sum(
                sum(deliver_many(ids[i:i + BATCH]).values()) for i in range(0, count, BATCH)), 1)
            db.session.query(MailMessage).filter(MailMessage.id.in_(ids)).delete(
                synchronize_session=False)
            db.session.commit()
    finally:
        controller.stop()
        for k, v in saved.items():
            setattr(state, k, v)
        app.config["MAIL_SERVER"] = None
    res["bytes"] = handler.received
    print(f"  {count} e-mails reçus : {handler.received}, connexions SMTP : "
          f"{len(handler.connections)}", flush=True)
    return [("mail_1000", f"{count} e-mails vers un serveur SMTP local", 60000, res)]


def floor_ms(engine, sql, repeat=5):
    """The hand-written SQL floor: time of one equivalent statement executed directly."""
    import sqlalchemy as sa
    times = []
    with engine.connect() as conn:
        for _ in range(repeat):
            t = time.perf_counter()
            conn.execute(sa.text(sql)).fetchall()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _first_page(where):
    return f"SELECT * FROM candidature WHERE {where} ORDER BY created_on DESC LIMIT 25"


def _deferred_page(column, offset):
    return (f"SELECT * FROM candidature WHERE id IN (SELECT id FROM candidature WHERE {column} = 1 "
            f"ORDER BY created_on DESC, id DESC LIMIT 25 OFFSET {offset}) "
            "ORDER BY created_on DESC, id DESC")


_EXPORT_LIST = ("SELECT c.numero, k.nom_naissance, k.prenom, k.date_naissance, c.statut, "
                "c.created_on FROM candidature c JOIN candidat k ON k.id = c.candidat_id "
                "WHERE c.dispositif_id = 1 ORDER BY c.created_on DESC LIMIT 100000")
_EXPORT_STATS = ("SELECT c.numero, c.statut, c.created_on, c.decision FROM candidature c "
                 "WHERE c.dispositif_id = 1 ORDER BY c.created_on, c.id")
_JURY_SHEET = ("SELECT i.numero_anonyme, c.numero, k.nom_naissance, k.prenom, i.decision "
               "FROM inscription_jury i JOIN candidature c ON c.id = i.candidature_id "
               "JOIN candidat k ON k.id = c.candidat_id WHERE i.jury_id = 1")

# The hand-written SQL returning the same data as each measure (its "floor").
FLOORS = {
    "liste_sec": _first_page("dispositif_id = 1"),
    "liste_sec_statut": _first_page("dispositif_id = 1 AND statut = 'en_attente_jury'"),
    "liste_sec_p2000": _deferred_page("dispositif_id", 49975),
    "liste_etab": _first_page("etablissement_id = 1"),
    "liste_etab_statut": _first_page("etablissement_id = 1 AND statut = 'en_attente_jury'"),
    "liste_etab_p2000": _deferred_page("etablissement_id", 14975),
    "dossier": "SELECT * FROM candidature c JOIN candidat k ON k.id = c.candidat_id "
               "WHERE c.id = {dossier_id}",
    "accueil_sec": "SELECT statut, sum(n) FROM compteur_statut WHERE dispositif_id = 1 "
                   "GROUP BY statut",
    "accueil_etab": "SELECT statut, sum(n) FROM compteur_statut WHERE etablissement_id = 1 "
                    "GROUP BY statut",
    "doublons": "SELECT * FROM candidat WHERE cle_nom >= 'MARTIN' AND cle_nom < 'MARTIO' "
                "AND cle_prenom >= 'JEAN' AND cle_prenom < 'JEAO' LIMIT 51",
    "rapport": "SELECT dispositif_id, statut, count(*) FROM candidature WHERE dispositif_id = 1 "
               "GROUP BY 1, 2",
    "export_liste_csv": _EXPORT_LIST,
    "export_liste_xlsx": _EXPORT_LIST,
    "export_stats_csv": _EXPORT_STATS,
    "export_stats_xlsx": _EXPORT_STATS,
    "feuille_xlsx": _JURY_SHEET,
    "feuille_pdf": _JURY_SHEET,
    "pv": "SELECT k.nom_naissance, k.prenom, k.date_naissance, k.ville_naissance, c.origine, "
          "c.financement, i.decision FROM inscription_jury i JOIN candidature c ON "
          "c.id = i.candidature_id JOIN candidat k ON k.id = c.candidat_id WHERE i.jury_id = 4",
    "certificats_lot": "SELECT pdf FROM document_emis WHERE jury_id = 4 AND type = 'certificat'",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--heavy-repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated measure keys")
    ap.add_argument("--skip-heavy", action="store_true")
    ap.add_argument("--trace-memory", action="store_true",
                    help="tracemalloc on heavy requests (exact Python peak, distorted times)")
    ap.add_argument("--keep", action="store_true", help="ignored (bench.seed option)")
    ap.add_argument("--import-rows", type=int, default=10_000,
                    help="rows of the candidates import measured (0: skipped)")
    ap.add_argument("--sqlite", action="store_true",
                    help="measure the SQLite copy (instance/bench.db, see bench.seed --sqlite)")
    args, _ = ap.parse_known_args(argv)
    if args.sqlite:
        from bench.sqlite_copy import sqlite_url
        args.url = sqlite_url()
    app = make_app(args.url)
    import sqlalchemy as sa

    from app.extensions import db
    results = []
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            dossier_id = conn.execute(sa.text(
                "SELECT max(id) FROM candidature WHERE dispositif_id = 1")).scalar()
            volumes = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in (
                "candidature", "candidat", "etablissement", "ab_user", "jury", "historique",
                "inscription_jury")}
        print(f"Volumes: {volumes}")
        clients, stats_lines = {}, None
        only = {k for k in args.only.split(",") if k}
        for key, label, user, url, t_med, t_p95, t_stmt, heavy in PAGES:
            if (only and key not in only) or (heavy and args.skip_heavy):
                continue
            url = url.format(dossier_id=dossier_id)
            if args.sqlite and not heavy:
                # issue 17: on the embedded SQLite default (100,000 dossiers) every screen ≤ 50 ms
                t_med, t_p95 = 50, None
            client = clients.get(user) or clients.setdefault(user, login(app, user))
            if not heavy:
                client.get(url)  # warm-up (templates, caches); heavy ones are long enough
            repeat = args.repeat if not heavy else (1 if key.startswith("export") else
                                                   args.heavy_repeat)
            res = measure(app, engine, client, url, repeat, heavy, args.trace_memory)
            res["load1"] = load1()
            floor = FLOORS.get(key)
            if key in PER_100K:
                if res["lines"]:
                    stats_lines = res["lines"] - 1  # the header
                elif stats_lines is None:
                    with engine.connect() as conn:
                        stats_lines = conn.execute(sa.text(
                            f"SELECT count(*) FROM ({_EXPORT_STATS}) x")).scalar()
                res["data_lines"] = stats_lines
                t_med = round(PER_100K[key] * stats_lines / 100_000)
            res.update(key=key, label=label, user=user, url=url, target_median_ms=t_med,
                       target_p95_ms=t_p95, target_statements=t_stmt,
                       floor_sql_ms=round(floor_ms(engine, floor.format(dossier_id=dossier_id)), 2)
                       if floor else None)
            results.append(res)
            print_line(res, f"HTTP {res['status']}"
                       + (f", {res['lines'] or '?'} lignes csv, {res['bytes']} octets, "
                          f"+{res['rss_peak_growth_mb']} Mo RSS" if heavy else ""))
        if not args.skip_heavy and (not only or only & {"pv", "certificats_lot", "mail_1000",
                                                        "certificats_emission", "document_ecran"}):
            for key, label, target, res in (measure_documents(app, engine, args.heavy_repeat)
                                            + measure_mail(app, engine)):
                if only and key not in only:
                    continue
                res.update(key=key, label=label, user="bench_secretariat", url=None,
                           target_median_ms=target, target_p95_ms=None, target_statements=None,
                           floor_sql_ms=round(floor_ms(engine, FLOORS[key]), 2)
                           if key in FLOORS else None)
                res["load1"] = load1()
                results.append(res)
                print_line(res, f"{res['bytes']} octets, CPU {res['cpu_ms']:.0f} ms")
        # Issue 18: a 10,000-row candidates import, previewed then imported (bench/imports.py).
        if args.import_rows and (not only or only & {"import_apercu", "import_creation"}):
            from bench.imports import measure_imports
            results += measure_imports(app, engine, args.import_rows, args.trace_memory)
    print_table(results)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"{stamp}.json"
    path.write_text(json.dumps({
        "timestamp": stamp, "scale": args.scale, "repeat": args.repeat, "volumes": volumes,
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg(),
                    "python": sys.version.split()[0], "platform": platform.platform()},
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "results": results}, indent=2, ensure_ascii=False))
    print(f"Résultats JSON: {path}")


def print_line(r, extra=""):
    """One figure as it is taken: median, p95, statements, its SQL floor, its target and the load."""
    def f(v):
        return "—" if v is None else f"{v:.1f}"
    target = f"méd ≤ {r['target_median_ms']}" if r["target_median_ms"] else "—"
    if r["target_p95_ms"]:
        target += f", p95 ≤ {r['target_p95_ms']}"
    print(f"  {r['label']:<45} méd {f(r['median_ms']):>8} p95 {f(r['p95_ms']):>8} ms "
          f"(CPU {f(r.get('cpu_ms'))}), "
          f"{r['statements']} req., plancher SQL {f(r['floor_sql_ms'])} ms, cible {target}: "
          f"{verdict(r)}, charge {r['load1']}  {extra}", flush=True)


def print_table(results):
    def fmt(v, nd=1):
        return "—" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))

    def mem(r):
        if r.get("peak_python_mb") is not None:
            return f"{r['peak_python_mb']} (tracemalloc)"
        return "—" if r.get("rss_peak_growth_mb") is None else f"+{r['rss_peak_growth_mb']} RSS"

    head = (f"| {'mesure':<45} | médiane ms | p95 ms | CPU ms | requêtes SQL | plancher SQL ms "
            "| cible | atteinte | charge (1 min) | mémoire Mo |")
    print("\n" + head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in results:
        target = []
        if r["target_median_ms"]:
            target.append(f"méd ≤ {r['target_median_ms']}")
        if r["target_p95_ms"]:
            target.append(f"p95 ≤ {r['target_p95_ms']}")
        if r["target_statements"]:
            target.append(f"≤ {r['target_statements']} req")
        print(f"| {r['label']:<45} | {fmt(r['median_ms']):>10} | {fmt(r['p95_ms']):>6} | "
              f"{fmt(r.get('cpu_ms')):>6} | "
              f"{r['statements']:>12} | {fmt(r.get('floor_sql_ms'), 2):>15} | "
              f"{', '.join(target) or '—'} | {verdict(r)} | {r.get('load1', '—')} | {mem(r)} |")


if __name__ == "__main__":
    main()
