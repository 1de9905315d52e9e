"""Home page: the user's starting point; and the public accessibility statement."""
from flask import current_app, redirect
from flask_appbuilder import IndexView, expose
from flask_login import current_user


class HomeView(IndexView):
    index_template = "opencertif/index.html"

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        from app.views.dashboard_context import dashboard_context
        return self.render_template(self.index_template, **dashboard_context())

    @expose("/accessibilite")
    def accessibilite(self):
        """Déclaration d'accessibilité (RGAA 4.1), public: linked from every page's footer, signed
        in or not. The contact is the platform's (config OC_CONTACT_ACCESSIBILITE)."""
        contact = current_app.config.get("OC_CONTACT_ACCESSIBILITE")
        return self.render_template("opencertif/accessibilite.html", contact=contact)
