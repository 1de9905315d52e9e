"""All models, imported here so that Model.metadata knows every table."""
import importlib
import pkgutil

from .base import Model  # noqa: F401


def _import_all():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

from .comptes import (CodeSecours, DoubleFacteur, ExigenceDoubleFacteur,  # noqa: E402,F401
                      JournalDoubleFacteur, Profil)
from .notification import MailMessage, Notification  # noqa: E402,F401
from .referentiel import Bloc, Certification, Competence, Dispositif, Passerelle  # noqa: E402,F401
from .structures import Entreprise, Etablissement, Organisme, Reseau  # noqa: E402,F401
