"""Accounts: creation under the role ceiling, invitations, password reset, employer sign-up."""
import sqlalchemy as sa
from flask import current_app, url_for
from flask_appbuilder.security.sqla.models import User
from werkzeug.security import generate_password_hash

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Dispositif, Entreprise, Etablissement, Organisme, Profil
from app.models.base import utcnow
from app.models.comptes import NIVEAU, RANG, ROLES
from app.security import perimeter, roles, tokens
from app.security.perimeter import Perimetre
from app.workflow.engine import NotAllowed
from app.workflow.mail import send_mail
from app.workflow.notifications import notify

# Who may create which accounts, besides the ceiling of R-ACC-1.
CREATORS = {"admin", "secretariat", "admin_reseau", "admin_organisme", "admin_etablissement"}
OF_ROLES = ["admin_reseau", "superviseur_reseau", "admin_organisme", "utilisateur_organisme",
            "admin_etablissement", "utilisateur_etablissement"]


def assignable_roles(p: Perimetre) -> list[str]:
    """R-ACC-1: the roles `p` may give — equal or lower than their own, never higher."""
    if p.role == "admin":
        return [c for c in ROLES.codes]
    if p.role == "secretariat":
        return [c for c in ROLES.codes if c != "admin"]
    if p.role not in CREATORS:
        return []
    return [c for c in OF_ROLES if RANG[c] <= RANG[p.role]]


def _check_perimeter(p: Perimetre, profil: Profil):
    """The new account's perimeter must lie inside the creator's (R-ACC-5)."""
    niveau = NIVEAU.get(profil.role)
    if niveau and niveau != "user" and getattr(profil, f"{niveau}_id") is None:
        raise RuleViolation("Choisissez le périmètre du compte ({}).".format(niveau.replace("etablissement", "établissement").replace("reseau", "réseau")), "R-ACC-5", field=f"{niveau}")
    if p.role in ("admin",):
        return
    if p.role == "secretariat":
        if niveau == "dispositif" and not perimeter.is_secretariat_of(p, profil.dispositif_id):
            raise RuleViolation("Vous ne pouvez créer des comptes que pour votre dispositif.", "R-DIS-1", field="dispositif")
        if niveau == "user" or niveau in ("reseau", "organisme", "etablissement", "entreprise"):
            profil.dispositif_id = perimeter.own_id(p, "dispositif")
        return
    # Training-organisation administrators: the target must be within their branch.
    target = {"reseau": profil.reseau, "organisme": profil.organisme,
              "etablissement": profil.etablissement}.get(niveau)
    if target is None or not perimeter.contains(target, p, "read"):
        raise RuleViolation("Ce périmètre est en dehors du vôtre.", "R-ACC-5", field=niveau)
    if niveau == "reseau" and p.niveau != "reseau":
        raise RuleViolation("Ce périmètre est en dehors du vôtre.", "R-ACC-5", field=niveau)
    if niveau == "organisme" and p.niveau == "etablissement":
        raise RuleViolation("Ce périmètre est en dehors du vôtre.", "R-ACC-5", field=niveau)


def check_assignment(p: Perimetre, profil: Profil):
    """R-ACC-1 + R-ACC-5 for a profile about to be created or changed by `p`."""
    if profil.role not in assignable_roles(p):
        raise RuleViolation(
            f"Vous ne pouvez pas attribuer le rôle « {ROLES.label(profil.role)} » : un utilisateur "
            "ne peut donner qu'un rôle égal ou inférieur au sien.", "R-ACC-1", field="role")
    # Keep only the perimeter column of the role, so that a stale choice cannot widen it.
    niveau = NIVEAU.get(profil.role)
    for col in ("dispositif", "reseau", "organisme", "etablissement", "entreprise"):
        if col != niveau and not (col == "dispositif" and niveau in ("user",)):
            setattr(profil, f"{col}_id", None)
            setattr(profil, col, None)
    _check_perimeter(p, profil)


