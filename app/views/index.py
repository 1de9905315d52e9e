"""Home page: the user's starting point."""
from flask import redirect
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
