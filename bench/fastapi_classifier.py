"""The server a Python user would write instead of Strata, for the InvokeEndpoint benchmark:
FastAPI + uvicorn + numpy (Debian's python3-fastapi, python3-uvicorn, python3-numpy), serving the
same classifier as models/classifier (linear scores, softmax, labels) on POST /invocations.

  /usr/bin/python3 bench/fastapi_classifier.py PORT
"""
import sys

import numpy as np
import uvicorn
from fastapi import FastAPI, Request

LABELS = ["setosa", "versicolor", "virginica"]
# The coefficients and intercepts of models/generate.py's LinearClassifier.
W = np.array([[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, -1.0], [-1.0, -1.0, 1.0, 1.0]], dtype=np.float32)
B = np.array([0.5, 0.0, -0.5], dtype=np.float32)

app = FastAPI()


@app.get("/ping")
def ping():
    return {}


@app.post("/invocations")
async def invocations(request: Request):
    body = await request.json()
    x = np.asarray(body["instances"] if isinstance(body, dict) else body, dtype=np.float32)
    scores = x @ W.T + B
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return {"predictions": [
        {"label": LABELS[int(row.argmax())], "probabilities": {label: float(v) for label, v in zip(LABELS, row)}} for row in p]}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
