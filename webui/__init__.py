"""The govflow web app: Flask application factory."""

from __future__ import annotations

from flask import Flask, render_template


def create_app(engine=None, config: dict | None = None) -> Flask:
    """Build the app around a process engine (created from GOVFLOW_DATABASE_URL when not given)."""
    app = Flask(__name__)
    app.config.update(config or {})
    if engine is None:
        from engine.process_engine import ProcessEngine

        engine = ProcessEngine(app.config.get("DATABASE_URL"))
    app.extensions["govflow"] = engine

    @app.get("/")
    def index():
        return render_template("index.html", processes=engine.repository.list())

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
