"""Jury screens (DOMAIN.md §8–9): the secretariat's calendar (CRUD), composition and convocations,
the registration of a dossier, the deliberation page of the members, closing, the decision sheet;
and « Dates des prochains jurys » for every signed-in role (R-JUR-1).

Views are thin: each POST calls one verb of app/workflow/jury/sessions.py and turns a RuleViolation into a
flash; every row is loaded through the perimeter (members see only their juries).
"""
from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, DatePickerWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.extensions import db
from app.models import Profil
from app.models.candidature import Candidature
from app.models.jury import COLLEGES, ETATS_JURY, MODALITES, InscriptionJury, Jury, JuryMembre
from app.models.statuts import SUCCESS
from app.models.structures import REGIONS
from app.reports.exports import send_dataset
from app.reports.feuille_decision import FeuilleDecisionExport, anonymous, feuille_pdf
from app.security import perimeter
from app.security.perimeter import PerimeterFilter, current_perimetre
from app.views import brouillons
from app.views.actions import load_scoped, run_verb, show_violation
from app.views.base import READ_WRITE, ScopedModelView
from app.views.labels import labels
from app.workflow import engine as engine_wf
from app.workflow.engine import dossier_link
from app.workflow.jury import composition as composition_wf
from app.workflow.jury import deliberation as deliberation_wf
from app.workflow.jury import drafts as drafts_wf
from app.workflow.jury import registration as registration_wf
from app.workflow.jury import sessions as wf
from app.workflow.jury.composition import AlreadyDone, convocation_changes, reconvene_on_change
from app.workflow.jury.deliberation import decision_rows, may_deliberate, propose_decision

PERMS = {
    **READ_WRITE, "composition": "read", "ajouter_membre": "write", "retirer_membre": "write",
    "votant": "write", "designations": "write", "convoquer": "write", "affecter": "write",
    "retirer_dossier": "write", "cloturer": "write", "deliberation": "deliberate",
    "decision": "deliberate", "deliberer": "deliberate", "brouillon": "deliberate",
    "complement": "deliberate", "piece": "deliberate",
    "feuille": "read", "emettre": "write", "inscrire_dossiers": "write",
    "imprimer_certificats": "write", "envoi_courriers": "write",
}
# Pieces the jury examines (R-JUR-10): dossier candidat, evaluation guide, VAE dossier and guide.
PIECES_JURY = ("dossier_candidat", "guide_evaluation", "dossier_vae", "guide_evaluation_vae",
               "matrice_evaluation", "cerfa_12818", "complement", "attestation_formation")


def _display_name(ins: InscriptionJury, on_deliberation: bool = False) -> str:
    """R-JUR-7: an anonymous jury sees numbers until it closes (the organiser manages by name)."""
    jury = ins.jury
    hide = anonymous(jury) and (on_deliberation or not perimeter.may_organise(current_perimetre(),
                                                                       jury.dispositif_id))
    if hide:
        return f"Candidat n° {ins.numero_anonyme}"
    return ins.candidature.candidat.nom_complet


class MembreForm(FlaskForm):
    college = SelectField("Collège", choices=list(COLLEGES), validators=[DataRequired()])
    # Checked by add_member (a "Membre de jury" account of the dispositif), not by the choices.
    user = SelectField("Compte « Membre de jury »", coerce=str, validators=[Optional()],
                       validate_choice=False)
    nom = StringField("Nom (sans compte)", validators=[Optional(), Length(max=100)])
    prenom = StringField("Prénom", validators=[Optional(), Length(max=100)])
    email = StringField("E-mail", validators=[Optional(), Length(max=200)])
    organisation = StringField("Organisation (entreprise, UIMM, syndicat…)",
                               validators=[Optional(), Length(max=200)])
    qualite = StringField("Qualité", validators=[Optional(), Length(max=150)])
    syndicat = StringField("Organisation syndicale mandante (délégation salariale)",
                           validators=[Optional(), Length(max=120)])
    syndicat_email = StringField("E-mail de l'organisation syndicale (demande de désignation, "
                                 "copie des convocations)",
                                 validators=[Optional(), Length(max=200)])
    votant = SelectField("Voix délibérative", choices=[("", "Automatique"), ("1", "Oui"),
                                                       ("0", "Non")], validators=[Optional()],
                         validate_choice=False)


