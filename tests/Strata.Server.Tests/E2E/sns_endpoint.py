"""What an SNS subscriber runs, shared by the scripts that subscribe one: an HTTP(S) endpoint that
records what SNS posts, AWS's documented verification of a message's signature, and the
subscription handshake through the SubscribeURL."""
import base64
import http.server
import json
import os
import queue
import ssl
import subprocess
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from harness import eq


class Endpoint:
    """An HTTP(S) server that records what SNS (or an EventBridge API destination) posts, and the
    paths posted to; answers with queued statuses (200 when none), and holds a request while `hold` is set."""
    def __init__(self, tls=False):
        self.received = queue.Queue()
        self.statuses = []
        self.paths = []
        self.hold = None
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                owner.paths.append(self.path)
                owner.received.put(({k.lower(): v for k, v in self.headers.items()}, body))
                status = owner.statuses.pop(0) if owner.statuses else 200
                hold = owner.hold
                if hold is not None:
                    hold.wait(60)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self_signed())
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_address[1]}/sns"

    def next(self, timeout=15):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing arrived at {self.url} within {timeout} s; queued: {pending_deliveries()}") from None

    def nothing(self, wait=1.0):
        try:
            got = self.received.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected delivery to {self.url}: {got}")


def pending_deliveries():
    """What the server still has queued (its state database), to say why something did not arrive."""
    import sqlite3
    try:
        db = sqlite3.connect(f"file:{os.environ['STRATA_DATA_DIR']}/state.db?mode=ro", uri=True)
        rows = db.execute("SELECT key, value FROM kv WHERE tbl = 'sns-deliveries'").fetchall()
        return [(k, {f: json.loads(v).get(f) for f in ("Endpoint", "Attempts", "DueAt", "MessageType")}) for k, v in rows]
    except Exception as e:  # noqa: BLE001 - a diagnostic only
        return repr(e)


_CERT = None


def self_signed():
    global _CERT
    if _CERT is None:
        d = tempfile.mkdtemp()
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=localhost"], check=True, capture_output=True)
        _CERT = (cert, key)
    return _CERT


# ---- AWS's verification of a message's signature ----

def verify(message):
    """"Verifying the signatures of Amazon SNS messages": fetch the certificate, rebuild the
    canonical string from the message's fields, check the RSA signature (SHA256 for version 2)."""
    with urllib.request.urlopen(message["SigningCertURL"]) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    if message["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)
    digest = hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(base64.b64decode(message["Signature"]), text.encode(), padding.PKCS1v15(), digest)
    # A message changed in transit no longer verifies.
    try:
        cert.public_key().verify(base64.b64decode(message["Signature"]), text.replace("Type\n", "Type\nX").encode(), padding.PKCS1v15(), digest)
    except Exception:  # noqa: BLE001 - InvalidSignature is what is expected
        return
    raise AssertionError("a tampered message verified")


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def subscribe_confirmed(sns, topic, ep, protocol="http", **attributes):
    """Subscribes `ep`, checks the SubscriptionConfirmation it gets, confirms through its
    SubscribeURL (unsigned GET) and returns the subscription's ARN."""
    kw = {"Attributes": attributes} if attributes else {}
    eq(sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=ep.url, **kw)["SubscriptionArn"], "pending confirmation", "before confirmation")
    headers, body = ep.next()
    message = json.loads(body)
    eq(headers["x-amz-sns-message-type"], "SubscriptionConfirmation", "type header")
    eq(headers["x-amz-sns-topic-arn"], topic, "topic header")
    eq(headers["x-amz-sns-message-id"], message["MessageId"], "message id header")
    assert headers["content-type"].startswith("text/plain; charset=") and "utf-8" in headers["content-type"].lower(), headers["content-type"]
    eq(list(message), ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp", "SignatureVersion", "Signature",
                       "SigningCertURL"], "fields in AWS's order")
    eq(message["Type"], "SubscriptionConfirmation", "type")
    eq(message["SignatureVersion"], "2", "signature version")
    verify(message)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(message["SubscribeURL"]).query)
    eq(query["Action"], ["ConfirmSubscription"], "action")
    eq(query["TopicArn"], [topic], "topic")
    eq(query["Token"], [message["Token"]], "token")
    status, text = fetch(message["SubscribeURL"])
    eq(status, 200, "confirming through the SubscribeURL: " + text)
    assert "<ConfirmSubscriptionResponse" in text and "<SubscriptionArn>" in text, text
    arn = text.split("<SubscriptionArn>")[1].split("</SubscriptionArn>")[0]
    assert arn.startswith(topic + ":"), arn
    return arn
