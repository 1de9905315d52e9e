"""Issued documents: the secretariat's list (download, revoke, duplicate, mailing, print batches)
and the public verification page (QR code / short code / uploaded copy), rate-limited."""
import hashlib
from datetime import date

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.errors import RuleViolation
from app.extensions import db
from app.models.document import (
    CANAUX_ENVOI,
    STATUTS_DOCUMENT,
    STATUTS_ENVOI,
    TYPES_DOCUMENT,
    BatchJob,
    DocumentEmis,
)
from app.security.perimeter import scoped_get
from app.views.actions import load_scoped, run_verb
from app.views.base import ScopedModelView
from app.workflow.issued import batches as lots
from app.workflow.issued import documents as docs


# -- secretariat -------------------------------------------------------------------------------
def _choices(choices):
    return [SelectChoice(code, label) for code, label in choices]


class EnvoiForm(FlaskForm):
    statut = SelectField("Statut de la lettre", choices=_choices(STATUTS_ENVOI))
    date_traitement = DateField("Date de traitement", validators=[DataRequired()])
    canal = SelectField("Canal de distribution", choices=_choices(CANAUX_ENVOI))
    numero_suivi = StringField("N° de suivi", validators=[Optional(), Length(max=60)])
    commentaire = StringField("Commentaire", validators=[Optional(), Length(max=500)])


class RevocationForm(FlaskForm):
    motif = TextAreaField("Motif de la révocation", validators=[DataRequired(), Length(max=1000)])


