"""Evaluation screens: chimie results (évaluateur habilité), CléA préalable/finale with « enregistrer
et reprendre plus tard », metallurgy commission; formations (R-EVA-7); the métier evaluator's page
reached from the e-mailed link, without an account (R-EVA-1)."""
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.errors import RuleViolation
from app.extensions import db
from app.models import Bloc
from app.models.evaluation import AVIS_ENTREPRISE
from app.security.perimeter import current_perimetre
from app.views import brouillons
from app.views.actions import run_verb
from app.views.candidature_forms import FormationForm
from app.views.dossier import load
from app.workflow import engine as transitions
from app.workflow import pieces as documents_wf
from app.workflow.evaluation import chimie as chimie_wf
from app.workflow.evaluation import clea
from app.workflow.evaluation import commission as commission_wf
from app.workflow.evaluation import common as ev_wf


def results_from_form(ev, form) -> dict:
    """{competence_id: {"acquis": bool|None, "commentaire": str}} from acquis_<id>/commentaire_<id>."""
    out = {}
    for r in ev.resultats:
        if r.pre_acquis:
            continue
        raw = form.get(f"acquis_{r.competence_id}")
        out[r.competence_id] = {
            "acquis": {"1": True, "0": False}.get(raw) if raw is not None else r.acquis,
            "commentaire": form.get(f"commentaire_{r.competence_id}", r.commentaire or ""),
        }
    return out


def _value_reader(typed):
    """value(name, stored): what the user typed after a refusal, else what is stored."""
    def value(name, stored=None):
        if typed is None:
            return stored
        return typed.get(name, "")
    return value


def _errors(ev, typed, error) -> dict:
    """{field name: message}; every grid row left without a result is marked too, so all that is
    missing shows at once, not one refusal per submit."""
    if error is None:
        return {}
    out = {error.field or "_": error.message}
    if ev is not None and typed is not None and typed.get("finaliser") == "1":
        for r in ev.resultats:
            if not r.pre_acquis and typed.get(f"acquis_{r.competence_id}") not in ("0", "1"):
                out[f"acquis_{r.competence_id}"] = "Choisissez « acquis » ou « non acquis »."
    if error.field == "grille" and len(out) > 1:
        del out["grille"]  # the rows marked in red say it, with a link to the first one
    return out


def _grid_piece(wf) -> str:
    """The piece the grid's file is filed as: CléA's evaluation matrix, else the evaluation guide."""
    return "matrice_evaluation" if wf.key == "domaines_clea" else "guide_evaluation"


def _grid_evaluation(c, wf):
    """The evaluation the grid shows and saves: CléA's one in progress, else the latest."""
    return ev_wf.in_progress(c) if wf.key == "domaines_clea" else ev_wf.latest(c)


def _clea_groups(ev):
    groups = {}
    for r in ev.resultats:
        groups.setdefault(r.competence.bloc, []).append(r)
    return sorted(groups.items(), key=lambda kv: kv[0].ordre if kv[0] else 0)


