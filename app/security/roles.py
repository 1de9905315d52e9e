"""Roles and their permissions, as data (DESIGN practice 6).

Views share a few permission areas (`class_permission_name`) and map their methods to `read`,
`write` or a named verb (`method_permission_name`). Each role below is a FAB built-in role
(`FAB_ROLES`): checks are regex matches in memory, with no permission query per page. Rows are
narrowed further by app/security/perimeter.py.
"""
import re

from app.models.comptes import ROLES

READ, WRITE = "read", "write"

# area -> what each role may do there. Named verbs are checked again by app/workflow.
GRANTS: dict[str, dict[str, list[str]]] = {
    "secretariat": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Dispositifs": [READ, WRITE], "Referentiel": [READ, WRITE],
        "Structures": [READ, WRITE, "activate"],
        # second_facteur: reset of the second factor of the dispositif's accounts (app/security/totp.py)
        "Comptes": [READ, WRITE, "api_keys", "second_facteur"],
        "Notifications": [READ, WRITE],
        "Habilitations": [READ, WRITE, "decide"], "EvaluateursHabilites": [READ, WRITE],
        "Candidatures": [READ, WRITE, "unlock", "decide_transfer"],
        "Evaluations": [READ, WRITE, "reopen"], "Jurys": [READ, WRITE, "deliberate"],
        "Documents": [READ, WRITE], "Statistiques": [READ], "Rapports": [READ],
        "DonneesPersonnelles": [READ, WRITE], "InscriptionsEmployeur": [READ, WRITE],
    },
    "manager": {
        "Dispositifs": [READ], "Referentiel": [READ], "Structures": [READ],
        "Notifications": [READ, WRITE], "Statistiques": [READ], "Rapports": [READ],
        "EvaluateursHabilites": [READ],
    },
    "admin_reseau": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Referentiel": [READ], "Structures": [READ, WRITE], "Comptes": [READ, WRITE],
        "Notifications": [READ, WRITE], "Habilitations": [READ, WRITE, "request"],
        "EvaluateursHabilites": [READ],
        "Candidatures": [READ, WRITE, "unlock"], "Evaluations": [READ, WRITE, "reopen"],
        "Documents": [READ], "Statistiques": [READ],
    },
    "superviseur_reseau": {
        "Referentiel": [READ], "Structures": [READ], "Comptes": [READ],
        "Notifications": [READ, WRITE], "Habilitations": [READ], "EvaluateursHabilites": [READ],
    },
    "admin_organisme": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Referentiel": [READ], "Structures": [READ, WRITE], "Comptes": [READ, WRITE],
        "Notifications": [READ, WRITE], "Habilitations": [READ, WRITE, "request"],
        "EvaluateursHabilites": [READ],
        "Candidatures": [READ, WRITE], "Evaluations": [READ, WRITE, "reopen"],
        "Documents": [READ], "Statistiques": [READ],
    },
    "utilisateur_organisme": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Referentiel": [READ], "Structures": [READ], "Notifications": [READ, WRITE],
        "Habilitations": [READ], "EvaluateursHabilites": [READ],
        "Candidatures": [READ, WRITE], "Evaluations": [READ, WRITE], "Documents": [READ],
    },
    "admin_etablissement": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Referentiel": [READ], "Structures": [READ, WRITE], "Comptes": [READ, WRITE],
        "Notifications": [READ, WRITE], "Habilitations": [READ, WRITE, "request"],
        "EvaluateursHabilites": [READ],
        "Candidatures": [READ, WRITE], "Evaluations": [READ, WRITE], "Documents": [READ],
    },
    "utilisateur_etablissement": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Referentiel": [READ], "Structures": [READ], "Notifications": [READ, WRITE],
        "Habilitations": [READ], "EvaluateursHabilites": [READ],
        "Candidatures": [READ, WRITE], "Evaluations": [READ, WRITE], "Documents": [READ],
    },
    "employeur": {
        "Imports": [READ, WRITE],  # bulk import (issue 18)
        "Referentiel": [READ], "Structures": [READ], "Notifications": [READ, WRITE],
        "EvaluateursHabilites": [READ],
        "Candidatures": [READ, WRITE], "Jurys": [READ], "Documents": [READ],
        "InscriptionsEmployeur": [READ, WRITE],  # requests of its own SIRET (issue 14)
    },
    "evaluateur": {
        "Referentiel": [READ], "Notifications": [READ, WRITE], "EvaluateursHabilites": [READ],
        "Candidatures": [READ], "Evaluations": [READ, WRITE],
    },
    "jury": {
        "Referentiel": [READ], "Notifications": [READ, WRITE],
        "Candidatures": [READ], "Jurys": [READ, "deliberate"], "Documents": [READ],
    },
}
# Pages every signed-in user has (own account, notifications bell).
COMMON = [("MonCompte", "read"), ("MonCompte", "write"),
          ("CalendrierJurys", "read")]  # R-JUR-1: last and next juries, for every role


def role_name(code: str) -> str:
    """The FAB role of a profile role: its French label."""
    return ROLES.label(code)


def allowed(role_code: str, area: str, perm: str) -> bool:
    if role_code == "admin":
        return True
    return perm in GRANTS.get(role_code, {}).get(area, [])


def builtin_roles(menu_areas: dict[str, str], categories: dict[str, list[str]]) -> dict:
    """FAB_ROLES for every role: its areas' permissions and the menus of readable areas.

    menu_areas: menu item name -> area of its view; categories: category -> its item names.
    """
    result = {}
    for code, areas in GRANTS.items():
        pvms = []
        grants = {**{a: list(p) for a, p in areas.items()}}
        for area, perm in COMMON:
            grants.setdefault(area, []).append(perm)
        for area, perms in grants.items():
            pvms.append([f"^{re.escape(area)}$", f"^can_({'|'.join(map(re.escape, perms))})$"])
        visible = {name for name, area in menu_areas.items() if READ in grants.get(area, [])}
        visible |= {cat for cat, items in categories.items() if visible & set(items)}
        if visible:
            names = "|".join(re.escape(n) for n in sorted(visible))
            pvms.append([f"^({names})$", "^menu_access$"])
        result[role_name(code)] = pvms
    return result