class DocumentEmisView(ScopedModelView):
    """R-DOC-1…6, R-ENV-2: documents of the secretariat's dispositif; issued documents are never
    edited here (no add/edit/delete routes): corrections and duplicates are new documents."""

    route_base = "/documents"
    datamodel = SQLAInterface(DocumentEmis)
    class_permission_name = "Documents"
    method_permission_name = {**ScopedModelView.method_permission_name, "pdf": "read",
                              "revoquer": "write", "duplicata": "write", "envoi": "write",
                              "imprimer": "write", "lot": "read", "lot_etat": "read",
                              "lot_pdf": "read"}
    include_route_methods = {"list", "show", "action", "action_post", "export", "pdf",
                             "revoquer", "duplicata", "envoi", "lot", "lot_etat", "lot_pdf"}
    list_title = "Documents émis"
    show_title = "Document émis"
    list_columns = ["numero", "type_label", "intitule", "titulaire", "date_reference", "emis_le",
                    "statut_label", "courrier_label"]
    show_columns = list_columns
    search_columns = ["numero", "type", "titulaire", "statut", "date_reference"]
    # No add/edit routes; FAB still builds their forms: keep them to one harmless column.
    add_columns = edit_columns = ["motif_revocation"]
    label_columns = {
        "numero": "Numéro", "type": "Type", "type_label": "Type", "intitule": "Objet",
        "titulaire": "Titulaire", "date_reference": "Date du jury", "emis_le": "Émis le",
        "statut": "Statut", "statut_label": "Statut", "courrier_label": "Courrier",
        "duplicata": "Duplicata", "jury_id": "Jury",
    }
    base_order = ("id", "desc")
    export_name = "documents_emis"

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        doc = scoped_get(DocumentEmis, pk)
        if doc is None:
            abort(404)
        envoi_form = EnvoiForm(formdata=None)
        envoi_form.date_traitement.data = date.today()
        replaced_by = db.session.query(DocumentEmis.id, DocumentEmis.numero, DocumentEmis.duplicata) \
            .filter(DocumentEmis.remplace_id == doc.id).order_by(DocumentEmis.id).all()
        can_write = self.appbuilder.sm.has_access("can_write", self.class_permission_name)
        return self.render_template("documents/show.html", doc=doc, envoi_form=envoi_form,
                                    revocation_form=RevocationForm(formdata=None),
                                    replaced_by=replaced_by, can_write=can_write,
                                    title=self.show_title)

    @expose("/pdf/<int:pk>")
    @has_access
    def pdf(self, pk):
        """Download by primary key after a scoped get (never by file name)."""
        doc = scoped_get(DocumentEmis, pk)
        if doc is None:
            abort(404)
        return Response(doc.pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{doc.numero}.pdf"',
            "Cache-Control": "private, no-store"})

    def _write_target(self, pk):
        return load_scoped(DocumentEmis, pk, mode="write")

    @expose("/revoquer/<int:pk>", methods=["POST"])
    @has_access
    def revoquer(self, pk):
        doc = self._write_target(pk)
        form = RevocationForm()

        def revoke():
            if not form.validate():
                raise RuleViolation("Indiquez le motif de la révocation.", field="motif")
            docs.revoke(doc, form.motif.data, par=current_user)
        run_verb(revoke, success=f"Document n° {doc.numero} révoqué.")
        return redirect(url_for("DocumentEmisView.show", pk=pk))

    @expose("/duplicata/<int:pk>", methods=["POST"])
    @has_access
    def duplicata(self, pk):
        doc = self._write_target(pk)
        done = run_verb(docs.issue_duplicate, doc, emis_par=current_user,
                        success=lambda new: f"Duplicata n° {new.numero} émis.")
        return redirect(url_for("DocumentEmisView.show", pk=done.result.id if done else pk))

    @expose("/envoi/<int:pk>", methods=["POST"])
    @has_access
    def envoi(self, pk):
        doc = self._write_target(pk)
        form = EnvoiForm()

        def record():
            if not form.validate():
                raise RuleViolation("Complétez la date de traitement, le statut et le canal.",
                                    "R-ENV-2")
            docs.record_envoi(doc, form.statut.data, form.canal.data, suivi=form.numero_suivi.data,
                              commentaire=form.commentaire.data or "",
                              date_traitement=form.date_traitement.data, par=current_user)
        run_verb(record, success="Envoi enregistré.")
        return redirect(url_for("DocumentEmisView.show", pk=pk))

    @action("imprimer", "Imprimer en un seul PDF", None, "fa-print", single=False)
    def imprimer(self, items):
        items = items if isinstance(items, list) else [items]
        # Called through the seam (_run_action): a refusal is flashed back on the list.
        job = lots.start_print_batch([i.id for i in items], items[0].dispositif_id,
                                     par=current_user)
        return redirect(url_for("DocumentEmisView.lot", pk=job.id))

    @expose("/lot/<int:pk>")
    @has_access
    def lot(self, pk):
        job = scoped_get(BatchJob, pk)
        if job is None:
            abort(404)
        return self.render_template("documents/lot.html", job=job, title="Lot d'impression")

    @expose("/lot/<int:pk>/etat")
    @has_access
    def lot_etat(self, pk):
        """Polled by the progress bar."""
        job = scoped_get(BatchJob, pk)
        if job is None:
            abort(404)
        return jsonify(statut=job.statut, statut_label=job.statut_label, done=job.done,
                       total=job.total, progress=job.progress, error=job.error)

    @expose("/lot/<int:pk>/pdf")
    @has_access
    def lot_pdf(self, pk):
        job = scoped_get(BatchJob, pk)
        if job is None or job.statut != "termine":
            abort(404)
        return Response(job.result, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="lot-{job.id}.pdf"',
            "Cache-Control": "private, no-store"})


DocumentEmisView.search_form_extra_fields = {
    "type": SelectField("Type", choices=[SelectChoice("", "—")] + _choices(TYPES_DOCUMENT)),
    "statut": SelectField("Statut", choices=[SelectChoice("", "—")] + _choices(STATUTS_DOCUMENT)),
}


# -- public verification (no login) --------------------------------------------------------------
class VerificationForm(FlaskForm):
    code = StringField("Code de vérification", validators=[Optional(), Length(max=30)])
    fichier = FileField("Ou déposez une copie PDF du document")


def _too_many(limit):
    """French page instead of Flask-Limiter's default answer."""
    from app.errors import error_response
    return error_response(429, "Trop de vérifications depuis votre adresse : réessayez dans une "
                               "minute.", headers={"Retry-After": "60"})


