"""Entry point: `flask --app app run`, `flask --app app seed-demo`, gunicorn 'app:app'."""
from practice import create_app

app = create_app()
