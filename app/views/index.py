"""Home page: the user's starting point; and the public accessibility statement."""
from flask import Response, current_app, redirect
from flask_appbuilder import IndexView, expose
from flask_login import current_user
from markupsafe import escape


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

    @expose("/favicon.ico")
    def favicon(self):
        """The tab's icon, in the platform's primary colour (browsers ask for it on every site)."""
        colour = current_app.config.get("OC_THEME", {}).get("primaire", "#1e4d78")
        initial = (current_app.config.get("APP_NAME") or "O")[:1].upper()
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
               f'<rect width="32" height="32" rx="6" fill="{colour}"/>'
               '<text x="16" y="23" font-family="sans-serif" font-size="20" font-weight="bold" '
               f'text-anchor="middle" fill="#fff">{escape(initial)}</text></svg>')
        return Response(svg, mimetype="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})