class VerificationView(BaseView):
    """The page a QR code leads to: valid or revoked, what and when, the holder partly masked.
    Codes are random (not enumerable) and the page is rate-limited per address."""

    route_base = "/verifier"
    default_view = "index"

    @expose("/", methods=["GET", "POST"])
    def index(self):
        form = VerificationForm()
        result = None
        if request.method == "POST" and form.validate():
            upload = form.fichier.data
            if upload and getattr(upload, "filename", ""):
                data = upload.read()
                if not data.startswith(b"%PDF-"):
                    form.fichier.errors = ["Ce fichier n'est pas un PDF."]
                else:
                    result = _upload_result(data)
            elif form.code.data:
                return redirect(url_for("VerificationView.code",
                                        code=docs.normalise_code(form.code.data)))
        return self.render_template("documents/verifier.html", form=form, result=result,
                                    title="Vérifier un document")

    @expose("/<string:code>", methods=["GET"])
    def code(self, code):
        doc = docs.find_by_code(code)
        result = {"doc": docs.public_summary(doc) if doc else None, "code": code,
                  "attestation": _has_credential(doc)}
        return self.render_template("documents/verifier.html", form=VerificationForm(formdata=None),
                                    result=result, title="Vérifier un document"), (200 if doc else 404)

    @expose("/<string:code>/attestation", methods=["GET"])
    def attestation(self, code):
        """The holder's digital credential (Open Badges 3.0, VC-JWT), with the certificate's code."""
        from app.reports.credentials import signed_credential
        doc = docs.find_by_code(code)
        if not _has_credential(doc):
            from app.errors import error_response
            return error_response(404, "Aucune attestation numérique ne correspond à ce code : "
                                       "elle n'existe que pour un certificat valide.")
        full = db.session.get(DocumentEmis, doc.id)
        return Response(signed_credential(full), mimetype="application/vc+jwt", headers={
            "Content-Disposition": f'attachment; filename="attestation-{doc.numero}.jwt"'})

    @expose("/statut/<string:dispositif>", methods=["GET"])
    def statut(self, dispositif):
        """The revocation status list of a dispositif's certificates (Bitstring Status List)."""
        from app.reports.credentials import status_list
        found = _dispositif_with_key(dispositif)
        return Response(status_list(found), mimetype="application/vc+jwt",
                        headers={"Cache-Control": "public, max-age=300"})

    @expose("/emetteur/<string:dispositif>", methods=["GET"])
    def emetteur(self, dispositif):
        """The issuer profile of the credentials, with the public key that signs them."""
        from app.reports.credentials import issuer_profile
        return jsonify(issuer_profile(_dispositif_with_key(dispositif)))


def _upload_result(data: bytes) -> dict:
    """An uploaded copy: its seal validated by pyHanko, and the document it is (by SHA-256)."""
    from app.reports.seal import check
    doc = docs.verify_upload(data)
    return {"doc": docs.public_summary(doc) if doc else None, "seal": check(data),
            "sha256": hashlib.sha256(data).hexdigest(), "upload": True}


def _has_credential(doc) -> bool:
    if doc is None or doc.type != "certificat" or doc.statut != "valide":
        return False
    from app.reports.seal import source_for
    return source_for(doc.dispositif.code) is not None


def _dispositif_with_key(code: str):
    from app.models.referentiel import Dispositif
    from app.reports.seal import source_for
    found = db.session.query(Dispositif).filter(Dispositif.code == code.upper()).one_or_none()
    if found is None or source_for(found.code) is None:
        abort(404)
    return found


def register(appbuilder):
    appbuilder.add_view(DocumentEmisView, "Documents émis", label="Documents émis",
                        icon="fa-file-pdf-o", category="Jurys")
    view = appbuilder.add_view_no_menu(VerificationView)
    # One counter per client address for the whole page (code look-ups and uploads together),
    # with FAB's limiter. Behind a reverse proxy, ProxyFix must give the real address.
    appbuilder.sm.limiter.shared_limit(
        lambda: current_app.config.get("VERIFICATION_RATE_LIMIT", "30 per minute"),
        scope="verification", key_func=get_remote_address, on_breach=_too_many,
    )(view.blueprint)

