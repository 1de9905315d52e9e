"""Extension objects shared by the whole application (initialised in create_app)."""
from flask_appbuilder import Model
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

# FAB's declarative Model carries its own metadata: Flask-SQLAlchemy and Alembic must use it.
db = SQLAlchemy(metadata=Model.metadata)
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
