"""Seed the PostgreSQL database `opencertif_bench` at national scale with set-based SQL.

Usage: python -m bench.seed [--scale 0.01] [--url postgresql://…/opencertif_bench]
Scale 1 = 1,000,000 candidatures, 10,000 établissements, 200,000 users, 5,000 juries.
The schema comes from `flask db upgrade` and the referentiels from `flask seed` (subprocesses),
then every bulk table is filled by INSERT … SELECT FROM generate_series (no ORM, no row loop).
"""
import argparse
import os
import subprocess
import sys
import time

import psycopg
from werkzeug.security import generate_password_hash

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/opencertif_bench"
PASSWORD = "Bench-OpenCertif-2026!"
FULL = {"candidatures": 1_000_000, "etablissements": 10_000, "users": 200_000, "juries": 5_000}
BIG_JURY = 500  # R-JUR: the jury whose decision sheet is measured (jury 1, still open)
CLOSED_JURY = 4  # a closed CHIMIE jury: its PV and 500 certificates are measured

# Statuses each scheme's dossiers may hold (app/workflow/dossier/candidatures.py WORKFLOWS), no abandon
# (that would need abandon_motif/abandonne_le, ck_candidature_abandon).
STATUTS = {
    "CHIMIE": ["en_cours_inscription", "en_attente_evaluation", "en_attente_jury", "valide",
               "partiel", "non_valide"],
    "CLEA": ["en_attente_evaluation_prealable", "en_attente_evaluation_finale",
             "en_attente_envoi_certification", "en_attente_jury", "certifiee", "non_certifiee"],
    "METALLURGIE": ["inscription", "evaluation", "en_attente_jury", "admis", "non_admis"],
}
NOMS = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
        "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
        "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
        "Müller", "Lefebvre", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier",
        "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin",
        "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
        "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
        "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
        "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin",
        "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas",
        "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc",
        "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "D'Almeida",
        "Le Gall", "Saint-Martin"]
PRENOMS = ["Jean", "Marie", "Pierre", "Nathalie", "Michel", "Isabelle", "Philippe", "Sylvie",
           "Alain", "Catherine", "Nicolas", "Françoise", "Christophe", "Sandrine", "Stéphane",
           "Céline", "Julien", "Émilie", "Sébastien", "Aurélie", "Thomas", "Camille", "Léa",
           "Hélène", "Jérôme", "Zoé", "Chloé", "Inès", "Noé", "Anaïs", "Jean-Pierre", "Marie-Ève"]

# SQL twin of app.models.candidature.cle(): strip accents, upper case, non-alphanumerics to
# single spaces, trimmed. Only the characters present in the lists above need mapping here.
ACCENTS = ("ÀÂÄÁÃÇÉÈÊËÍÎÏÓÔÖÕÚÙÛÜŸÑ", "AAAAACEEEEIIIOOOOUUUUYN")


def cle_sql(expr: str) -> str:
    return (f"btrim(regexp_replace(translate(upper({expr}), '{ACCENTS[0]}', '{ACCENTS[1]}'), "
            f"'[^A-Z0-9]+', ' ', 'g'))")


def sizes(scale: float) -> dict:
    out = {k: max(1, int(v * scale)) for k, v in FULL.items()}
    out["etablissements"] = max(out["etablissements"], 10)
    out["users"] = max(out["users"], 100)
    out["juries"] = max(out["juries"], 2)
    out["candidatures"] = max(out["candidatures"], 5 * BIG_JURY)
    return out


def flask(url: str, *args):
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="run.py")
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), *args], env=env,
                   check=True, stdout=subprocess.DEVNULL)


