"""« Importer »: upload, mapping of unknown columns, preview of every row with its errors,
import of the valid rows, error report and templates (issue 18). The rules are in app/imports."""
import io
import re

from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField

from app.extensions import db
from app.imports import process
from app.imports.columns import IGNORE
from app.imports.report import error_report, message_of, template
from app.models import Dispositif
from app.models.imports import KINDS, ImportFichier
from app.security import perimeter
from app.security.perimeter import current_perimetre
from app.views.actions import run_verb

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAGE = 100
MAX_BYTES = 20 * 1024 * 1024


class DepotForm(FlaskForm):
    kind = SelectField("Que voulez-vous importer ?", choices=[])
    dispositif = SelectField("Dispositif", choices=[])
    fichier = FileField("Fichier (Excel .xlsx ou .xls, OpenDocument .ods, CSV)")


class ActionForm(FlaskForm):
    """CSRF only: « Importer », « Abandonner », « Reprendre »."""


def importable(p) -> list[tuple]:
    """(kind, dispositif or None) pairs this user may import."""
    out = []
    dispositifs = db.session.query(Dispositif).filter(Dispositif.actif.is_(True)) \
        .order_by(Dispositif.id).all()
    for kind, spec in process.SPECS.items():
        if not spec.PER_DISPOSITIF:
            if spec.may_import(p, None):
                out.append((kind, None))
            continue
        out += [(kind, d) for d in dispositifs if spec.may_import(p, d)]
    return out


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class ImportView(BaseView):
    route_base = "/imports"
    default_view = "index"
    class_permission_name = "Imports"
    method_permission_name = {"index": "read", "modele": "read", "apercu": "read",
                              "rapport": "read", "depot": "write", "correspondance": "write",
                              "importer": "write", "abandonner": "write"}

    def _own(self, pk) -> ImportFichier:
        imp = perimeter.scoped_get(ImportFichier, pk, current_perimetre())
        if imp is None:
            abort(404)
        return imp

    def _depot_form(self, p):
        pairs = importable(p)
        form = DepotForm()
        form.kind.choices = [(k, KINDS.label(k)) for k in dict.fromkeys(k for k, _ in pairs)]
        form.dispositif.choices = [(str(d.id), d.nom) for d in
                                   dict.fromkeys(d for _, d in pairs if d is not None)]
        form.dispositif.choices = form.dispositif.choices or [("", "—")]
        return form, pairs

    @expose("/")
    @has_access
    def index(self):
        p = current_perimetre()
        form, pairs = self._depot_form(p)
        imports = (perimeter.scoped_query(ImportFichier, p)
                   .order_by(ImportFichier.id.desc()).limit(100).all())
        return self.render_template("imports/index.html", form=form, pairs=pairs,
                                    kind_labels=dict(KINDS),
                                    imports=imports, title="Importer")

    @expose("/modele/<kind>/<int:dispositif_id>")
    @has_access
    def modele(self, kind, dispositif_id):
        p = current_perimetre()
        spec = process.SPECS.get(kind)
        dispositif = db.session.get(Dispositif, dispositif_id) if dispositif_id else None
        if spec is None or (spec.PER_DISPOSITIF and dispositif is None) \
                or not spec.may_import(p, dispositif):
            abort(404)
        content = template(spec.columns(dispositif), spec.codes(dispositif, p))
        suffix = f"-{_slug(dispositif.code)}" if dispositif is not None else ""
        return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                         download_name=f"modele-import-{kind}{suffix}.xlsx")

    @expose("/depot", methods=["POST"])
    @has_access
    def depot(self):
        p = current_perimetre()
        form, _ = self._depot_form(p)
        upload = request.files.get("fichier")
        if not form.validate_on_submit():
            flash("Le formulaire a expiré ou est incomplet : recommencez.", "danger")
            return redirect(url_for("ImportView.index"))
        if upload is None or not upload.filename:
            flash("Choisissez le fichier à importer.", "danger")
            return redirect(url_for("ImportView.index"))
        content = upload.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            flash("Le fichier dépasse 20 Mo : découpez-le.", "danger")
            return redirect(url_for("ImportView.index"))
        # Two transactions, as app/imports/process.py asks: the file is stored, then checked —
        # a check rolls back whatever it tried, and a large file's runs in a background job.
        stored = run_verb(process.upload, p, form.kind.data, form.dispositif.data,
                          upload.filename, content)
        checked = stored and run_verb(process.check, stored.result, p)
        if not checked:
            return redirect(url_for("ImportView.index"))
        imp, sheet = stored.result, checked.result
        if sheet is not None and sheet.needs_mapping:
            return redirect(url_for("ImportView.correspondance", pk=imp.id))
        return redirect(url_for("ImportView.apercu", pk=imp.id))

    @expose("/<int:pk>/correspondance", methods=["GET", "POST"])
    @has_access
    def correspondance(self, pk):
        """The columns not recognised: the user says which field each one is, or ignores it."""
        p = current_perimetre()
        imp = self._own(pk)
        if imp.statut != "apercu":
            return redirect(url_for("ImportView.apercu", pk=pk))
        sheet = process.read(imp)
        choices = [("", "—"), (IGNORE, "Ignorer cette colonne")] + [
            (c.key, c.header) for c in sheet.columns if c.key not in sheet.matching.by_key]

        class MappingForm(FlaskForm):
            pass
        for i, header in enumerate(sheet.matching.unknown):
            setattr(MappingForm, f"colonne_{i}", SelectField(f"« {header} »", choices=choices))
        form = MappingForm()
        if form.validate_on_submit():
            mapping = dict(imp.mapping or {})
            for i, header in enumerate(sheet.matching.unknown):
                value = getattr(form, f"colonne_{i}").data
                if value:
                    mapping[header] = value
            # Stored before the check, which rolls back whatever it tried (app/imports).
            run_verb(setattr, imp, "mapping", mapping)
            sheet = run_verb(process.check, imp, p).result
            if sheet is None or not sheet.needs_mapping:
                return redirect(url_for("ImportView.apercu", pk=pk))
            flash("Des colonnes restent à faire correspondre.", "warning")
        fields = [getattr(form, f"colonne_{i}") for i in range(len(sheet.matching.unknown))]
        return self.render_template("imports/correspondance.html", imp=imp, form=form,
                                    fields=fields, missing=sheet.matching.missing,
                                    title="Correspondance des colonnes")

    @expose("/<int:pk>")
    @has_access
    def apercu(self, pk):
        imp = self._own(pk)
        if imp.statut == "apercu" and imp.resultats is None:
            return redirect(url_for("ImportView.correspondance", pk=pk))
        if imp.statut == "verification":
            return self.render_template("imports/apercu.html", imp=imp, cols=[], rows=[], page=0,
                                        pages=1, only_errors=False, form=ActionForm(),
                                        previous=None, title=f"Import « {imp.nom_fichier} »")
        sheet = process.read(imp)
        if sheet.needs_mapping and imp.statut == "apercu":
            return redirect(url_for("ImportView.correspondance", pk=pk))
        labels = process.labels(sheet)
        results = imp.resultats or []
        only_errors = request.args.get("erreurs") == "1"
        indexes = [i for i, r in enumerate(results) if r["erreurs"] or not only_errors]
        try:
            page = max(0, int(request.args.get("page", 0)))
        except ValueError:
            page = 0
        shown = indexes[page * PAGE:(page + 1) * PAGE]
        cols = [c for c in sheet.columns if c.key in sheet.matching.by_key]
        rows = [(results[i], [(c, sheet.rows[i][sheet.matching.by_key[c.key]],
                               results[i]["erreurs"].get(c.key)) for c in cols],
                 message_of(results[i], labels)) for i in shown]
        return self.render_template(
            "imports/apercu.html", imp=imp, cols=cols, rows=rows, page=page,
            pages=max(1, -(-len(indexes) // PAGE)), only_errors=only_errors,
            form=ActionForm(), previous=process.previous_same_file(imp),
            stalled=process.stalled(imp),
            title=f"Import « {imp.nom_fichier} »")

    @expose("/<int:pk>/rapport")
    @has_access
    def rapport(self, pk):
        imp = self._own(pk)
        if not imp.resultats:
            abort(404)
        sheet = process.read(imp)
        content = error_report(sheet, imp.resultats, process.labels(sheet))
        name = imp.nom_fichier.rsplit(".", 1)[0]
        return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                         download_name=f"{name}-erreurs.xlsx")

    @expose("/<int:pk>/importer", methods=["POST"])
    @has_access
    def importer(self, pk):
        imp = self._own(pk)
        if not ActionForm().validate_on_submit():
            abort(400)
        done = run_verb(process.confirm, imp, current_perimetre())
        if not done:
            return redirect(url_for("ImportView.apercu", pk=pk))
        if not done.result:
            flash("Cet import est déjà lancé.", "info")
        db.session.expire_all()
        imp = self._own(pk)
        if imp.statut == "terminee":
            flash(f"Import terminé : {imp.creees} ligne(s) créée(s).", "success")
        return redirect(url_for("ImportView.apercu", pk=pk))

    @expose("/<int:pk>/abandonner", methods=["POST"])
    @has_access
    def abandonner(self, pk):
        imp = self._own(pk)
        if not ActionForm().validate_on_submit():
            abort(400)
        if run_verb(process.cancel, imp, current_perimetre()):
            flash("Import abandonné : rien n'a été créé.", "info")
        return redirect(url_for("ImportView.index"))


def register(appbuilder):
    from app.views.imports_api import ImportApi
    appbuilder.add_view(ImportView, "Importer", label="Importer", icon="fa-upload")
    appbuilder.add_api(ImportApi)

