"""flask commands: seed, demo, worker, mail retry."""
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
        click.echo(f"\nComptes de démonstration (mot de passe commun : {DEMO_PASSWORD})")
        for login, role, scope in accounts:
            click.echo(f"  {login:<28} {role:<30} {scope}")
        _demo_seals()
        click.echo("")

    @app.cli.command("worker")
    @click.argument("queues", nargs=-1)
    @click.option("--burst", is_flag=True, help="S'arrêter quand les files sont vides.")
    @click.option("--sans-fork", "no_fork", is_flag=True,
                  help="Exécuter les travaux dans ce processus (sans processus fils par travail).")
    def worker(queues, burst, no_fork):
        """Run the background jobs (RQ) with this application, built once: queues mail,
        documents, imports by priority unless named."""
        from app.jobs import QUEUES, run_worker
        unknown = set(queues) - set(QUEUES)
        if unknown:
            raise click.BadParameter(f"files inconnues : {', '.join(sorted(unknown))} "
                                     f"(files : {', '.join(QUEUES)})")
        try:
            run_worker(current_app._get_current_object(), queues or QUEUES, burst=burst,
                       fork=not no_fork)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc

    def _demo_seals():
        """A self-signed seal per dispositif without a configured one (issue 19)."""
        from app.reports.seal import write_demo_seals
        for code, path in write_demo_seals():
            click.echo(f"\nSceau de DÉMONSTRATION auto-signé pour {code} : {path}"
                       "\n  Il ne vaut que pour la démonstration : en production, configurez "
                       f"SEAL_{code}_P12 et SEAL_{code}_PASSWORD (voir le README).")

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

    @app.cli.group("habilitations")
    def habilitations_group():
        """Habilitations des établissements."""

    @habilitations_group.command("remind")
    @click.option("--date", "day", default=None, help="Date du jour (AAAA-MM-JJ), pour rejouer.")
    @with_appcontext
    def habilitations_remind(day):
        """Warn 60 and 15 days before an habilitation ends (daily; idempotent)."""
        import datetime as dt

        from app.workflow.habilitations import remind_expiring
        from app.workflow.mail import dispatch_pending
        today = dt.date.fromisoformat(day) if day else None
        click.echo(f"{remind_expiring(today)} rappel(s) envoyé(s).")
        dispatch_pending()
        db.session.remove()

    @app.cli.group("candidatures")
    def candidatures_group():
        """Dossiers de candidature."""

    @candidatures_group.command("abandon-stale")
    @click.option("--date", "day", default=None, help="Date du jour (AAAA-MM-JJ), pour rejouer.")
    @with_appcontext
    def candidatures_abandon_stale(day):
        """R-CAN-7: abandon the dossiers whose évaluation préalable is too old (daily; idempotent)."""
        import datetime as dt

        from app.workflow.dossier.abandons import abandon_stale
        from app.workflow.mail import dispatch_pending
        today = dt.date.fromisoformat(day) if day else None
        click.echo(f"{abandon_stale(today)} dossier(s) classé(s) abandonné(s).")
        dispatch_pending()
        db.session.remove()

    @candidatures_group.command("vae-alerts")
    @click.option("--date", "day", default=None, help="Date du jour (AAAA-MM-JJ), pour rejouer.")
    @with_appcontext
    def candidatures_vae_alerts(day):
        """R-CAN-8: warn of the VAE deadlines (recevabilité 2 months, jury 18 months); idempotent."""
        import datetime as dt

        from app.workflow.dossier.vae import send_vae_alerts
        from app.workflow.mail import dispatch_pending
        today = dt.date.fromisoformat(day) if day else None
        click.echo(f"{send_vae_alerts(today)} alerte(s) envoyée(s).")
        dispatch_pending()
        db.session.remove()

    @candidatures_group.command("recompter")
    @with_appcontext
    def candidatures_recount():
        """Rebuild the per-status counters and the step dates of the reports from their sources
        (after a change made in raw SQL)."""
        from app.models import etapes
        from app.models.compteur import recount
        rows = recount(db.session.connection())
        etapes.refresh(db.session.connection())
        db.session.commit()
        click.echo(f"Compteurs recalculés : {rows} ligne(s) ; dates d'étape des dossiers "
                   "recalculées.")

    @app.cli.command("purge")
    @click.option("--dry-run", is_flag=True, help="Lister ce qui serait supprimé, sans supprimer.")
    @click.option("--date", "day", default=None, help="Date du jour (AAAA-MM-JJ), pour rejouer.")
    @with_appcontext
    def purge_command(dry_run, day):
        """Apply the retention schedules (R-ARC-1…3); daily. Logs counts, never content."""
        import datetime as dt

        from app.workflow.conformite.retention import purge
        today = dt.date.fromisoformat(day) if day else None
        report = purge(today, dry_run=dry_run)
        db.session.commit()
        click.echo(report.text())
        db.session.remove()

    @app.cli.group("documents")
    def documents_group():
        """Issued documents (PV, certificates, letters)."""

    @documents_group.command("rappels-gtp")
    @click.option("--date", "day", default=None, help="Date du jour (AAAA-MM-JJ), pour rejouer.")
    @with_appcontext
    def documents_gtp_reminders(day):
        """R-DOC-3: remind the secretariat of the letters to the GTP due within 2 months; daily."""
        import datetime as dt

        from app.workflow.issued.batches import gtp_reminders
        today = dt.date.fromisoformat(day) if day else None
        n = gtp_reminders(today)
        db.session.commit()
        click.echo(f"{n} rappel(s) envoyé(s).")
        db.session.remove()

    @app.cli.group("imports")
    def imports_group():
        """Bulk imports (issue 18)."""

    @imports_group.command("reprendre")
    @click.argument("import_ids", nargs=-1, type=int)
    @with_appcontext
    def imports_resume(import_ids):
        """Queue again the imports left « En cours » by a dead worker (or in « Échec »), all or
        those named; each creates only the rows not created yet."""
        from app.imports.process import resume_stalled
        ids = resume_stalled(import_ids or None)
        click.echo(f"{len(ids)} import(s) repris : {', '.join(map(str, ids)) or '—'}.")
        db.session.remove()
