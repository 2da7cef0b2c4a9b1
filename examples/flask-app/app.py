"""A small web app that counts its visits in SQLite through Flask-SQLAlchemy.

Set DATABASE_URL to use another database, for example
mysql+pymysql://user:password@db/visits with a MySQL server.
"""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///visits.db")
db = SQLAlchemy(app)


class Counter(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    visits = db.Column(db.Integer, nullable=False, default=0)


with app.app_context():
    db.create_all()


@app.route("/")
def index():
    counter = db.session.get(Counter, 1)
    if counter is None:
        counter = Counter(id=1, visits=0)
        db.session.add(counter)
    counter.visits += 1
    db.session.commit()
    times = "time" if counter.visits == 1 else "times"
    return f"Hello from kiln! This page has been visited {counter.visits} {times}.\n"
