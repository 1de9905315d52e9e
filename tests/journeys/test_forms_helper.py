"""The form helper refuses what the page does not offer (so journey tests cannot post hidden
fields by mistake) and sends what the page does."""
import pytest

from tests.journeys.forms import FormError, open_page


def test_login_form_as_rendered(client, make):
    user = make.user("secretariat", dispositif=make.ref["CLEA"])
    page = open_page(client, "/login/")
    form = page.form(has="username")
    assert "csrf_token" in form.names()
    with pytest.raises(FormError):
        form.fill(role="admin")
    form.fill(username=user.username, password=make.PASSWORD)
    r = form.submit()
    assert r.status_code == 302 and "/login" not in r.headers["Location"]


def test_post_without_the_token_is_refused(client, make):
    user = make.user("secretariat", dispositif=make.ref["CLEA"])
    r = client.post("/login/", data={"username": user.username, "password": make.PASSWORD})
    assert r.status_code == 400
