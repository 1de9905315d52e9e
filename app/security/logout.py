"""Logout by POST only (issue 14 point 5): a GET /logout/ from another site (an <img>, a link)
must not sign the user out. GET shows a page with the button; the POST carries the CSRF token."""
from flask import redirect, render_template
from flask_appbuilder import expose
from flask_appbuilder.security.views import AuthDBView
from flask_login import current_user


class PostLogoutAuthDBView(AuthDBView):
    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        from flask import request
        if request.method == "POST":
            return super().logout()
        if not current_user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_index)
        return render_template("appbuilder/logout.html", appbuilder=self.appbuilder,
                               base_template=self.appbuilder.base_template,
                               title="Se déconnecter")