def create_user(p: Perimetre, *, prenom: str, nom: str, email: str, role: str,
                username: str | None = None, **perimetre_ids) -> User:
    """Create an account without password and e-mail the invitation link (R-ACC-1, R-ACC-2)."""
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise RuleViolation("Adresse e-mail invalide.", field="email")
    if db.session.query(User.id).filter(User.email == email).first():
        raise RuleViolation("Un compte existe déjà avec cette adresse e-mail.", field="email")
    profil = Profil(role=role, **{k: v for k, v in perimetre_ids.items() if k.endswith("_id")})
    for key in ("dispositif", "reseau", "organisme", "etablissement", "entreprise"):
        if perimetre_ids.get(key) is not None:
            setattr(profil, key, perimetre_ids[key])
    _load_targets(profil)
    check_assignment(p, profil)
    user = User(first_name=prenom.strip(), last_name=nom.strip(), email=email,
                username=(username or email).strip(), active=True,
                password=generate_password_hash(tokens.new_nonce() * 4))
    user.roles = [current_app.appbuilder.sm.find_role(roles.role_name(role))]
    profil.user = user
    db.session.add_all([user, profil])
    db.session.flush()
    send_invitation(user)
    return user


def _load_targets(profil: Profil):
    for key, model in (("organisme", Organisme), ("etablissement", Etablissement),
                       ("entreprise", Entreprise)):
        fk = getattr(profil, f"{key}_id")
        if fk is not None and getattr(profil, key) is None:
            setattr(profil, key, db.session.get(model, fk))
    from app.models import Reseau
    if profil.reseau_id is not None and profil.reseau is None:
        profil.reseau = db.session.get(Reseau, profil.reseau_id)


