# examples/gunicorn/app.py — a Flask app served by gunicorn as an `exec` vassal. Nothing here
# knows about the emperor: gunicorn finds the listening socket the emperor hands it through
# systemd socket activation (LISTEN_FDS / LISTEN_PID, fd 3).
import os

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(framework="flask", vassal=os.environ.get("VASSAL_NAME"), pid=os.getpid())


# a JSON POST route: echoes the parsed body back
@app.post("/echo")
def echo():
    return jsonify(framework="flask", received=request.get_json(), pid=os.getpid()), 201
