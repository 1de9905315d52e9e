"""An import's life: the file kept (upload), every row validated by the domain and nothing written
(preview), then the valid rows created — one savepoint per row, progress stored, resumable and
idempotent — as a background job (app/jobs.py)."""
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from app.errors import RuleViolation
from app.extensions import db
from app.imports import candidats, evaluateurs, structures
from app.imports.columns import match, read_cell
from app.imports.reading import read_table
from app.models import Dispositif
from app.models.base import utcnow
from app.models.imports import ImportFichier, ImportLigne
from app.security import perimeter
from app.security.perimeter import OwnRows, Perimetre, perimetre_of
from app.workflow.engine import NotAllowed

log = logging.getLogger(__name__)
perimeter.register(ImportFichier, OwnRows("created_by_id"))  # each user sees his own imports
SPECS = {m.KIND: m for m in (candidats, structures, evaluateurs)}
COMMIT_EVERY = 200  # rows per transaction while importing: progress shows, a crash loses little
PREVIEW_INLINE_MAX = 500  # rows checked while the user waits; beyond, a background job
ROW = "_ligne"  # errors of the whole row (no column to put them on)


def spec_of(kind):
    if kind not in SPECS:
        raise RuleViolation("Type d'import inconnu.")
    return SPECS[kind]


def upload(p: Perimetre, kind: str, dispositif_id, nom_fichier: str, content: bytes) -> ImportFichier:
    """Keep the file and validate it (the caller commits). Refused outside the user's rights."""
    spec = spec_of(kind)
    dispositif = db.session.get(Dispositif, int(dispositif_id)) \
        if spec.PER_DISPOSITIF and str(dispositif_id or "").isdigit() else None
    if dispositif is None and spec.PER_DISPOSITIF:
        raise RuleViolation("Choisissez le dispositif.", field="dispositif")
    if not spec.may_import(p, dispositif):
        raise NotAllowed("Votre rôle ne permet pas cet import." if not spec.PER_DISPOSITIF else
                         "Votre rôle ne permet pas cet import dans ce dispositif.")
    table = read_table(content, nom_fichier)  # unreadable files are refused before being kept
    imp = ImportFichier(kind=kind, dispositif=dispositif, nom_fichier=(nom_fichier or "fichier")[:255],
                        sha256=hashlib.sha256(content).hexdigest(), contenu=content, mapping={},
                        statut="apercu", total=len(table.rows), created_by_id=p.user_id)
    db.session.add(imp)
    db.session.flush()
    return imp


def previous_same_file(imp: ImportFichier) -> ImportFichier | None:
    """The last import of the same bytes by the same kind (shown: « ce fichier a déjà été importé »)."""
    return (db.session.query(ImportFichier)
            .filter(ImportFichier.sha256 == imp.sha256, ImportFichier.kind == imp.kind,
                    ImportFichier.id != imp.id, ImportFichier.statut == "terminee")
            .order_by(ImportFichier.id.desc()).first())


@dataclass
class Sheet:
    """The file read against its columns."""
    headers: list
    rows: list
    columns: list
    matching: object
    values: list = field(default_factory=list)  # per row: {key: value}
    errors: list = field(default_factory=list)  # per row: {key: message}

    @property
    def needs_mapping(self) -> bool:
        return bool(self.matching.unknown or self.matching.missing)


def labels(sheet: Sheet) -> dict:
    """Field key -> its header as the file writes it (else the template's)."""
    out = {c.key: c.header for c in sheet.columns}
    out.update({key: sheet.headers[i] for key, i in sheet.matching.by_key.items()})
    return out


def read(imp: ImportFichier) -> Sheet:
    spec = spec_of(imp.kind)
    table = read_table(imp.contenu, imp.nom_fichier)
    cols = spec.columns(imp.dispositif)
    sheet = Sheet(table.headers, table.rows, cols, match(table.headers, cols, imp.mapping))
    for row in table.rows:
        values, errors = {}, {}
        for col in cols:
            index = sheet.matching.by_key.get(col.key)
            if index is None:
                continue
            try:
                values[col.key] = read_cell(col, row[index])
            except RuleViolation as exc:
                errors[col.key] = exc.message
        sheet.values.append(values)
        sheet.errors.append(errors)
    return sheet


def check(imp: ImportFichier, p: Perimetre) -> Sheet | None:
    """The preview: now for a small file; a large one is checked by a background job (the page
    shows its progress). `imp` is committed; the caller commits after. None when queued."""
    if imp.total <= PREVIEW_INLINE_MAX:
        return validate(imp, p)
    imp.statut, imp.done, imp.resultats = "verification", 0, None
    db.session.commit()
    from app.jobs import enqueue
    enqueue("app.imports.process.run_preview", imp.id)
    return None


