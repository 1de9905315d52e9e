"""Screens of the PV approval (issue 19 item 3): the member's « PV à approuver » list (the home's
count opens it), the approval page of one jury (PV download, who has approved, « Approuver le
PV » with the second factor's code when the account has one), and the JSON API beside them.

Thin: every rule is in app/workflow/jury/approval.py; the jury is loaded through the perimeter
(members see only their juries, the secretariat its dispositif's).
"""
from flask import Response, abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.security.decorators import has_access, protect
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.document import DocumentEmis
from app.models.jury import Jury
from app.security import perimeter, totp
from app.security.perimeter import current_perimetre
from app.views.actions import AnswersRefusals, load_scoped, run_verb
from app.workflow.jury import approval
from app.workflow.jury.composition import AlreadyDone

PERMS = {"liste": "read", "page": "read", "pdf": "read", "approuver": "deliberate",
         "signature_papier": "write"}


class ApprovalForm(FlaskForm):
    """« Approuver le PV »; the code field is removed for an account without second factor."""
    code = StringField("Code de votre application d'authentification (ou un code de secours)",
                       validators=[Length(max=20)], render_kw={"autocomplete": "one-time-code"})


class PaperSignatureForm(FlaskForm):
    """« PV signé sur papier par le président », for a president without an account. The date is
    checked by approval.record_paper_signature (its message beside the field)."""
    signe_le = DateField("Date de signature par le président", validators=[Optional()],
                         render_kw={"type": "date"})


def approval_form(user) -> ApprovalForm:
    form = ApprovalForm()
    if not totp.active(user):
        del form.code
    return form


def _jury(pk) -> Jury:
    return load_scoped(Jury, pk)


def page_context(jury: Jury, user, paper_form=None) -> dict:
    """What the approval panel shows to `user` (member, president or secretariat); the organiser
    records there the signature on paper of a president without an account."""
    etat = approval.status(jury)
    president = etat.president
    paper = (etat.mode == "a_approuver" and president is not None and president.user_id is None
             and etat.president_approbation is None)
    may_record = paper and not etat.manquants and perimeter.may_organise(current_perimetre(),
                                                                          jury.dispositif_id)
    seat = next((m for m in jury.membres if m.user_id == user.id), None)
    approving = seat is not None and (seat.college == "president" or (
        seat.college != "invite" and seat.votant))
    mine = etat.approbation_de(user.id)
    waits_for_members = seat is not None and seat.college == "president" and bool(etat.manquants)
    return {"etat": etat, "seat": seat, "mine": mine, "waits_for_members": waits_for_members,
            "paper": paper, "paper_form": (paper_form or PaperSignatureForm()) if may_record
            else None,
            "may_approve": etat.mode == "a_approuver" and approving and mine is None
            and not waits_for_members}