class EvaluationView(BaseView):
    route_base = "/evaluation"
    default_view = "saisie"
    class_permission_name = "Candidatures"
    method_permission_name = {"saisie": "read", "brouillon": "read", "nouvelle": "read",
                              "formation": "read"}

    @expose("/<int:pk>", methods=["GET", "POST"])
    @has_access
    def saisie(self, pk):
        c = load(pk)
        p = current_perimetre()
        wf = transitions.workflow_of(c)
        if request.method == "POST":
            return self._post(c, p, wf)
        return self._render(c, p, wf)

    def _render(self, c, p, wf, typed=None, error=None, draft_saved=False, lost_file=None):
        """The grid; after a refusal, `typed` (the posted form) fills it again and `error` sits
        next to its field, so nothing typed is lost (issue 16 item 1)."""
        ev = _grid_evaluation(c, wf)
        added = self._refresh(ev) if typed is None else []
        verb = {"competences": "enter_results", "domaines_clea": "save_evaluation",
                "blocs": "enter_commission_results"}[wf.key]
        reason = None
        try:
            transitions.check(p, c, verb)
        except RuleViolation as exc:
            reason = str(exc)
        can_start = wf.key == "domaines_clea" and transitions.can(p, c, "start_evaluation")
        start_reason = None
        if wf.key == "domaines_clea" and ev is None and not can_start:
            try:
                transitions.check(p, c, "start_evaluation")
            except RuleViolation as exc:
                start_reason = str(exc)
        errors = _errors(ev, typed, error)
        if lost_file:  # after a refusal, nothing was stored: the attachment neither
            errors.setdefault("fichier", f"Le fichier « {lost_file} » n'a pas été enregistré : "
                                         "choisissez-le de nouveau.")
        groups = (_clea_groups(ev) if wf.key == "domaines_clea" else
                  [(b, rows) for b, rows, _ in commission_wf.blocs_acquis(ev)]) if ev else []
        return self.render_template(
            "candidatures/evaluation.html", c=c, ev=ev, wf=wf, reason=reason, editable=reason is None,
            piece_attendue=documents_wf.piece_label(c, _grid_piece(wf)),
            can_start=can_start, start_reason=start_reason, groups=groups,
            avis=list(AVIS_ENTREPRISE), avis_requis=commission_wf.avis_entreprise_requis(c),
            can_upload=transitions.can(p, c, "upload_evaluation_document"),
            added=added, grid_reason=ev_wf.empty_grid_reason(c) if ev is not None and not
            ev.resultats else None, typed=typed, errors=errors,
            focus=next((name for name in errors if name != "_"), None),
            draft_saved=draft_saved, value=_value_reader(typed),
            title=f"Évaluation — {c.candidat.nom_complet} ({c.numero})")

    @staticmethod
    def _refresh(ev) -> list:
        """Competences added to the référentiel since the evaluation opened join its grid."""
        if ev is None:
            return []
        return run_verb(ev_wf.refresh_grid, ev).result

    def _post(self, c, p, wf):
        form = request.form
        finalise = form.get("finaliser") == "1"
        ev = _grid_evaluation(c, wf)
        if ev is None:
            abort(404)
        upload = request.files.get("fichier")
        upload = upload if upload and upload.filename else None
        data = upload.read(documents_wf.MAX_SIZE + 1) if upload else b""
        kind = _grid_piece(wf)
        attached = []

        def save(final):
            """The attachment and the results in one transaction: either both or neither."""
            if upload:
                documents_wf.add_document(p, c, filename=upload.filename, data=data,
                                          type_piece=form.get("type_piece") or kind, evaluation=ev)
                attached.append(upload.filename)
            return self._save(p, c, wf, ev, form, final)

        done = run_verb(save, finalise, quiet=True)
        if not done:
            refused = done.violation
            if upload and not attached:  # the file itself was refused: said next to it
                refused.field = refused.field or "fichier"
                return self._render(c, p, wf, typed=form, error=refused)
            # A refused « Finaliser » still keeps what was typed as the draft, with the file
            # chosen (issue 16 item 1); a refused draft keeps nothing, and the page says the
            # file is not stored, as a browser never sends it again.
            attached.clear()
            draft_saved = finalise and bool(run_verb(save, False, quiet=True))
            lost = upload.filename if upload and not (draft_saved and attached) else None
            return self._render(c, p, wf, typed=form, error=refused, draft_saved=draft_saved,
                                lost_file=lost)
        flash("Évaluation finalisée." if finalise else "Évaluation enregistrée : vous pouvez la "
              "reprendre plus tard.", "success")
        if finalise:
            return redirect(url_for("DossierView.dossier", pk=c.id, onglet="evaluations"))
        return redirect(url_for("EvaluationView.saisie", pk=c.id))

    @expose("/<int:pk>/brouillon", methods=["POST"])
    @has_access
    def brouillon(self, pk):
        """The grid as typed, posted by the page's script while the user types (issue 16 item
        1): saved by the same verb as « Enregistrer », never finalised; files are sent by the
        buttons only. JSON answer for the status line."""
        c = load(pk)
        wf = transitions.workflow_of(c)
        ev = _grid_evaluation(c, wf)
        if ev is None:
            abort(404)
        done = run_verb(self._save, current_perimetre(), c, wf, ev, request.form, False,
                        quiet=True)
        return brouillons.answer(done)

    @staticmethod
    def _save(p, c, wf, ev, form, finalise):
        results = results_from_form(ev, form)
        if wf.key == "competences":
            return chimie_wf.record_results(p, c, resultats=results,
                                        observations_candidat=form.get("observations_candidat"),
                                        commentaire=form.get("commentaire"), finalise=finalise)
        if wf.key == "domaines_clea":
            data = {k: form.get(k) for k in ("date_evaluation", "evaluateur_nom",
                                             "evaluateur_prenom", "evaluateur_email",
                                             "conclusion", "commentaire")}
            fn = clea.finalize_evaluation if finalise else clea.save_evaluation
            return fn(p, c, evaluation=ev, resultats=results, **data)
        return commission_wf.record_commission_results(
            p, c, resultats=results, date_evaluation=form.get("date_evaluation"),
            avis_entreprise=form.get("avis_entreprise"),
            avis_entreprise_commentaire=form.get("avis_entreprise_commentaire"),
            commentaire=form.get("commentaire"), finalise=finalise)

    @expose("/<int:pk>/nouvelle", methods=["POST"])
    @has_access
    def nouvelle(self, pk):
        """CléA: « Ajouter une évaluation » (préalable, then finale after a formation)."""
        c = load(pk)
        data = {k: request.form.get(k) for k in ("date_evaluation", "evaluateur_nom",
                                                 "evaluateur_prenom", "evaluateur_email")}
        run_verb(clea.start_evaluation, current_perimetre(), c, **data,
                 success="Évaluation créée.")
        return redirect(url_for("EvaluationView.saisie", pk=c.id))

    @expose("/<int:pk>/formation", methods=["GET", "POST"])
    @has_access
    def formation(self, pk):
        """R-EVA-7: a formation with its domains, dates, hours and attendance certificate."""
        c = load(pk)
        p = current_perimetre()
        form = FormationForm()
        blocs = db.session.query(Bloc).filter(Bloc.certification_id == c.certification_id) \
            .order_by(Bloc.ordre).all()
        form.domaines.choices = [(b.id, f"{b.code}. {b.intitule}") for b in blocs]
        if form.validate_on_submit():
            def create():
                f = clea.add_formation(p, c, intitule=form.intitule.data,
                                        organisme_formation=form.organisme_formation.data,
                                        date_debut=form.date_debut.data, date_fin=form.date_fin.data,
                                        duree_heures=form.duree_heures.data,
                                        domaines=form.domaines.data, commentaire=form.commentaire.data)
                upload = request.files.get("attestation")
                if upload and upload.filename:
                    documents_wf.add_document(p, c, filename=upload.filename,
                                              data=upload.read(documents_wf.MAX_SIZE + 1),
                                              type_piece="attestation_formation", formation=f)
                return f
            if run_verb(create, form=form, success="Formation enregistrée."):
                return redirect(url_for("DossierView.dossier", pk=c.id, onglet="formations"))
        return self.render_template("candidatures/form.html", form=form, multipart=True,
                                    groups=[("Formation", [f.name for f in form
                                                          if f.name != "csrf_token"])],
                                    title=f"Ajouter une formation — {c.numero}",
                                    back=url_for("DossierView.dossier", pk=c.id))