def run_preview(import_id: int) -> None:
    """The background preview of a large file. It writes nothing but the results: a second run
    of the same job computes the same preview."""
    imp = db.session.get(ImportFichier, import_id)
    if imp is None or imp.statut != "verification":
        return
    try:
        user = db.session.get(User, imp.created_by_id) if imp.created_by_id else None
        p = perimetre_of(_Authenticated(user)) if user else Perimetre(None, None, "none", None)
        validate(imp, p, on_chunk=lambda done, _results: _progress_apart(import_id, done))
        imp.statut = "apercu"
        db.session.commit()
    except Exception:
        log.exception("Vérification de l'import %s en échec", import_id)
        db.session.rollback()
        db.session.execute(sa.update(ImportFichier).where(ImportFichier.id == import_id).values(
            statut="echec", error="La vérification du fichier s'est interrompue : déposez-le "
                                  "de nouveau."))
        db.session.commit()


def validate(imp: ImportFichier, p: Perimetre, on_chunk=None) -> Sheet:
    """Every row through the domain, nothing kept: each row's savepoint is rolled back (so a
    progress commit in between commits nothing else)."""
    sheet = read(imp)
    if sheet.needs_mapping:
        return sheet
    results = _run(imp, p, sheet, dry_run=True, on_chunk=on_chunk)
    db.session.rollback()  # nothing the checks did is kept (`imp` is committed by the caller)
    imp.resultats = results
    imp.total = len(results)
    imp.erreurs = sum(1 for r in results if r["erreurs"])
    imp.deja_importees = sum(1 for r in results if r["deja"] and not r["erreurs"])
    imp.valides = imp.total - imp.erreurs - imp.deja_importees
    return sheet


def _run(imp, p, sheet: Sheet, dry_run: bool, on_chunk=None) -> list[dict]:
    """Each row through the domain. A spec with prepare/save (candidates) checks every row with
    lookups prefetched for the file and stores the valid ones COMMIT_EVERY at a time in one
    savepoint; a conflict met by a batch (another import created the same rows meanwhile)
    replays that batch row by row, each in its own savepoint, with no prefetched answer. Other
    specs go row by row."""
    spec = spec_of(imp.kind)
    ctx = spec.load(p, imp.dispositif, sheet.values)
    keys = [spec.identity_key(ctx, v) for v in sheet.values]
    done_before = _created(keys, by_import=True)
    results, seen, pending, savepoint = [], {}, [], None
    columns = {c.key for c in sheet.columns}
    nom_fichier, import_id = imp.nom_fichier, imp.id
    batch = hasattr(spec, "prepare")
    for i, (values, errors) in enumerate(zip(sheet.values, sheet.errors)):
        line, key = i + 2, keys[i]
        errors = dict(errors)
        result = {"ligne": line, "erreurs": errors, "deja": None}
        results.append(result)
        if key is not None and key in seen:
            errors.setdefault(spec.DUPLICATE_COLUMN, spec.duplicate_message(seen[key]))
        elif key is not None:
            seen[key] = line
        if errors:
            pass
        elif key in done_before:
            objet, by = done_before[key]
            # Created by this very import before its worker stopped: resumed, not « déjà ».
            result["cree" if by == import_id else "deja"] = objet
        elif batch:
            if not dry_run and savepoint is None:
                # The batch's savepoint first: what its rows add is gone if it is rolled back.
                savepoint = db.session.begin_nested()
            try:
                with db.session.no_autoflush:  # the checks write nothing (nor the preview)
                    obj = spec.prepare(ctx, values, dry_run=dry_run)
            except RuleViolation as exc:
                errors[_column(spec, columns, exc)] = exc.message
            else:
                if not dry_run:  # added, numbered and flushed with its batch (spec.save)
                    pending.append((result, key, values, obj))
        else:
            _one(spec, ctx, columns, result, key, values, nom_fichier, import_id, dry_run)
        if (i + 1) % COMMIT_EVERY == 0:
            _store(spec, ctx, columns, pending, nom_fichier, import_id, savepoint)
            pending, savepoint = [], None
            if on_chunk:
                on_chunk(i + 1, results)
    _store(spec, ctx, columns, pending, nom_fichier, import_id, savepoint)
    return results


def _column(spec, columns, exc) -> str:
    return exc.field if exc.field in columns else spec.RULE_COLUMN.get(exc.rule, ROW)