def recreate_database(url: str):
    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def arr(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def statements(n: dict, pw_hash: str) -> list[tuple[str, str]]:
    ne, nu, nc, nj = n["etablissements"], n["users"], n["candidatures"], n["juries"]
    norg = max(1, ne // 5)
    nres = max(1, ne // 200)
    noms, prenoms = arr(NOMS), arr(PRENOMS)
    # statut per dispositif: one CASE over the three schemes' lists; g / 3 walks each scheme's
    # own dossiers (g % 3 picks the scheme) so every status of every scheme gets its share
    statut_case = "CASE d.code " + " ".join(
        f"WHEN '{code}' THEN ({arr(vals)})[1 + (g / 3) % {len(vals)}]"
        for code, vals in STATUTS.items()) + " END"
    return [
        ("reseaux", f"""
INSERT INTO reseau (nom, national, notifier_candidatures, created_on)
SELECT 'Réseau ' || g, g % 4 = 0, false, now() FROM generate_series(1, {nres}) g"""),
        ("organismes", f"""
INSERT INTO organisme (reseau_id, nom, siren, actif, created_on)
SELECT 1 + g % {nres}, 'ORGANISME ' || g, lpad(g::text, 9, '0'), true, now()
FROM generate_series(1, {norg}) g"""),
        ("etablissements", f"""
INSERT INTO etablissement (organisme_id, libelle, nom, siret, code_postal, ville, region, actif,
                           created_on)
SELECT 1 + g % {norg}, 'Site ' || g, 'ORGANISME ' || (1 + g % {norg}) || ' Site ' || g,
       lpad((1 + g % {norg})::text, 9, '0') || lpad(g::text, 5, '0'),
       lpad((1000 + g % 95000)::text, 5, '0'), 'Ville ' || (g % 3000),
       (ARRAY['Île-de-France','Grand Est','Occitanie','Bretagne','Normandie','Hauts-de-France',
              'Nouvelle-Aquitaine','Auvergne-Rhône-Alpes'])[1 + g % 8], true, now()
FROM generate_series(1, {ne}) g"""),
        # Users: three named accounts first (bench_secretariat, bench_etablissement,
        # bench_manager), then établissement users, evaluators and jury members.
        ("users", f"""
INSERT INTO ab_user (first_name, last_name, username, password, active, email, login_count,
                     fail_login_count, created_on, changed_on)
SELECT 'Prénom' || g, 'Nom' || g,
       CASE g WHEN 1 THEN 'bench_secretariat' WHEN 2 THEN 'bench_etablissement'
              WHEN 3 THEN 'bench_manager' ELSE 'user' || g END,
       '{pw_hash}', true, 'user' || g || '@bench.invalid', 0, 0, now(), now()
FROM generate_series(1, {nu}) g"""),
        ("profils", f"""
INSERT INTO profil (user_id, role, dispositif_id, etablissement_id, token_nonce, created_on)
SELECT u.id, r.role,
       CASE WHEN r.role IN ('secretariat','manager','evaluateur','jury')
            THEN (SELECT id FROM dispositif WHERE code = 'CHIMIE') END,
       CASE WHEN r.role LIKE '%etablissement' THEN
            CASE WHEN u.id = 2 THEN 1 ELSE 1 + u.id % {ne} END END,
       md5(u.id::text)::varchar(16), now()
FROM ab_user u
CROSS JOIN LATERAL (SELECT CASE
    WHEN u.id = 1 THEN 'secretariat' WHEN u.id = 2 THEN 'utilisateur_etablissement'
    WHEN u.id = 3 THEN 'manager' WHEN u.id % 10 = 0 THEN 'evaluateur'
    WHEN u.id % 10 = 1 THEN 'jury' WHEN u.id % 10 = 2 THEN 'admin_etablissement'
    ELSE 'utilisateur_etablissement' END AS role) r"""),
        ("user roles", """
INSERT INTO ab_user_role (user_id, role_id)
SELECT p.user_id, ro.id FROM profil p JOIN ab_role ro ON ro.name = CASE p.role
    WHEN 'secretariat' THEN 'Secrétariat' WHEN 'manager' THEN 'Manager / observatoire'
    WHEN 'evaluateur' THEN 'Évaluateur habilité' WHEN 'jury' THEN 'Membre de jury'
    WHEN 'admin_etablissement' THEN 'Administrateur établissement'
    ELSE 'Utilisateur établissement' END"""),
        ("candidats", f"""
INSERT INTO candidat (civilite, nom_naissance, nom_usage, prenom, date_naissance, ne_etranger,
                      ne_outre_mer, ville_naissance, code_postal_naissance, pays_naissance,
                      email, pays, cle_nom, cle_nom_usage, cle_prenom, created_on)
SELECT civ, nom, NULL, prenom, date '1960-01-01' + (g * 37) % 15000, false, false,
       'Ville ' || (g % 3000), lpad((1000 + g % 95000)::text, 5, '0'), 'France',
       'candidat' || g || '@bench.invalid', 'France',
       {cle_sql('nom')}, NULL, {cle_sql('prenom')}, now() - (g % 1500) * interval '1 day'
FROM (SELECT g, CASE WHEN g % 2 = 0 THEN 'M' ELSE 'MME' END AS civ,
             ({noms})[1 + (g * 13) % {len(NOMS)}] || CASE WHEN g % 3 = 0 THEN '' ELSE ' ' || (g % 997) END AS nom,
             ({prenoms})[1 + (g * 7) % {len(PRENOMS)}] AS prenom
      FROM generate_series(1, {nc}) g) s"""),
        # Candidatures: one per candidat; 2 % held by établissement 1 (the bench établissement
        # user), the rest spread; dispositif by g % 3 with a certification of that scheme.
        ("candidatures", f"""
WITH certs AS (SELECT dispositif_id, array_agg(id ORDER BY id) ids FROM certification
               GROUP BY dispositif_id)
INSERT INTO candidature (numero, created_on, updated_on, candidat_id, dispositif_id,
    certification_id, etablissement_id, organisme_id, reseau_id, createur_id, createur_type,
    statut_inscription, origine, niveau_formation, socle_contextualise, initiative_salarie,
    vae, statut, abandon_auto, vae_alertes)
SELECT d.code || '-' || to_char(ts, 'YYYY') || '-' || lpad(g::text, 7, '0'), ts, ts, g, d.id,
       c.ids[1 + g % array_length(c.ids, 1)], e.id, e.organisme_id, o.reseau_id, NULL,
       'etablissement', CASE WHEN g % 4 = 0 THEN 'demandeur_emploi' ELSE 'salarie' END,
       CASE WHEN g % 4 = 0 THEN 'DE' ELSE 'SL' END, 1 + g % 8, false, false, false,
       {statut_case}, false, ''
FROM (SELECT g, timestamp '2021-01-01' + (g * interval '1 minute') * (2000000.0 / {nc}) AS ts,
             CASE WHEN g % 50 = 0 THEN 1 ELSE 1 + g % {ne} END AS etab,
             (ARRAY['CHIMIE','CLEA','METALLURGIE'])[1 + g % 3] AS dcode
      FROM generate_series(1, {nc}) g) s
JOIN dispositif d ON d.code = s.dcode
JOIN certs c ON c.dispositif_id = d.id
JOIN etablissement e ON e.id = s.etab
JOIN organisme o ON o.id = e.organisme_id"""),
        ("historique", """
INSERT INTO historique (candidature_id, statut_avant, statut_apres, action, libelle, auteur,
                        created_on)
SELECT id, NULL, statut, 'creation', 'Création du dossier', 'Système', created_on
FROM candidature"""),
        ("jurys", f"""
INSERT INTO jury (dispositif_id, certificateur, region, libelle, date, lieu, modalite, capacite,
                  date_limite_inscription, etat, anonyme, created_on)
SELECT d.id, 'CPNE ' || d.code, NULL, 'Jury ' || g, date '2021-01-15' + g % 2000,
       'Lieu ' || g, 'presentiel', CASE WHEN g = 1 THEN {BIG_JURY} ELSE 40 END,
       date '2021-01-01' + g % 2000, 'planifie', false, now()
FROM generate_series(1, {nj}) g
JOIN dispositif d ON d.code = (ARRAY['CHIMIE','CLEA','METALLURGIE'])[1 + (g - 1) % 3]"""),
        # Jury 1 (CHIMIE) gets 500 CHIMIE dossiers waiting for the jury.
        ("inscriptions jury", f"""
INSERT INTO inscription_jury (jury_id, candidature_id, numero_anonyme, rang, etat, active,
                              inscrit_le, competences_acquises, blocs_acquis)
SELECT 1, id, row_number() OVER (ORDER BY id), row_number() OVER (ORDER BY id), 'inscrit',
       true, now(), '[]', '[]'
FROM (SELECT c.id FROM candidature c JOIN dispositif d ON d.id = c.dispositif_id
      WHERE d.code = 'CHIMIE' AND c.statut = 'en_attente_jury' ORDER BY c.id
      LIMIT {BIG_JURY}) s"""),
        # Jury 4 (CHIMIE) is closed with 500 published admissions and their attributions: the
        # PV and the 500 certificates are issued from it (bench.run).
        ("jury clos", f"""
WITH chosen AS (
  SELECT c.id, c.candidat_id, c.certification_id, row_number() OVER (ORDER BY c.id) AS n
  FROM candidature c JOIN dispositif d ON d.id = c.dispositif_id
  WHERE d.code = 'CHIMIE' AND c.statut = 'valide' ORDER BY c.id LIMIT {BIG_JURY}),
closed AS (
  UPDATE jury SET etat = 'clos', clos_le = now(), tenu_le = now(), capacite = {BIG_JURY}
  WHERE id = {CLOSED_JURY} RETURNING id),
president AS (
  INSERT INTO jury_membre (jury_id, nom, prenom, organisation, qualite, college, votant,
                           created_on)
  SELECT id, 'Durand', 'Claire', 'France Chimie', 'Présidente', 'president', true, now()
  FROM closed),
ins AS (
  INSERT INTO inscription_jury (jury_id, candidature_id, numero_anonyme, rang, etat, active,
                                inscrit_le, decision, competences_acquises, blocs_acquis,
                                decide_le, publiee_le)
  SELECT (SELECT id FROM closed), id, n, n, 'publie', true, now(), 'valide', '[]', '[]', now(),
         now() FROM chosen RETURNING id, candidature_id)
INSERT INTO attribution_certification (inscription_id, candidature_id, candidat_id, nature,
                                       certification_id, date_jury, created_on)
SELECT ins.id, chosen.id, chosen.candidat_id, 'certification', chosen.certification_id,
       current_date, now()
FROM ins JOIN chosen ON chosen.id = ins.candidature_id"""),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--repeat", type=int, default=0, help="ignored (bench.run option)")
    ap.add_argument("--keep", action="store_true", help="reuse an already seeded database")
    ap.add_argument("--sqlite", action="store_true",
                    help="also copy the seeded database into instance/bench.db (SQLite)")
    args, _ = ap.parse_known_args(argv)
    n = sizes(args.scale)
    if args.keep:
        print("Base conservée, pas de réensemencement.")
    else:
        seed(args, n)
    if args.sqlite:
        from bench.sqlite_copy import copy_to_sqlite
        copy_to_sqlite(args.url)


def seed(args, n):
    t0 = time.perf_counter()
    print(f"Ensemencement de {args.url} à l'échelle {args.scale}: {n}")
    recreate_database(args.url)
    flask(args.url, "db", "upgrade")
    flask(args.url, "seed")
    print(f"  schéma + référentiels: {time.perf_counter() - t0:.1f} s")
    pw_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    with psycopg.connect(args.url, autocommit=True) as conn:
        for label, sql in statements(n, pw_hash):
            t = time.perf_counter()
            conn.execute(sql)
            print(f"  {label:<20} {time.perf_counter() - t:7.1f} s")
    # Bulk SQL bypasses the ORM events that keep the status counters and the reports' step dates
    # (app/models/compteur.py, etapes.py): the application rebuilds them, then statistics.
    t = time.perf_counter()
    flask(args.url, "candidatures", "recompter")
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  {'compteurs, dates':<20} {time.perf_counter() - t:7.1f} s")
    print(f"Ensemencement terminé en {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
