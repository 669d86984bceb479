"""A container of one's own, as a user would write it: the SageMaker serving contract
(GET /ping, POST /invocations on SAGEMAKER_BIND_TO_PORT) with nothing but the standard library."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    broken = False

    def reply(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(200 if self.path == "/ping" else 404, b"")

    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/invocations":
            return self.reply(404, b"")
        if payload in (b"break", b"mend"):
            # A model that starts failing (every request answered 500 until it is mended).
            Handler.broken = payload == b"break"
            return self.reply(200, json.dumps({"broken": Handler.broken}).encode())
        if payload == b"fail" or Handler.broken:
            return self.reply(500, b'{"error": "asked to fail"}')
        if self.headers.get("Content-Type") == "application/x-recordio":
            # RecordIO framing, as batch transform sends RecordIO records: answer with what arrived.
            import struct
            records, at = [], 0
            while at + 8 <= len(payload):
                magic, length = struct.unpack_from("<II", payload, at)
                assert magic == 0xced7230a, "not RecordIO"
                length &= (1 << 29) - 1
                records.append(payload[at + 8:at + 8 + length].decode())
                at += 8 + length + (4 - length % 4) % 4
            return self.reply(200, json.dumps({"records": records}).encode())
        if self.headers.get("Content-Type") == "application/x-length":
            # Says how much arrived (a large request answered with a small response).
            return self.reply(200, json.dumps({"length": len(payload)}).encode())
        if payload.startswith((b"bytes ", b"fail-bytes ", b"chunked ", b"endless", b"declare ")):
            return self.large(payload.decode())
        if payload.startswith((b"stream ", b"stream-break")):
            return self.stream(payload.decode())
        if payload.startswith(b"sleep "):
            # A request that takes its time, to hold a concurrency slot.
            import time
            time.sleep(float(payload[6:]))
            return self.reply(200, b'{"slept": true}')
        if payload.startswith(b"connect "):
            # What any code in the container could try: open a connection out.
            import socket
            host, port = payload[8:].decode().rsplit(":", 1)
            try:
                with socket.create_connection((host, int(port)), timeout=2):
                    outcome = "connected"
            except OSError as e:
                outcome = f"blocked: {e}"
            return self.reply(200, json.dumps({"outbound": outcome}).encode())
        if payload == b"hang":
            import time
            time.sleep(75)  # longer than the 60 s a container has to answer
        model_dir = os.environ["SM_MODEL_DIR"]
        self.reply(200, json.dumps({
            "echo": payload.decode(),
            "model_files": sorted(os.listdir(model_dir)),
            "greeting": os.environ.get("GREETING"),
        }).encode())

    def large(self, command):
        """Answers of any size: `bytes N` (with its Content-Length), `fail-bytes N` (the same, with
        status 500), `chunked N` (chunked, no length said), `endless` (chunked, never ending),
        `declare N` (a Content-Length of N, then 10 bytes and silence). The body is the digits
        0-9 over and over, so that what arrives can be checked byte for byte."""
        verb, _, count = command.partition(" ")
        pattern = b"0123456789" * 6554  # 65 540 bytes, a whole number of digit runs
        try:
            if verb in ("bytes", "fail-bytes", "declare"):
                n = int(count)
                self.send_response(500 if verb == "fail-bytes" else 200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                if verb == "declare":
                    import time
                    self.wfile.write(pattern[:10])
                    self.wfile.flush()
                    time.sleep(120)
                    return
                while n > 0:
                    self.wfile.write(pattern[:min(n, len(pattern))])
                    n -= min(n, len(pattern))
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            n = int(count) if verb == "chunked" else -1
            while n != 0:
                part = pattern if n < 0 else pattern[:min(n, len(pattern))]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                n = n if n < 0 else n - len(part)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            # The server stopped reading past what it takes, and closed the connection.
            self.close_connection = True

    def stream(self, command):
        """A response written piece by piece, as a model streams tokens: `stream N GATE` writes
        the line part-0 at once, then waits for the file GATE (the test makes it once it holds
        that first part) before the lines part-1 … part-(N-1); a gate that never comes makes the
        rest the line timed-out (so a server that held the first part back fails the test rather
        than hangs it). `stream-break` writes the line partial, then drops the connection mid-body."""
        import time
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        if command == "stream-break":
            chunk(b"partial\n")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        _, count, gate = command.split(" ", 2)
        chunk(b"part-0\n")
        deadline = time.time() + 30
        while not os.path.exists(gate) and time.time() < deadline:
            time.sleep(0.02)
        if not os.path.exists(gate):
            chunk(b"timed-out\n")
        else:
            for i in range(1, int(count)):
                chunk(b"part-%d\n" % i)
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        print("request:", *args, flush=True)


if __name__ == "__main__":
    port = int(os.environ["SAGEMAKER_BIND_TO_PORT"])
    print(f"byoc: serving on {port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
