"""The app starts, the French login page answers, demo-like accounts reach their pages."""


def test_login_page_is_french(client):  # R-FMT-4
    r = client.get("/login/")
    assert r.status_code == 200
    assert "Connexion à OpenCertif" in r.get_data(as_text=True)
    assert "Mot de passe oublié" in r.get_data(as_text=True)


def test_home_after_login(make, login_as):
    user = make.user("secretariat")
    c = login_as(user)
    r = c.get("/")
    assert r.status_code == 200
    assert "Bonjour" in r.get_data(as_text=True)
