"""A serving container of one's own, as the README runs it (`strata images add … -- python3 examples/serve.py`).

The SageMaker serving contract with nothing but the standard library: GET /ping answers 200 once
the model is loaded, POST /invocations answers each CSV row, on the port SAGEMAKER_BIND_TO_PORT
names; the model's files are in SM_MODEL_DIR (what model.tar.gz held). The model is what
examples/train.py saves (`algo-1.json`: the mean of each column); each answer is how far a row
is from those means."""
import glob
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

models = sorted(glob.glob(os.path.join(os.environ.get("SM_MODEL_DIR", "/opt/ml/model"), "*.json")))
means = json.load(open(models[0]))["means"] if models else []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(200 if self.path == "/ping" else 404, b"")

    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path != "/invocations":
            return self.reply(404, b"")
        try:
            rows = [[float(v) for v in line.split(",")] for line in payload.splitlines() if line.strip()]
        except ValueError as e:
            # A 4xx or 5xx from the container is the ModelError InvokeEndpoint answers with.
            return self.reply(400, json.dumps({"error": f"not a CSV row of numbers: {e}"}).encode())
        distances = [sum((a - b) ** 2 for a, b in zip(row, means)) ** 0.5 for row in rows]
        self.reply(200, json.dumps({"distances": distances}).encode())

    def log_message(self, format, *args):
        print(format % args, flush=True)


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))), Handler).serve_forever()
