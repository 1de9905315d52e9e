"""FAB security manager: login hooks, rate limits on every way to log in, built-in roles."""
import logging

from flask import current_app
from flask_appbuilder.security.sqla.manager import SecurityManager
from sqlalchemy import orm

from app.security.admin_views import NoPasswordByOthers, OcRoleView, OcUserView
from app.security.totp_login import SecurityApi, TotpAuthDBView

log = logging.getLogger(__name__)


class OpenCertifSecurityManager(SecurityManager):
    # Logout by POST only and the second factor between the password and the session (issue 14);
    # failures-only login limit, username kept on a refusal (issue 16).
    authdbview = TotpAuthDBView
    security_api = SecurityApi  # no JWT by password alone for an account with TOTP
    # FAB's security screens (technical administrator only, issue 16): users read-only with no
    # password set by a third party, roles by name and purpose (app/security/admin_views.py);
    # no statistics chart (it loads Google Charts from the Internet).
    userdbmodelview = OcUserView
    rolemodelview = OcRoleView
    userstatschartview = None
    resetpasswordview = NoPasswordByOthers
    # Menu items FAB always adds but that mean nothing here: groups are unused and roles are code.
    HIDDEN_SECURITY_ITEMS = ("List Groups", "Base Permissions", "Views/Menus",
                             "Permission on Views/Menus")

    def register_views(self):
        super().register_views()
        security = self.appbuilder.menu.find("Security")
        if security is not None:
            security.childs = [item for item in security.childs
                               if item.name not in self.HIDDEN_SECURITY_ITEMS]
            for item in security.childs:
                if item.name == "List Users":  # not a second « Utilisateurs » beside Comptes'
                    item.label = OcUserView.list_title
            while security.childs and security.childs[-1].name == "-":
                security.childs.pop()
        for view in self.appbuilder.baseviews:
            if view.__class__.__name__ in ("UserGroupModelView", "PermissionModelView",
                                           "ViewMenuModelView", "PermissionViewModelView"):
                view.base_permissions = []  # their pages answer 403 like any hidden page

    @property
    def is_auth_limited(self) -> bool:
        """FAB would count every POST of the login form, successes included, per address: a jury
        room sharing one address locks itself out. The form's limit is set in limit_api_login."""
        return False

    @property
    def current_user(self):
        """The request's user whatever carries it (session, JWT, API key): FAB's own property
        raises for a request whose JWT was not verified yet (app/security/request_auth.py)."""
        from app.security.request_auth import request_user
        return request_user()

    def on_user_login_failed(self, user) -> None:
        log.warning("Échec de connexion pour %s", getattr(user, "username", user))

    def get_user_by_id(self, pk):
        """The user of each request, with its roles and groups in the same statement (FAB reads
        them lazily: two more round trips on every page, issue 9)."""
        user = self.user_model
        return self.session.get(user, pk, options=[orm.joinedload(user.roles),
                                                   orm.joinedload(user.groups)])

    def install_roles(self, builtin: dict) -> None:
        """Declare the roles of app/security/roles.py as FAB built-in roles (checked in memory)."""
        self._builtin_roles = {**builtin, self.auth_role_admin: [[".*", ".*"]]}
        self._menu_follows_read()

    def _menu_follows_read(self) -> None:
        """FAB checks a category and an item by name in one `menu_access` namespace: the item
        « Jurys » of the category « Jurys » showed to every role that sees the category (for its
        calendar) and opened a 403. An item also needs its view's area readable, the rule
        app/security/roles.builtin_roles grants menus by."""
        def guard(item):
            area, cond = item.baseview.class_permission_name, item.cond
            item.cond = lambda: self.has_access("can_read", area) and (cond is None or cond())
            item.oc_guarded = True

        for top in self.appbuilder.menu.get_list():
            for item in top.childs or [top]:
                if getattr(item, "baseview", None) is not None and not getattr(
                        item, "oc_guarded", False):
                    guard(item)

    def create_role_rows(self) -> None:
        """The role rows users point to (flask seed); their permissions stay in code."""
        for name in self._builtin_roles:
            if self.find_role(name) is None:
                self.add_role(name)

    def limit_api_login(self) -> None:
        """The REST login gets FAB's limit per address; the web form counts only its failures: per
        address here (LOGIN_FAILURES_PER_IP), per account and address and per account in
        app/security/login.py."""
        config = current_app.config
        if not (config.get("AUTH_RATE_LIMITED") and config.get("RATELIMIT_ENABLED")):
            return
        from flask import g
        self.limiter.limit(config.get("LOGIN_FAILURES_PER_IP", "50 per 5 minute"), methods=["POST"],
                           deduct_when=lambda response: bool(g.get("oc_login_failed")))(
            self.auth_view.blueprint)
        for view in self.appbuilder.baseviews:
            if isinstance(view, SecurityApi):
                self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)