class MetierPublicView(BaseView):
    """R-EVA-1: the évaluateur métier's page, reached by the signed single-use link only."""

    route_base = "/evaluation-metier"
    default_view = "observations"

    @expose("/<token>", methods=["GET", "POST"])
    def observations(self, token):
        try:
            inv = chimie_wf.invitation_for_token(token)
        except RuleViolation as exc:
            return self.render_template("opencertif/public_form.html", title="Lien invalide",
                                        message=str(exc)), 400
        if request.method == "POST":
            observations = {r.competence_id: request.form.get(f"observation_{r.competence_id}", "")
                            for r in inv.evaluation.resultats if not r.pre_acquis}
            if run_verb(chimie_wf.record_metier_observations, token, observations,
                        request.form.get("commentaire")):
                return self.render_template("opencertif/public_form.html",
                                            title="Observations enregistrées",
                                            message="Merci : vos observations sont transmises à "
                                                    "l'évaluateur habilité et à l'entreprise.")
        ev = inv.evaluation
        c = ev.candidature
        return self.render_template("candidatures/metier.html", inv=inv, ev=ev, c=c,
                                    title="Observations de l'évaluateur métier")


def register(appbuilder):
    appbuilder.add_view_no_menu(EvaluationView)
    appbuilder.add_view_no_menu(MetierPublicView)
    from app.views import candidatures_api
    candidatures_api.register(appbuilder)