def send_invitation(user: User):
    """R-ACC-2: a signed, expiring, single-use link to choose one's password."""
    profil = user.profil
    profil.token_nonce = tokens.new_nonce()
    profil.invitation_envoyee_le = utcnow()
    token = tokens.make_token("invitation", user.id, profil.token_nonce)
    link = url_for("ComptePublicView.definir_mot_de_passe", token=token, _external=False)
    send_mail(user.email, "invitation", user=user, link=link,
              days=current_app.config["INVITATION_MAX_AGE"] // 86400)


def request_password_reset(email: str) -> None:
    """R-ACC-2: a forgotten password is reset by e-mail. Silent for unknown addresses."""
    user = db.session.query(User).filter(User.email == (email or "").strip().lower()).first()
    if user is None or not user.active or user.profil is None:
        return
    user.profil.token_nonce = tokens.new_nonce()
    token = tokens.make_token("reset", user.id, user.profil.token_nonce)
    link = url_for("ComptePublicView.definir_mot_de_passe", token=token, reset=1)
    send_mail(user.email, "reinitialisation", user=user, link=link,
              hours=current_app.config["RESET_MAX_AGE"] // 3600)


def user_for_token(token: str, purpose: str) -> User:
    max_age = current_app.config["INVITATION_MAX_AGE" if purpose == "invitation" else "RESET_MAX_AGE"]
    user_id, nonce = tokens.read_token(purpose, token, max_age)
    user = db.session.get(User, user_id)
    if user is None or user.profil is None or user.profil.token_nonce != nonce:
        raise RuleViolation("Ce lien a déjà été utilisé ou a été remplacé par un plus récent.", "R-ACC-2")
    return user


def set_password_with_token(token: str, purpose: str, password: str) -> User:
    """Consume the link (single use) and set the password the user chose."""
    user = user_for_token(token, purpose)
    validate_password(password)
    user.password = generate_password_hash(password)
    user.profil.token_nonce = tokens.new_nonce()
    user.active = True
    db.session.commit()
    return user


def validate_password(password: str):
    """Complexity: 10 characters, upper, lower, digit and another character."""
    p = password or ""
    if (len(p) < 10 or not any(c.isupper() for c in p) or not any(c.islower() for c in p)
            or not any(c.isdigit() for c in p) or all(c.isalnum() for c in p)):
        raise RuleViolation("Le mot de passe doit comporter au moins 10 caractères, dont une "
                            "majuscule, une minuscule, un chiffre et un caractère spécial.",
                            field="password")


def signup_employer(*, siret: str, raison_sociale: str, naf: str | None, prenom: str, nom: str,
                    email: str, **entreprise) -> User:
    """R-ACC-6, issue 14: a request for an employer account, which sees and does nothing until
    its e-mail is confirmed (signed link) and the secretariat or an approved account of the same
    SIRET approves it. A SIRET already known joins its entreprise instead of creating another."""
    from app.formats import FormatError, check_siret
    try:
        siret = check_siret(siret)
    except FormatError as exc:
        raise RuleViolation(str(exc), "R-FMT-1", field="siret")
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise RuleViolation("Adresse e-mail invalide.", field="email")
    if db.session.query(User.id).filter(User.email == email).first():
        raise RuleViolation("Un compte existe déjà avec cette adresse e-mail.", field="email")
    ent = db.session.query(Entreprise).filter(Entreprise.siret == siret).one_or_none()
    if ent is None:
        ent = Entreprise(siret=siret, raison_sociale=raison_sociale.strip(), naf=naf or None,
                         **entreprise)
        db.session.add(ent)
        db.session.flush()
    user = User(first_name=prenom.strip(), last_name=nom.strip(), email=email, username=email,
                active=False, password=generate_password_hash(tokens.new_nonce() * 4))
    user.roles = []  # the Employeur role comes with the approval
    profil = Profil(user=user, role="employeur", entreprise=ent, inscription="email_a_confirmer",
                    token_nonce=tokens.new_nonce(), invitation_envoyee_le=utcnow())
    db.session.add_all([user, profil])
    db.session.flush()
    token = tokens.make_token("inscription", user.id, profil.token_nonce)
    send_mail(email, "inscription_employeur", user=user, entreprise=ent,
              link=url_for("ComptePublicView.confirmer_inscription", token=token),
              days=current_app.config["INVITATION_MAX_AGE"] // 86400)
    return user


def confirm_signup(token: str, password: str) -> User:
    """The link of the sign-up e-mail: proves the address, sets the password (single use) and
    puts the request before its approvers. The account stays closed until approved."""
    user_id, nonce = tokens.read_token("inscription", token, current_app.config["INVITATION_MAX_AGE"])
    user = db.session.get(User, user_id)
    profil = user.profil if user is not None else None
    if profil is None or profil.token_nonce != nonce or profil.inscription != "email_a_confirmer":
        raise RuleViolation("Ce lien a déjà été utilisé ou a été remplacé par un plus récent.", "R-ACC-2")
    validate_password(password)
    user.password = generate_password_hash(password)
    profil.token_nonce = tokens.new_nonce()
    profil.email_confirme_le = utcnow()
    profil.inscription = "a_approuver"
    ent = profil.entreprise
    approvers = signup_approvers(profil)
    notify(approvers, "compte", f"Demande de compte employeur : {ent.raison_sociale}",
           f"{user.first_name} {user.last_name} ({user.email}) demande un compte employeur pour "
           f"le SIRET {ent.siret}.", "/inscriptions-employeur/")
    for approver in approvers:
        send_mail(approver.email, "inscription_a_approuver", user=approver, demandeur=user,
                  entreprise=ent)
    return user


def signup_approvers(profil: Profil) -> list[User]:
    """Who may approve: every secretariat, and the approved accounts of the same entreprise."""
    rows = (db.session.query(User).join(Profil, Profil.user_id == User.id)
            .filter(User.active.is_(True), Profil.user_id != profil.user_id,
                    Profil.inscription.is_(None) | (Profil.inscription == "approuvee"),
                    (Profil.role == "secretariat")
                    | ((Profil.role == "employeur") & (Profil.entreprise_id == profil.entreprise_id)))
            .all())
    return rows


def may_approve(p: Perimetre, profil: Profil) -> bool:
    if p.role in ("admin", "secretariat"):
        return True
    return perimeter.is_employer_of(p, profil.entreprise_id) and p.user_id != profil.user_id


def pending_signups(p: Perimetre):
    """The requests `p` may decide, e-mail confirmed, oldest first."""
    q = (db.session.query(Profil).filter(Profil.inscription == "a_approuver")
         .order_by(Profil.email_confirme_le, Profil.id))
    if p.role in ("admin", "secretariat"):
        return q
    entreprise_id = perimeter.own_id(p, "entreprise") if p.role == "employeur" else None
    if entreprise_id:
        return q.filter(Profil.entreprise_id == entreprise_id, Profil.user_id != p.user_id)
    return q.filter(sa.false())


def decide_signup(p: Perimetre, profil_id: int, accept: bool, motif: str | None = None) -> Profil:
    """Approve (the account opens with the Employeur role) or refuse, once; e-mail either way."""
    q = db.session.query(Profil).filter(Profil.id == profil_id)
    if db.session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(of=Profil)  # two approvers at once: one decision
    profil = q.one_or_none()
    if profil is None or profil.inscription not in ("email_a_confirmer", "a_approuver", "approuvee",
                                                     "refusee"):
        raise PerimeterViolation()
    if not may_approve(p, profil):
        raise NotAllowed("Seul le secrétariat ou un compte approuvé de la même entreprise décide "
                         "d'une demande de compte employeur.", "R-ACC-6")
    if profil.inscription != "a_approuver":
        raise RuleViolation("Cette demande a déjà reçu une réponse ou son adresse e-mail n'est pas "
                            "encore confirmée.", "R-ACC-6")
    motif = (motif or "").strip() or None
    if not accept and not motif:
        raise RuleViolation("Indiquez la raison du refus.", "R-ACC-6", field="motif")
    user = profil.user
    profil.inscription = "approuvee" if accept else "refusee"
    profil.inscription_decide_le, profil.inscription_decide_par_id = utcnow(), p.user_id
    profil.inscription_motif = motif
    if accept:
        user.active = True
        user.roles = [current_app.appbuilder.sm.find_role(roles.role_name("employeur"))]
        _join_branch(profil.entreprise, perimeter.secretariat_dispositif(p))
    send_mail(user.email, "inscription_acceptee" if accept else "inscription_refusee", user=user,
              entreprise=profil.entreprise, motif=motif)
    return profil


def _join_branch(entreprise, dispositif_id) -> None:
    """The secretariat that opens an employer account vouches for the company's branch: its
    dispositif, when employers create its dossiers, is added to the company's (R-DIS-2), so
    that the creation form offers that dispositif's certifications."""
    dispositif = db.session.get(Dispositif, dispositif_id) if dispositif_id else None
    if dispositif is not None and dispositif.allows_creator("employeur") \
            and dispositif not in entreprise.dispositifs:
        entreprise.dispositifs.append(dispositif)


def set_actif(p: Perimetre, structure, actif: bool):
    """R-ACC-3: only the certifier switches an organisme or établissement Actif ↔ Inactif."""
    if p.role not in ("secretariat", "admin"):
        raise RuleViolation("Seul le certificateur peut activer ou désactiver une structure.", "R-ACC-3")
    structure.actif = bool(actif)


def ensure_can_operate(etablissement) -> None:
    """R-ACC-3/4: an inactive structure, or an organisme without établissement, cannot work."""
    if etablissement is None:
        raise RuleViolation("Un organisme sans établissement ne peut enregistrer ni candidature ni "
                            "formation, ni envoyer de dossier en certification.", "R-ACC-4")
    if not etablissement.actif:
        raise RuleViolation("Cet établissement est inactif : il ne peut plus enregistrer de "
                            "candidatures ni compléter de dossiers.", "R-ACC-3")
    if not etablissement.organisme.actif:
        raise RuleViolation("Cet organisme est inactif : il ne peut plus enregistrer de "
                            "candidatures ni compléter de dossiers.", "R-ACC-3")


def update_user(p: Perimetre, profil: Profil, *, prenom, nom, email, role, telephone=None,
                organisation=None, **perimetre_ids):
    """Change a user's identity, role or perimeter, under the same ceiling (R-ACC-1)."""
    if profil.user_id == p.user_id and role != profil.role:
        raise RuleViolation("Vous ne pouvez pas changer votre propre rôle.", "R-ACC-1", field="role")
    email = (email or "").strip().lower()
    clash = db.session.query(User.id).filter(User.email == email, User.id != profil.user_id).first()
    if clash:
        raise RuleViolation("Un compte existe déjà avec cette adresse e-mail.", field="email")
    # The ceiling applies to the role the user has now too: nobody edits a superior.
    if RANG.get(profil.role, 0) > max((RANG[r] for r in assignable_roles(p)), default=-1):
        raise RuleViolation("Vous ne pouvez pas modifier un utilisateur de rôle supérieur au vôtre.", "R-ACC-1")
    profil.role = role
    for key, value in perimetre_ids.items():
        if key.endswith("_id"):
            setattr(profil, key, value)
            setattr(profil, key[:-3], None)
    _load_targets(profil)
    check_assignment(p, profil)
    profil.telephone, profil.organisation = telephone, organisation
    user = profil.user
    user.first_name, user.last_name, user.email = prenom.strip(), nom.strip(), email
    user.roles = [current_app.appbuilder.sm.find_role(roles.role_name(role))]


def toggle_active(p: Perimetre, profil: Profil):
    if not profil.approuve:
        raise RuleViolation("Ce compte attend l'approbation de sa demande : approuvez-la ou "
                            "refusez-la.", "R-ACC-6")
    if profil.user_id == p.user_id:
        raise RuleViolation("Vous ne pouvez pas désactiver votre propre compte.")
    if RANG.get(profil.role, 0) > max((RANG[r] for r in assignable_roles(p)), default=-1):
        raise RuleViolation("Vous ne pouvez pas modifier un utilisateur de rôle supérieur au vôtre.", "R-ACC-1")
    profil.user.active = not profil.user.active