class ApprobationPVView(BaseView):
    route_base = "/approbation-pv"
    default_view = "liste"
    class_permission_name = "Jurys"
    method_permission_name = PERMS

    @expose("/")
    @has_access
    def liste(self):
        """« PV à approuver »: the same query as the home's count."""
        p = current_perimetre()
        rows = approval.pending_query(p.user_id).all() if p.user_id else []
        return self.render_template("approbation_pv/liste.html", rows=rows,
                                    title="PV à approuver")

    @expose("/<int:pk>")
    @has_access
    def page(self, pk):
        from flask_login import current_user
        jury = _jury(pk)
        ctx = page_context(jury, current_user)
        return self.render_template("approbation_pv/page.html", jury=jury, approbation=ctx,
                                    approval_form=approval_form(current_user),
                                    title=f"Procès-verbal — {jury.intitule}")

    @expose("/<int:pk>/pdf")
    @has_access
    def pdf(self, pk):
        """The jury's valid PV (the draft to approve, or the approved one), for its members."""
        jury = _jury(pk)
        pv = approval.current_pv(jury.id)
        if pv is None:
            abort(404)
        body = db.session.get(DocumentEmis, pv.id).pdf
        return Response(body, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{pv.numero}.pdf"'})

    @expose("/<int:pk>/approuver", methods=["POST"])
    @has_access
    def approuver(self, pk):
        from flask_login import current_user
        jury = _jury(pk)
        form = approval_form(current_user)
        if not form.validate():
            flash("Le formulaire a expiré : rechargez la page et recommencez.", "danger")
            return redirect(url_for("ApprobationPVView.page", pk=jury.id))
        code = form.code.data if "code" in form else None
        def approved(row):
            if row.pv_emis_id:
                numero = db.session.get(DocumentEmis, row.pv_emis_id).numero
                return (f"Procès-verbal approuvé : le procès-verbal approuvé n° {numero} est émis "
                        "et scellé.")
            return "Procès-verbal approuvé."

        run_verb(approval.approve, current_perimetre(), jury, code=code,
                 adresse=request.remote_addr, success=approved)
        return redirect(url_for("ApprobationPVView.page", pk=jury.id))


    @expose("/<int:pk>/signature-papier", methods=["POST"])
    @has_access
    def signature_papier(self, pk):
        """« PV signé sur papier par le président »: the organiser records it; the approved PV is
        issued. Refused: the approval page again, the date as typed and the error beside it."""
        from flask_login import current_user
        jury = load_scoped(Jury, pk, "write")
        form = PaperSignatureForm()
        if form.validate():
            done = run_verb(approval.record_paper_signature, current_perimetre(), jury,
                            form.signe_le.data, form=form, success=lambda row: (
                                "Signature du président sur papier enregistrée : le procès-verbal "
                                f"approuvé n° {db.session.get(DocumentEmis, row.pv_emis_id).numero}"
                                " est émis et scellé."))
            if done or isinstance(done.violation, AlreadyDone):
                return redirect(url_for("JuryView.show", pk=jury.id))
            jury = load_scoped(Jury, pk, "write")
        return self.render_template("approbation_pv/page.html", jury=jury,
                                    approbation=page_context(jury, current_user, form),
                                    approval_form=approval_form(current_user),
                                    title=f"Procès-verbal — {jury.intitule}")


class ApprobationPVApi(AnswersRefusals, BaseApi):
    """The PV approval for API clients (the jury API's conventions, through the seam)."""

    resource_name = "jury"  # beside app/views/jurys_api.py's routes: /api/v1/jury/<pk>/…
    class_permission_name = "Jurys"
    method_permission_name = {"etat": "read", "approuver": "deliberate"}
    openapi_spec_tag = "Jurys"

    @api_expose("/<int:pk>/pv/approbations", methods=["GET"])
    @protect()
    def etat(self, pk):
        """Who has approved the jury's PV and who has not.
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema: {type: integer}
          responses:
            200: {description: État de l'approbation du procès-verbal}
            404: {description: Jury introuvable ou hors périmètre}
        """
        return self.response(200, **run_verb(lambda: {"result": _status_json(_api_jury(pk))}).result)

    @api_expose("/<int:pk>/pv/approbations", methods=["POST"])
    @protect()
    def approuver(self, pk):
        """Approve the jury's PV (body: {"code": "123456"} when the account has a second factor).
        ---
        post:
          parameters:
          - in: path
            name: pk
            schema: {type: integer}
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    code: {type: string, maxLength: 20}
          responses:
            201: {description: Approbation enregistrée}
            403: {description: Ni membre votant ni président}
            404: {description: Jury introuvable ou hors périmètre}
            409: {description: Déjà approuvé}
            422: {description: Refusé par une règle}
        """
        def run():
            body = request.get_json(silent=True)
            body = body if isinstance(body, dict) else {}
            code = body.get("code")
            if code is not None and not isinstance(code, str):
                raise RuleViolation("Le code est une chaîne de caractères.", field="code")
            row = approval.approve(current_perimetre(), _api_jury(pk),
                                   code=(code or "")[:20] or None, adresse=request.remote_addr)
            return {"result": {"id": row.id, "approuve_le": row.approuve_le.isoformat(),
                               "sha256": row.sha256, "pv_approuve_id": row.pv_emis_id}}
        return self.response(201, **run_verb(run).result)


def _api_jury(pk) -> Jury:
    if not 0 < pk < 2 ** 31:
        raise PerimeterViolation()
    jury = perimeter.scoped_get(Jury, pk)
    if jury is None:
        raise PerimeterViolation()
    return jury


def _status_json(jury: Jury) -> dict:
    etat = approval.status(jury)

    def line(m, a):
        return {"membre": m.nom_complet, "qualite": approval.seat_quality(m),
                "approuve_le": a.approuve_le.isoformat() if a else None,
                "sha256": a.sha256 if a else None}
    out = {"mode": etat.mode, "pv": None, "membres": [line(m, a) for m, a in etat.lignes],
           "sans_compte": [m.nom_complet for m in etat.sans_compte], "president": None}
    if etat.pv is not None:
        out["pv"] = {"id": etat.pv.id, "numero": etat.pv.numero, "sha256": etat.pv.sha256,
                     "approuve": etat.mode == "approuve"}
    if etat.president is not None:
        out["president"] = line(etat.president, etat.president_approbation)
    return out


def register(appbuilder):
    appbuilder.add_view_no_menu(ApprobationPVView)
    appbuilder.add_api(ApprobationPVApi)