def _store(spec, ctx, columns, pending, nom_fichier, import_id, savepoint):
    """A batch of checked rows stored in its savepoint: a few statements for all of them."""
    if savepoint is None:
        return
    if not pending:
        savepoint.commit()
        return
    mails = len(db.session.info.get("mails_to_send", []))
    try:
        created = spec.save(ctx, [obj for *_, obj in pending], nom_fichier)
        db.session.execute(sa.insert(ImportLigne), [
            {"import_id": import_id, "numero": result["ligne"], "cle": key,
             "candidature_id": obj_id, "objet": label[:120]}
            for (result, key, _values, _obj), (obj_id, label) in zip(pending, created)])
        savepoint.commit()
    except (RuleViolation, sa.exc.IntegrityError):
        savepoint.rollback()
        _forget_mails(mails)
        ctx.known.forget_unsaved()  # the people this batch would have created are not stored
        log.info("Import %s : lot de %d lignes rejoué ligne à ligne après un conflit",
                 import_id, len(pending))
        for result, key, values, _obj in pending:
            _one(spec, ctx, columns, result, key, values, nom_fichier, import_id, False)
    else:
        ctx.known.saved()  # from now on, by id only
        for (result, *_), (_id, label) in zip(pending, created):
            result["cree"] = label


def _one(spec, ctx, columns, result, key, values, nom_fichier, import_id, dry_run):
    """One row in its own savepoint (rolled back in a preview)."""
    errors = result["erreurs"]
    mails = len(db.session.info.get("mails_to_send", []))
    savepoint = db.session.begin_nested()
    try:
        obj_id, label = spec.create(ctx, values, nom_fichier)
        if not dry_run:
            db.session.add(ImportLigne(import_id=import_id, numero=result["ligne"], cle=key,
                                       candidature_id=obj_id, objet=label[:120]))
        db.session.flush()
    except RuleViolation as exc:
        savepoint.rollback()
        _forget_mails(mails)
        if not dry_run and key is not None:
            # Another import committed this very row meanwhile (R-CAN-2 then refuses it):
            # it is the same row, already imported, not an error of the file.
            found = _created([key])
            if found:
                result["deja"] = found[key]
                return
        errors[_column(spec, columns, exc)] = exc.message
    except sa.exc.IntegrityError:
        # The same row created meanwhile by another import (unique key): nothing twice.
        savepoint.rollback()
        _forget_mails(mails)
        result["deja"] = "importée par un autre import"
    else:
        if dry_run:
            savepoint.rollback()
            _forget_mails(mails)
        else:
            savepoint.commit()
            result["cree"] = label


def _forget_mails(count: int):
    """Mails queued by a row whose savepoint was rolled back are not sent (app/workflow/mail.py
    sends the ids it finds in the session once the transaction commits)."""
    queued = db.session.info.get("mails_to_send")
    if queued is not None:
        del queued[count:]


def _created(keys, by_import=False) -> dict:
    """Row identity -> what an import created (with `by_import`: (what, which import)), in one
    statement per thousand rows."""
    wanted = sorted({k for k in keys if k})
    out = {}
    for start in range(0, len(wanted), 1000):
        rows = db.session.query(ImportLigne.cle, ImportLigne.objet, ImportLigne.import_id).filter(
            ImportLigne.cle.in_(wanted[start:start + 1000]))
        out.update({cle: (objet or "déjà importée", import_id) if by_import else
                    (objet or "déjà importée") for cle, objet, import_id in rows})
    return out


def confirm(imp: ImportFichier, p: Perimetre):
    """« Importer les lignes valides »: queued once; the job creates them (the caller commits)."""
    if imp.created_by_id != p.user_id:
        raise NotAllowed("Seul l'auteur de l'import peut le lancer.")
    if imp.resultats is None:
        raise RuleViolation("Le fichier n'a pas encore été vérifié : attendez son aperçu.")
    return _queue(imp)


def _queue(imp: ImportFichier) -> bool:
    """Claim the import for a (new) job: from the preview, after a failure, or « En cours »
    with no worker left on it (stalled)."""
    statuts = ["apercu", "echec"] + (["en_cours"] if stalled(imp) else [])
    claimed = db.session.execute(
        sa.update(ImportFichier).where(ImportFichier.id == imp.id,
                                       ImportFichier.statut.in_(statuts))
        .values(statut="en_attente", error=None)).rowcount
    db.session.commit()
    if not claimed:
        return False
    from app.jobs import enqueue
    enqueue("app.imports.process.run_import", imp.id)
    return True