class JuryView(ScopedModelView):
    """The juries of the perimeter: the secretariat's calendar; a member's own juries."""

    route_base = "/jurys"
    datamodel = SQLAInterface(Jury)
    class_permission_name = "Jurys"
    method_permission_name = PERMS
    exclude_route_methods = {"api", "api_read", "api_get", "api_create", "api_update",
                             "api_delete", "api_column_add", "api_column_edit",
                             "api_readvalues", "download"}
    list_title = "Jurys"
    show_title = "Jury"
    add_title = "Nouveau jury"
    edit_title = "Modifier le jury"
    list_columns = ["date", "intitule", "certificateur", "region", "lieu", "modalite_label",
                    "capacite", "date_limite_inscription", "etat_label"]
    add_columns = ["dispositif", "certificateur", "region", "libelle", "date", "lieu", "modalite",
                   "capacite", "date_limite_inscription", "anonyme"]
    edit_columns = ["certificateur", "region", "libelle", "date", "lieu", "modalite", "capacite",
                    "date_limite_inscription", "anonyme"]
    show_columns = add_columns + ["etat_label"]
    search_columns = ["date", "certificateur", "etat", "lieu"]
    search_form_extra_fields = {"etat": SelectField("État", choices=[("", "—")] + list(ETATS_JURY))}
    order_columns = ["date", "certificateur", "capacite", "date_limite_inscription"]
    label_columns = {**labels("dispositif", "certificateur", "region", "lieu"),
                     "libelle": "Intitulé", "intitule": "Jury", "date": "Date du jury",
                     "modalite": "Modalité", "modalite_label": "Modalité",
                     "capacite": "Capacité (dossiers)",
                     "date_limite_inscription": "Date limite d'inscription",
                     "anonyme": "Délibération anonyme", "etat": "État", "etat_label": "État"}
    description_columns = {
        "capacite": "Nombre maximum de dossiers. Vide : capacité par défaut du dispositif.",
        "date_limite_inscription": "Vide : date du jury moins le délai d'inscription du dispositif "
                                   "(3 semaines).",
        "certificateur": "Vide : le certificateur du dispositif. CléA : Transitions Pro de la région "
                         "ou la CPNE (socle contextualisé).",
        "region": "Vide : le jury reçoit les dossiers de toutes les régions.",
        "anonyme": "Les membres voient des numéros au lieu des noms pendant la délibération.",
    }
    _fields = {
        "modalite": SelectField("Modalité", choices=list(MODALITES), validators=[DataRequired()],
                                widget=Select2Widget()),
        "region": SelectField("Région", choices=[("", "—")] + [(r, r) for r in REGIONS],
                              validators=[Optional()], widget=Select2Widget()),
        "capacite": IntegerField("Capacité (dossiers)", validators=[Optional()],
                                 widget=BS3TextFieldWidget()),
        "date_limite_inscription": DateField("Date limite d'inscription", validators=[Optional()],
                                             widget=DatePickerWidget()),
        "lieu": StringField("Lieu (ville)", validators=[Optional(), Length(max=200)],
                            description="La ville de la réunion, imprimée sur les documents "
                                        "(« Fait à Lyon, le … »).",
                            widget=BS3TextFieldWidget()),
        "certificateur": StringField("Certificateur", validators=[Optional(), Length(max=200)],
                                     widget=BS3TextFieldWidget()),
    }
    add_form_extra_fields = edit_form_extra_fields = _fields
    add_form_query_rel_fields = {"dispositif": [["id", PerimeterFilter, "write"]]}
    base_order = ("date", "desc")
    export_name = "jurys"

    # After a save, the jury's own page, named in the message (not FAB's generic « / »).
    @staticmethod
    def add_row_message(jury):
        return f"Jury du {jury.date:%d/%m/%Y} créé."

    @staticmethod
    def edit_row_message(jury):
        return f"Jury du {jury.date:%d/%m/%Y} modifié."

    def post_add(self, item):
        g.jury_saved = item.id

    post_update = post_add

    def post_add_redirect(self):
        saved = g.pop("jury_saved", None)
        return redirect(url_for("JuryView.show", pk=saved)) if saved else super().post_add_redirect()

    post_edit_redirect = post_add_redirect

    def pre_update(self, item):
        # The form's values are checked and completed (deadline following the date) before any
        # query flushes them half-done; what changed is read before that (its history then goes).
        item._convocation_changes = convocation_changes(item)
        with db.session.no_autoflush:
            super().pre_update(item)

    def check_rules(self, item):
        p = current_perimetre()
        changes = item.__dict__.pop("_convocation_changes", None) or convocation_changes(item)
        wf.prepare_jury(p, item)
        sent = reconvene_on_change(p, item, changes)
        if sent:
            flash(f"{sent} membre(s) reconvoqué(s) : la nouvelle convocation indique ce qui a "
                  "changé.", "info")

    def _delete(self, pk):
        # The rule (R-JUR-1) is the workflow's; FAB's delete button and route land here.
        jury = self._scoped_item(pk, "write")
        if run_verb(wf.delete_jury, current_perimetre(), jury, success=self.delete_row_message):
            self.update_redirect()

    def _jury(self, pk, mode="read") -> Jury:
        return load_scoped(Jury, pk, mode)

    def _back(self, jury, endpoint="JuryView.show"):
        return redirect(url_for(endpoint, pk=jury.id))

    # -- the jury page ---------------------------------------------------------------------------
    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        jury = self._jury(pk)
        p = current_perimetre()
        rows = decision_rows(jury)
        # The dossiers the organiser may register here (the count shown is this list's length).
        ready = wf.ready_for_jury(p, jury) if jury.etat in ("planifie", "convoque") else []
        organiser = perimeter.may_organise(p, jury.dispositif_id)
        problems = composition_wf.check_composition(jury)
        from app.models.document import DocumentEmis
        issued = (db.session.query(DocumentEmis).filter(DocumentEmis.jury_id == jury.id)
                  .order_by(DocumentEmis.type, DocumentEmis.id).all()) if organiser else []
        from flask_login import current_user

        from app.views.approbation_pv import page_context  # issue 19 item 3
        approbation = page_context(jury, current_user) if jury.etat == "clos" else None
        from app.models.document import CANAUX_ENVOI
        from app.workflow.issued.documents import letters_to_post
        mailing = {"pending": letters_to_post(jury.id).count(), "canaux": list(CANAUX_ENVOI)} \
            if issued else None
        published = [i for i in rows if i.etat == "publie"]
        return self.render_template(
            "jurys/show.html", jury=jury, rows=rows, title=jury.intitule, issued=issued,
            close_reason=deliberation_wf.close_refusal(jury, rows, problems)
            if organiser and jury.etat != "clos" else None,
            # Only what this jury's decisions call for is offered (R-DEC-4, R-DOC-4).
            has_admitted=any(i.decision in SUCCESS for i in published),
            has_letters=any(i.decision not in SUCCESS for i in published),
            mailing=mailing,
            approbation=approbation,
            problems=problems, organiser=organiser,
            # « Dossiers inscrits » counts the listed rows holding a place, as register_to_jury
            # does (R-JUR-3); the others are listed apart (a complement was asked).
            deliberate=may_deliberate(p, jury), count=wf.count_active(jury.id),
            aside=sum(1 for i in rows if i.attend_complement),
            name=_display_name, ready=ready)

    # -- composition (R-JUR-5, R-JUR-6) --------------------------------------------------------
    @expose("/composition/<pk>", methods=["GET"])
    @has_access
    def composition(self, pk):
        jury = self._jury(pk)
        form = MembreForm()
        form.user.choices = self._accounts(jury)
        return self._composition_page(jury, form)

    def _composition_page(self, jury, form):
        """The composition page; after a refused « Ajouter », the form as it was sent, each error
        beside its field and listed above it."""
        p = current_perimetre()
        return self.render_template("jurys/composition.html", jury=jury, form=form,
                                    problems=composition_wf.check_composition(jury),
                                    organiser=perimeter.may_organise(p, jury.dispositif_id),
                                    title=f"Composition — {jury.intitule}")

    @staticmethod
    def _accounts(jury):
        from flask_appbuilder.security.sqla.models import User
        users = (db.session.query(User).join(Profil, Profil.user_id == User.id)
                 .filter(Profil.role == "jury", Profil.dispositif_id == jury.dispositif_id,
                         User.active.is_(True)).order_by(User.last_name).limit(500).all())
        return [("", "—")] + [(str(u.id), (f"{u.last_name} {u.first_name}"
                                          f"{' — ' + u.profil.organisation if u.profil.organisation else ''}"))
                              for u in users]

    @expose("/composition/<pk>/ajouter", methods=["POST"])
    @has_access
    def ajouter_membre(self, pk):
        jury = self._jury(pk, "write")
        form = MembreForm()
        form.user.choices = self._accounts(jury)
        if not form.validate():
            return self._composition_page(jury, form)
        votant = {"1": True, "0": False}.get(form.votant.data)
        done = run_verb(composition_wf.add_member, current_perimetre(), jury, form.college.data,
                        form.user.data or None, form.nom.data, form.prenom.data, form.email.data,
                        form.organisation.data, form.qualite.data, form.syndicat.data,
                        form.syndicat_email.data, votant, form=form, success="Membre ajouté.")
        if not done:
            return self._composition_page(self._jury(pk, "write"), form)
        return self._back(jury, "JuryView.composition")

    def _membre(self, mid) -> JuryMembre:
        return load_scoped(JuryMembre, mid, "write")

    @expose("/membre/<mid>/retirer", methods=["POST"])
    @has_access
    def retirer_membre(self, mid):
        m = self._membre(mid)
        jury = m.jury
        run_verb(composition_wf.remove_member, current_perimetre(), m, success="Membre retiré.")
        return self._back(jury, "JuryView.composition")

    @expose("/membre/<mid>/votant", methods=["POST"])
    @has_access
    def votant(self, mid):
        m = self._membre(mid)
        run_verb(composition_wf.set_voter, current_perimetre(), m, success="Représentant votant choisi.")
        return self._back(m.jury, "JuryView.composition")

    @expose("/designations/<pk>", methods=["POST"])
    @has_access
    def designations(self, pk):
        jury = self._jury(pk, "write")
        run_verb(composition_wf.request_designations, current_perimetre(), jury,
                 success=lambda n: f"Demande de désignation envoyée à {n} organisation(s) "
                                   "syndicale(s).")
        return self._back(jury, "JuryView.composition")

    @expose("/convoquer/<pk>", methods=["POST"])
    @has_access
    def convoquer(self, pk):
        jury = self._jury(pk, "write")
        run_verb(composition_wf.convene, current_perimetre(), jury,
                 success=lambda n: f"{n} membre(s) convoqué(s).")
        return self._back(jury, "JuryView.composition")

    # -- dossiers ------------------------------------------------------------------------------
    @expose("/affecter/<pk>", methods=["POST"])
    @has_access
    def affecter(self, pk):
        jury = self._jury(pk, "write")
        run_verb(wf.assign_waiting, current_perimetre(), jury,
                 success=lambda regs: f"{len(regs)} dossier(s) en attente inscrit(s) à ce jury.")
        return self._back(jury)

    @expose("/inscrire-dossiers/<pk>", methods=["POST"])
    @has_access
    def inscrire_dossiers(self, pk):
        """« Inscrire à ce jury »: the checked ready dossiers, each through register_to_jury; a
        partial success names who was registered and who was refused, and why."""
        jury = self._jury(pk, "write")
        done = run_verb(registration_wf.register_ready, current_perimetre(), jury,
                        request.form.getlist("dossiers"))
        if done:
            batch = done.result
            level = "success" if batch.registered and not batch.refused else \
                "warning" if batch.registered else "danger"
            flash(batch.message(), level if batch.registered or batch.refused else "info")
        return self._back(jury)

    @expose("/retirer-dossier/<ins_id>", methods=["POST"])
    @has_access
    def retirer_dossier(self, ins_id):
        ins = load_scoped(InscriptionJury, ins_id, "write")
        run_verb(wf.withdraw_from_jury, current_perimetre(), ins, request.form.get("motif"),
                 success="Dossier retiré du jury : il attend une nouvelle affectation.")
        return self._back(ins.jury)

    # -- deliberation (R-JUR-7, R-JUR-8, R-JUR-10) -----------------------------------------------
    @expose("/deliberation/<pk>")
    @has_access
    def deliberation(self, pk):
        return self._deliberation(self._jury(pk))

    @expose("/deliberer/<pk>/<int:n>")
    @has_access
    def deliberer(self, pk, n):
        """One dossier at a time: dossier n of N, its proposal and decision form, « Précédent /
        Suivant » and how many are decided (issue 16 item 3)."""
        return self._deliberation(self._jury(pk), n=n)

    def _item(self, ins, typed, draft=None):
        from app.workflow.evaluation.commission import blocs_acquis
        c = ins.candidature
        proposal = propose_decision(ins)
        ev = proposal["evaluation"]
        item = {
            "ins": ins, "c": c, "name": _display_name(ins, on_deliberation=True),
            "proposal": proposal, "evaluation": ev,
            "groupes": blocs_acquis(ev) if ev is not None else [],
            "acquis": set(ins.competences_acquises or []) if ins.decision
            else set(proposal["acquis"]),
            "decision": ins.decision or proposal["decision"],
            "commentaire": ins.commentaire or "",
            "error": None,
            "pieces": [d for d in c.documents if d.type_piece in PIECES_JURY],
            "complement": "request_complement" in engine_wf.workflow_of(c).moves,
            "draft": None, "version": deliberation_wf.decision_version(ins),
            "complement_text": "", "complement_error": None,
        }
        if draft is not None:  # what this user was typing, saved as he typed (issue 16 item 1)
            item.update(draft=brouillons.saved_text(draft.enregistre_le),
                        decision=draft.decision or item["decision"],
                        commentaire=draft.commentaire or "")
            if draft.competences_acquises is not None:
                item["acquis"] = set(draft.competences_acquises)
        if typed is not None and typed["ins"] == ins.id and "complement" in typed:
            item.update(complement_text=typed["complement"], complement_error=typed["error"])
        elif typed is not None and typed["ins"] == ins.id:
            item.update(decision=typed["decision"], acquis=typed["acquis"],
                        commentaire=typed["commentaire"], error=typed["error"],
                        field=typed["field"])
        return item

    def _deliberation(self, jury, typed=None, n=None):
        """The members' page (every dossier, or dossier `n` of N); after a refused decision,
        `typed` ({"ins", "decision", "acquis", "commentaire", "error", "field"}) shows that
        dossier's form as it was sent, the error next to it and focused (issue 16 item 1)."""
        p = current_perimetre()
        if not may_deliberate(p, jury):
            abort(403)
        rows = decision_rows(jury, with_files=n is None)
        position = None
        if n is not None:
            if not rows:
                return redirect(url_for("JuryView.deliberation", pk=jury.id))
            position = min(max(n, 1), len(rows))
            shown = [rows[position - 1]]
        else:
            shown = rows
        mine = drafts_wf.drafts_of(p.user_id, [ins.id for ins in shown])
        items = [self._item(ins, typed, mine.get(ins.id)) for ins in shown]
        return self.render_template("jurys/deliberation.html", jury=jury, items=items,
                                    refused=typed, position=position, total=len(rows),
                                    decided=sum(1 for ins in rows if ins.decision),
                                    opens_on=deliberation_wf.deliberation_opens_on(jury),
                                    decisions=jury.dispositif.decisions,
                                    anonyme=anonymous(jury), organiser=perimeter.may_organise(
                                        p, jury.dispositif_id),
                                    title=f"Délibération — {jury.intitule}")

    def _inscription(self, ins_id) -> InscriptionJury:
        return load_scoped(InscriptionJury, ins_id)

    def _after_decision(self, jury, position: int, done: bool) -> str:
        """Where the one-dossier page goes after a save: the next dossier without a decision
        (after this one, then from the start), else the jury page, where the jury is closed."""
        if not done:
            return url_for("JuryView.deliberer", pk=jury.id, n=position)
        rows = decision_rows(jury)
        order = list(range(position, len(rows))) + list(range(position - 1))
        waiting = next((i for i in order if rows[i].decision is None
                        and rows[i].etat == "inscrit"), None)
        if waiting is None:
            # Only the organiser closes the jury (R-JUR-9): a juror is told who does.
            if perimeter.may_organise(current_perimetre(), jury.dispositif_id):
                flash("Toutes les décisions de ce jury sont enregistrées : vérifiez-les, puis "
                      "clôturez le jury pour les publier.", "info")
            else:
                flash("Toutes les décisions de ce jury sont enregistrées : le secrétariat clôt le "
                      "jury, ce qui les publie dans les dossiers.", "info")
            return url_for("JuryView.show", pk=jury.id)
        return url_for("JuryView.deliberer", pk=jury.id, n=waiting + 1)

    @expose("/decision/<ins_id>", methods=["POST"])
    @has_access
    def decision(self, ins_id):
        ins = self._inscription(ins_id)
        form = request.form
        # sent from the one-dossier page (its position), else from the page of all dossiers
        position = int(form["n"]) if form.get("n", "").isdigit() else None
        done = run_verb(deliberation_wf.record_decision, current_perimetre(), ins, form.get("decision", ""),
                        form.getlist("acquis"), form.get("commentaire"),
                        # the refused decision is shown in its own form on the page, below
                        quiet=True)
        if done:
            # R-JUR-7: the number on an anonymous jury, the candidate's name otherwise.
            who = f"le candidat n° {ins.numero_anonyme}" if anonymous(ins.jury) \
                else ins.candidature.candidat.nom_complet
            flash(f"Décision enregistrée pour {who} : "
                  f"{ins.decision_label}. Elle sera publiée dans le dossier à la clôture du "
                  f"jury.", "success")
        elif isinstance(done.violation, AlreadyDone):  # a second click: nothing is wrong
            show_violation(done.violation)
        else:
            ins = self._inscription(ins_id)
            return self._deliberation(ins.jury, typed={
                "ins": ins.id, "decision": form.get("decision", ""),
                "acquis": {int(x) for x in form.getlist("acquis") if x.isdigit()},
                "commentaire": form.get("commentaire") or "", "error": done.violation.message,
                "field": done.violation.field or "decision"}, n=position)
        if position is not None:  # one dossier at a time: on to the next one still undecided
            return redirect(self._after_decision(ins.jury, position, bool(done)))
        return redirect(url_for("JuryView.deliberation", pk=ins.jury_id) + f"#ins-{ins.id}")

    @expose("/brouillon/<ins_id>", methods=["POST"])
    @has_access
    def brouillon(self, ins_id):
        """The decision form as typed, posted by the page's script while the user types: saved
        as his draft of this dossier (JSON answer for the status line)."""
        ins = self._inscription(ins_id)
        form = request.form
        done = run_verb(deliberation_wf.save_draft, current_perimetre(), ins,
                        form.get("decision", ""), form.getlist("acquis"), form.get("commentaire"),
                        version=form.get("version_decision", ""), quiet=True)
        return brouillons.answer(done, done.result.enregistre_le if done else None)

    @expose("/complement/<ins_id>", methods=["POST"])
    @has_access
    def complement(self, ins_id):
        ins = self._inscription(ins_id)
        form = request.form
        position = int(form["n"]) if form.get("n", "").isdigit() else None
        done = run_verb(deliberation_wf.request_complement, current_perimetre(), ins,
                        form.get("commentaire", ""), quiet=True,
                        success="Complément demandé à l'organisme : le dossier reviendra au "
                                "jury une fois complété.")
        if not done and not isinstance(done.violation, AlreadyDone):
            # Shown in its own form, on the page it was sent from (issue 16 item 1).
            ins = self._inscription(ins_id)
            return self._deliberation(ins.jury, typed={
                "ins": ins.id, "complement": form.get("commentaire") or "",
                "error": done.violation.message}, n=position)
        if not done:
            show_violation(done.violation)
        if position is not None:
            return redirect(url_for("JuryView.deliberer", pk=ins.jury_id, n=position))
        return redirect(url_for("JuryView.deliberation", pk=ins.jury_id) + f"#ins-{ins.id}")

    @expose("/piece/<ins_id>/<doc_id>")
    @has_access
    def piece(self, ins_id, doc_id):
        """A piece of a dossier of this jury (R-JUR-10), after the perimeter checks of both."""
        from app.models.candidature import Document
        ins = self._inscription(ins_id)
        if not may_deliberate(current_perimetre(), ins.jury):
            abort(403)
        doc = perimeter.scoped_get(Document, doc_id)
        if doc is None or doc.candidature_id != ins.candidature_id:
            abort(404)
        name = piece_name(ins, doc) if anonymous(ins.jury) else _safe(doc.nom_fichier)
        return Response(doc.contenu, mimetype=doc.mimetype, headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    @expose("/cloturer/<pk>", methods=["POST"])
    @has_access
    def cloturer(self, pk):
        jury = self._jury(pk, "write")
        run_verb(deliberation_wf.close_jury, current_perimetre(), jury,
                 success=lambda n: f"Jury clos : {n} décision(s) publiée(s) dans les dossiers.")
        return self._back(jury)

    # -- documents of a closed jury (issue 6: numbered, frozen, stored by documents_emis) ----------
    @expose("/emettre/<pk>/<kind>", methods=["POST"])
    @has_access
    def emettre(self, pk, kind):
        from app.workflow.jury import documents as jury_documents
        jury = self._jury(pk, "write")
        p = current_perimetre()
        run_verb(jury_documents.issue_jury_documents, p, jury, kind, emis_par=p.user_id,
                 success=lambda emission: emission.message(kind))
        return self._back(jury)

    @expose("/imprimer-certificats/<pk>", methods=["POST"])
    @has_access
    def imprimer_certificats(self, pk):
        """« Imprimer les certificats »: the print batch of this jury's valid certificates, then
        its progress page (Documents émis)."""
        from flask_login import current_user

        from app.workflow.issued import batches
        jury = self._jury(pk, "write")
        done = run_verb(batches.start_jury_print_batch, current_perimetre(), jury,
                        par=current_user)
        if done:
            return redirect(url_for("DocumentEmisView.lot", pk=done.result.id))
        return self._back(jury)

    @expose("/envoi-courriers/<pk>", methods=["POST"])
    @has_access
    def envoi_courriers(self, pk):
        """« Enregistrer l'envoi des courriers »: every letter of the jury not recorded yet, once."""
        from flask_login import current_user

        from app.models.document import CANAUX_ENVOI
        from app.workflow.issued import documents as issued
        jury = self._jury(pk, "write")
        canal = request.form.get("canal") or "courrier"
        if canal not in CANAUX_ENVOI.codes:
            canal = ""  # refused by record_envoi, with its message
        run_verb(issued.record_jury_mailing, current_perimetre(), jury, canal, par=current_user,
                 success=lambda lines: (f"Envoi enregistré pour {len(lines)} courrier(s) du jury."
                                        if lines else "Aucun courrier à enregistrer : l'envoi de "
                                        "tous les courriers de ce jury est déjà enregistré."))
        return self._back(jury)

    # -- decision sheet (R-DOC-6) ---------------------------------------------------------------
    @expose("/feuille/<pk>/<fmt>")
    @has_access
    def feuille(self, pk, fmt):
        if fmt not in ("xlsx", "csv", "csv-brut", "pdf"):
            abort(404)
        jury = self._jury(pk)
        rows = decision_rows(jury)
        if fmt == "pdf":
            body = feuille_pdf(jury, rows)
            name = FeuilleDecisionExport(jury, []).name
            return Response(body, mimetype="application/pdf", headers={
                "Content-Disposition": f'attachment; filename="{name}.pdf"'})
        return send_dataset(FeuilleDecisionExport(jury, rows), fmt)


def piece_name(ins: InscriptionJury, doc) -> str:
    """R-JUR-7: the name an anonymous jury sees for a piece — its type and the candidate's
    number, never the uploaded file name (which often carries the candidate's name)."""
    ext = (doc.nom_fichier or "").rsplit(".", 1)[-1].lower() if "." in (doc.nom_fichier or "") \
        else ""
    ext = "".join(ch for ch in ext if ch.isalnum())[:5]
    return f"{doc.type_piece}-candidat-{ins.numero_anonyme}-{doc.id}" + (f".{ext}" if ext else "")


def _safe(name: str) -> str:
    return "".join(ch for ch in (name or "piece") if ch.isalnum() or ch in "._- ")[:120] or "piece"


class InscriptionJuryForm(FlaskForm):
    jury = SelectField("Jury", coerce=str, validators=[Optional()], validate_choice=False)
    commentaire = TextAreaField("Commentaire", validators=[Optional(), Length(max=2000)])


class InscriptionJuryView(BaseView):
    """« Inscrire à un jury » from a dossier: the actor its dispositif allows (R-JUR-2..4)."""

    route_base = "/inscription-jury"
    class_permission_name = "Candidatures"
    method_permission_name = {"inscrire": "write"}
    default_view = "inscrire"

    @expose("/<int:pk>", methods=["GET", "POST"])
    @has_access
    def inscrire(self, pk):
        p = current_perimetre()
        c = load_scoped(Candidature, pk)
        form = InscriptionJuryForm()
        juries = wf.open_juries_for(c)
        # Several juries open: the user picks one (the next one is never taken silently).
        form.jury.choices = [("", "— Choisir le jury —" if len(juries) > 1
                              else "Prochain jury disponible")] + [
            (str(j.id), (f"{j.date:%d/%m/%Y} — {j.certificateur}{' — ' + j.lieu if j.lieu else ''}"
                        f" ({wf.count_active(j.id)}/{j.capacite} dossiers, inscriptions jusqu'au "
                        f"{j.date_limite_inscription:%d/%m/%Y})")) for j in juries]
        if len(juries) == 1 and request.method == "GET":
            form.jury.data = str(juries[0].id)
        chosen = request.method == "POST" and (len(juries) <= 1 or form.jury.data)
        if request.method == "POST" and not chosen:
            form.validate()
            form.jury.errors = list(form.jury.errors or []) + [
                "Plusieurs jurys sont ouverts : choisissez celui auquel inscrire le dossier."]
        if chosen and form.validate():
            def register():
                if not juries and not form.jury.data and _before_jury(c):
                    # No jury open yet: the dossier is presented and waits for the secretariat's
                    # assignment (as the submission always allowed).
                    from app.workflow.dossier import candidatures
                    candidatures.submit_to_jury(p, c, commentaire=form.commentaire.data)
                    return ("Dossier présenté : aucun jury n'est ouvert aux inscriptions pour le "
                            "moment ; le secrétariat l'inscrira au prochain jury."), "warning"
                reg = registration_wf.register_to_jury(p, c, form.jury.data or None, form.commentaire.data)
                return reg.message, "warning" if reg.reported else "success"
            done = run_verb(register)
            if done:
                flash(*done.result)
                return redirect(dossier_link(c))
        entry = engine_wf.workflow_of(c).moves.get("submit_to_jury")
        return self.render_template("jurys/inscrire.html", form=form, c=c, juries=juries,
                                    current=wf.active_inscription(c),
                                    confirm=entry.confirm if entry and c.statut in entry.sources
                                    else None,
                                    title=f"Inscrire le dossier {c.numero} à un jury")


def _before_jury(c) -> bool:
    move = engine_wf.workflow_of(c).moves.get("submit_to_jury")
    return move is not None and c.statut in move.sources


class CalendrierJurysView(BaseView):
    """R-JUR-1: « Dates des prochains jurys » — last jury and next ones, per certificateur."""

    route_base = "/jurys-calendrier"
    class_permission_name = "CalendrierJurys"
    method_permission_name = {"calendrier": "read"}
    default_view = "calendrier"

    @expose("/")
    @has_access
    def calendrier(self):
        from app.models.base import today
        return self.render_template("jurys/calendrier.html", groups=wf.calendar(),
                                    today=today(), title="Dates des prochains jurys")


def register(appbuilder):
    cat = {"category": "Jurys", "category_icon": "fa-gavel", "category_label": "Jurys"}
    appbuilder.add_view(JuryView, "Jurys", label="Jurys", icon="fa-calendar", **cat)
    appbuilder.add_view(CalendrierJurysView, "Dates des prochains jurys",
                        label="Dates des prochains jurys", icon="fa-calendar-o", **cat)
    appbuilder.add_view_no_menu(InscriptionJuryView)
