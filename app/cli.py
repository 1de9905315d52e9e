"""flask commands: seed, demo, mail retry."""
import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db


def register_cli(app):
    @app.cli.command("seed")
    @with_appcontext
    def seed():
        """Create the role rows and load the referentials (idempotent)."""
        from app.seed_data.load import seed_referentiels
        current_app.appbuilder.sm.create_role_rows()
        seed_referentiels()
        click.echo("Rôles et référentiels chargés.")

    @app.cli.command("demo")
    @with_appcontext
    def demo():
        """Load the demo structures and one account per role (idempotent); prints the accounts."""
        from app.seed_data.demo import DEMO_PASSWORD, load_demo
        from app.seed_data.load import seed_referentiels
        current_app.appbuilder.sm.create_role_rows()
        seed_referentiels()
        accounts = load_demo()
        click.echo("\nComptes de démonstration (mot de passe commun : %s)" % DEMO_PASSWORD)
        for login, role, scope in accounts:
            click.echo(f"  {login:<28} {role:<30} {scope}")
        click.echo("")

    @app.cli.group("mail")
    def mail_group():
        """Outgoing e-mails."""

    @mail_group.command("retry")
    @with_appcontext
    def mail_retry():
        """Send again the messages that failed."""
        from app.workflow.mail import retry_failed
        click.echo(f"{retry_failed()} message(s) traité(s).")
        db.session.remove()
