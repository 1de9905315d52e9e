"""Review of the structure, account and habilitation screens (issue 16, demo walk in Chromium):
what a menu or a list offers opens, forms fit the person filling them, no raw code or rule id."""
import pytest

from tests.conftest import login
from tests.test_french import (
    DEMO_PASSWORD,
    demo,  # noqa: F401 - fixture
    read,
)


def _links(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    return read(page.get_data(as_text=True))[1]


@pytest.mark.parametrize("username", ["admin.etablissement", "utilisateur.organisme"])
def test_jurys_menu_only_for_those_who_read_juries(app, demo, username):  # noqa: F811
    """The item « Jurys » shared its name with its category, shown for the calendar: the OF roles
    saw it and got « Accès refusé ». They keep the calendar of the next juries."""
    client = login(app.test_client(), username, DEMO_PASSWORD)
    links = _links(client, "/")
    assert "/jurys/list/" not in links
    assert any(link.startswith("/jurys-calendrier/") for link in links), links
    assert client.get("/jurys/list/").status_code == 403
    secretariat = login(app.test_client(), "secretariat.chimie", DEMO_PASSWORD)
    assert "/jurys/list/" in _links(secretariat, "/")
