"""All models, imported here so that Model.metadata knows every table."""
import importlib
import pkgutil

from .base import Model  # noqa: F401


def _import_all():
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

from .comptes import CodeSecours, DoubleFacteur, ExigenceDoubleFacteur, JournalDoubleFacteur, Profil  # noqa: F401
from .notification import MailMessage, Notification  # noqa: F401
from .referentiel import Bloc, Certification, Competence, Dispositif, Passerelle  # noqa: F401
from .structures import Entreprise, Etablissement, Organisme, Reseau  # noqa: F401