# While the job runs, its worker holds a PostgreSQL advisory lock (namespace 18, the import's
# id) on a connection of its own: the database frees it when the worker dies, so an import
# « En cours » whose lock is free has no worker left. SQLite has no such lock and no separate
# workers (jobs run inline): an import left « En cours » there is always stalled.
LOCK_SPACE = 18


@contextmanager
def _worker_lock(import_id: int):
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    conn = db.engine.connect()
    got = False
    try:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:s, :i)"),
                           {"s": LOCK_SPACE, "i": import_id}).scalar()
        conn.commit()
        yield got
    finally:
        if got:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:s, :i)"),
                         {"s": LOCK_SPACE, "i": import_id})
            conn.commit()
        conn.close()


def stalled(imp: ImportFichier) -> bool:
    """« En cours » with no worker on it: its worker died (or the machine restarted)."""
    if imp.statut != "en_cours":
        return False
    with _worker_lock(imp.id) as free:
        return bool(free)


def resume_stalled(import_ids=None) -> list[int]:
    """The imports left « En cours » by a dead worker (or those named), queued again; each run
    creates only the rows not created yet (flask imports reprendre)."""
    q = db.session.query(ImportFichier).filter(ImportFichier.statut.in_(("en_cours", "echec")))
    if import_ids:
        q = q.filter(ImportFichier.id.in_(list(import_ids)))
    return [imp.id for imp in q.order_by(ImportFichier.id).all() if _queue(imp)]


def cancel(imp: ImportFichier, p: Perimetre):
    if imp.created_by_id != p.user_id:
        raise NotAllowed("Seul l'auteur de l'import peut l'abandonner.")
    if imp.statut != "apercu":
        raise RuleViolation("Seul un import encore en aperçu peut être abandonné.")
    imp.statut = "abandonnee"


def run_import(import_id: int) -> None:
    """The background job. Claimed by one conditional UPDATE and held by the worker's lock (a
    second worker does nothing); rows committed every COMMIT_EVERY; an error leaves `echec`, a
    dead worker `en_cours` with its lock freed (stalled): « Reprendre » or `flask imports
    reprendre` creates the rest — rows already created are recognised by their identity key."""
    with _worker_lock(import_id) as mine:
        if mine:  # else another worker runs it now
            _run_import(import_id)


def _run_import(import_id: int) -> None:
    claimed = db.session.execute(
        sa.update(ImportFichier).where(ImportFichier.id == import_id,
                                       ImportFichier.statut == "en_attente")
        .values(statut="en_cours", done=0)).rowcount
    db.session.commit()
    if not claimed:
        return
    imp = db.session.get(ImportFichier, import_id)
    try:
        user = db.session.get(User, imp.created_by_id) if imp.created_by_id else None
        p = perimetre_of(_Authenticated(user)) if user else Perimetre(None, None, "none", None)
        sheet = read(imp)

        results = _run(imp, p, sheet, dry_run=False,
                       on_chunk=lambda done, _results: progress(import_id, done))
        imp = db.session.get(ImportFichier, import_id)
        imp.resultats = results
        imp.total = len(results)
        imp.creees = sum(1 for r in results if r.get("cree"))
        imp.erreurs = sum(1 for r in results if r["erreurs"])
        imp.deja_importees = sum(1 for r in results if r["deja"] and not r["erreurs"])
        imp.done = imp.valides = imp.creees
        imp.statut, imp.finished_on = "terminee", utcnow()
        db.session.commit()
    except Exception:
        log.exception("Import %s en échec", import_id)
        db.session.rollback()
        db.session.execute(sa.update(ImportFichier).where(ImportFichier.id == import_id).values(
            statut="echec", error="L'import s'est interrompu. Les lignes déjà créées sont "
                                  "conservées : « Reprendre » crée les suivantes."))
        db.session.commit()


def _progress_apart(import_id: int, done: int):
    """The preview's progress, on a connection of its own: the preview's session never commits
    (what its checks touched is rolled back at the end)."""
    with db.engine.begin() as conn:
        conn.execute(sa.update(ImportFichier).where(ImportFichier.id == import_id)
                     .values(done=done))


def progress(import_id: int, done: int):
    """Commit the rows created so far with the count the progress bar reads."""
    db.session.execute(sa.update(ImportFichier).where(ImportFichier.id == import_id)
                       .values(done=done))
    db.session.commit()


class _Authenticated:
    """perimetre_of() reads a signed-in user; the job acts as the import's author."""

    is_authenticated = True

    def __init__(self, user):
        self._user = user

    def __getattr__(self, name):
        return getattr(self._user, name)
