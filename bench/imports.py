"""Bulk import at the scale of issue 18: a 10,000-row candidates file (xlsx, the template's
columns) previewed then imported by the same functions as the screen and the job
(app/imports/process.validate and run_import), as the bench établissement user in CléA.

Printed and written into the bench JSON: wall and CPU time, SQL statements (total and per row),
peak memory — the process's peak RSS (getrusage) and the Python peak (tracemalloc, in a second
untimed pass when --trace-memory)."""
import io
import random
import resource
import string
import time
import tracemalloc
from datetime import date, timedelta

import sqlalchemy as sa

TARGETS = {"import_apercu": 20_000, "import_creation": 60_000}  # ms, issue 18
MEMORY_TARGET_MB = 200


def _name(rnd: random.Random, size=8) -> str:
    return rnd.choice(string.ascii_uppercase) + "".join(
        rnd.choice(string.ascii_lowercase) for _ in range(size - 1))


def candidates_file(count: int, siret: str, seed: int) -> bytes:
    """`count` distinct people (names of letters only, as R-CAN-1 wants), never seen before."""
    from openpyxl import Workbook

    from app.imports.candidats import COLUMNS
    rnd = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Import")
    ws.append([c.header for c in COLUMNS])
    born = date(1970, 1, 1)
    for n in range(count):
        values = {"certification": "CLEA-SOCLE", "etablissement": siret,
                  "civilite": rnd.choice(("Madame", "Monsieur")), "nom_naissance": _name(rnd, 10),
                  "prenom": _name(rnd, 7),
                  "date_naissance": (born + timedelta(days=rnd.randrange(12000))).strftime(
                      "%d/%m/%Y"),
                  "ne_etranger": "non", "ne_outre_mer": "non", "ville_naissance": "Lyon",
                  "code_postal_naissance": "69003", "email": f"banc.import.{seed}.{n}@example.org",
                  "adresse": f"{n} rue de la Paix", "code_postal": "75002", "ville": "Paris",
                  "statut_inscription": rnd.choice(("Salarié", "Demandeur d'emploi")),
                  "financement": "CPF",
                  "objectifs_professionnels": "Obtenir un emploi stable dans la logistique."}
        ws.append([values.get(c.key) for c in COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _habilitated_etablissement(user):
    """The bench établissement, habilitated for CléA today (added once to the bench base)."""
    from app.extensions import db
    from app.models import Dispositif, Etablissement
    from app.models.base import today
    from app.models.habilitation import Habilitation
    from app.workflow.habilitations import habilitation_valide
    clea = db.session.query(Dispositif).filter_by(code="CLEA").one()
    etab = db.session.get(Etablissement, user.profil.etablissement_id)
    if habilitation_valide(etab, clea) is None:
        db.session.add(Habilitation(etablissement=etab, dispositif=clea, etat="validee",
                                    date_debut=today() - timedelta(days=1),
                                    date_fin=today() + timedelta(days=365)))
        db.session.commit()
    return clea, etab


def measure_imports(app, engine, rows=10_000, trace_memory=False):
    from flask_appbuilder.security.sqla.models import User

    from app.extensions import db
    from app.imports import process
    from app.models.imports import ImportFichier
    from app.security.perimeter import perimetre_of
    out = []
    with app.test_request_context():
        user = db.session.query(User).filter_by(username="bench_etablissement").one()
        clea, etab = _habilitated_etablissement(user)
        p = perimetre_of(user)
        seed = int(time.time())
        content = candidates_file(rows, etab.siret, seed)
        print(f"  fichier de {rows} lignes : {len(content) // 1024} Ko", flush=True)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        def timed(fn):
            statements.clear()
            sa.event.listen(engine, "before_cursor_execute", count)
            t, c = time.perf_counter(), time.process_time()
            try:
                fn()
            finally:
                sa.event.remove(engine, "before_cursor_execute", count)
            return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000

        imp = process.upload(p, "candidats", clea.id, f"banc-{seed}.xlsx", content)
        db.session.commit()
        import_id = imp.id

        def preview():
            process.validate(imp, p)
            db.session.commit()
        wall, cpu = timed(preview)
        imp = db.session.get(ImportFichier, import_id)
        assert (imp.valides, imp.erreurs) == (rows, 0), (imp.valides, imp.erreurs,
                                                         imp.resultats[:3])
        out.append(("import_apercu", f"Import : aperçu de {rows} lignes candidats", wall, cpu,
                    len(statements), rows))
        wall, cpu = timed(lambda: process.confirm(imp, p))  # REDIS_URL unset: the job inline
        db.session.expire_all()
        imp = db.session.get(ImportFichier, import_id)
        assert (imp.statut, imp.creees) == ("terminee", rows), (imp.statut, imp.creees)
        out.append(("import_creation", f"Import : création de {rows} dossiers", wall, cpu,
                    len(statements), rows))
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        python_peak = None
        if trace_memory:  # a second file, untimed: tracemalloc slows everything down
            content = candidates_file(rows, etab.siret, seed + 1)
            again = process.upload(p, "candidats", clea.id, f"banc-{seed + 1}.xlsx", content)
            db.session.commit()
            tracemalloc.start()
            process.validate(again, p)
            db.session.commit()
            process.confirm(again, p)
            python_peak = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
    results = []
    for key, label, wall, cpu, n, count_rows in out:
        results.append({
            "key": key, "label": label, "user": "bench_etablissement", "url": None,
            "median_ms": round(wall, 1), "p95_ms": round(wall, 1), "min_ms": round(wall, 1),
            "runs": 1, "statements": n, "statements_per_row": round(n / count_rows, 3),
            "status": "ok", "bytes": None, "lines": count_rows,
            "cpu_ms_this_process": round(cpu, 1), "peak_python_mb": python_peak,
            "rss_peak_mb": round(rss_peak, 1), "rss_peak_growth_mb": round(rss_peak - rss_before, 1),
            "target_median_ms": TARGETS[key], "target_p95_ms": None, "target_statements": None,
            "target_memory_mb": MEMORY_TARGET_MB, "floor_sql_ms": None,
            "tenue": wall <= TARGETS[key] and rss_peak <= MEMORY_TARGET_MB})
        print(f"  {label:<45} {wall / 1000:8.1f} s (CPU {cpu / 1000:.1f} s, cible ≤ "
              f"{TARGETS[key] // 1000} s)  {n} requêtes ({n / count_rows:.3f} par ligne)  "
              f"pic RSS {rss_peak:.0f} Mo (+{rss_peak - rss_before:.0f})"
              + (f", pic Python {python_peak} Mo" if python_peak is not None else "")
              + f"  cible mémoire ≤ {MEMORY_TARGET_MB} Mo", flush=True)
    return results
