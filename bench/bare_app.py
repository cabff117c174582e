"""The baseline for bench/ingest.py: the smallest Flask JSON endpoint, under the same gunicorn."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/webhooks/jira")
def bare() -> object:
    request.get_data()
    return jsonify({"status": "queued"})
