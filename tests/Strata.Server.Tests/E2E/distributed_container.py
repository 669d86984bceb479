"""A distributed training container of one's own, for training_distributed_boto3.py and
training_checkpoint_clock_boto3.py: every host of the job runs it (called with `train`), reads
which host it is from SageMaker's resourceconfig.json and SM_* variables, and does what its `mode`
hyperparameter says:
  rendezvous  algo-1 listens on a TCP port at its own host name; every other host connects to
              `algo-1` by name and sends its number (algo-i sends i); algo-1 sends each the sum of
              all the numbers and keeps it too. Each host then writes model/<host>.json with what it
              got and saw (its channels' files, its resourceconfig.json, SM_HOSTS, its hostname,
              whether `outside` host:port was reachable) and output/data/<host>.txt, and prints a
              `loss=` line for the metric definitions
  fail-one    the other hosts listen at their own names and wait for SIGTERM (and say so when it
              comes); algo-2 connects to each, then writes a failure reason and exits 3
  sleep       every host waits for SIGTERM, then saves model/<host>-stopped.json and exits 0
  checkpoint  every host writes checkpoints/<host>.txt and waits; on SIGTERM it rewrites it and exits 0"""
import json
import os
import signal
import socket
import sys
import time

assert sys.argv[1:] == ["train"], sys.argv
hps = json.loads(os.environ["SM_HPS"])
mode = hps.get("mode", "rendezvous")
config_dir = os.environ["SM_INPUT_CONFIG_DIR"]
resources = json.load(open(os.path.join(config_dir, "resourceconfig.json")))
host = resources["current_host"]
hosts = resources["hosts"]
number = int(host.split("-")[1])
model_dir, output_dir = os.environ["SM_MODEL_DIR"], os.environ["SM_OUTPUT_DIR"]
checkpoints = os.path.join(os.path.dirname(model_dir), "checkpoints")
print(f"{host} of {hosts} starting in mode {mode}", flush=True)


port = int(hps.get("port", "29500"))


def connect(peer):
    """A connection to `peer` at the job's port, by its host name, once it listens."""
    deadline = time.time() + 60
    while True:
        try:
            return socket.create_connection((peer, port), timeout=5)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def wait_for_sigterm(on_term, listen=False):
    def handler(signum, frame):
        print(f"{host} stopped by SIGTERM", flush=True)
        on_term()
        sys.exit(0)
    signal.signal(signal.SIGTERM, handler)
    if listen:
        # Ready for SIGTERM: a peer that connects knows it (every host listens at its own address, on the one port).
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind((host, port))
        server.listen(8)
    print(f"{host} waiting for SIGTERM", flush=True)
    parent = os.getppid()
    # A server killed outright cannot stop its containers: this one goes when its parent does.
    while os.getppid() == parent:
        time.sleep(0.1)
    sys.exit(1)


if mode == "fail-one":
    if host == "algo-2":
        # It fails once the others are ready to be stopped.
        for peer in hosts:
            if peer != host:
                connect(peer).close()
        with open(os.path.join(output_dir, "failure"), "w") as f:
            f.write("AlgorithmError: algo-2 ran out of gradient")
        sys.exit(3)
    wait_for_sigterm(lambda: None, listen=True)

if mode == "sleep":
    def save():
        with open(os.path.join(model_dir, f"{host}-stopped.json"), "w") as f:
            json.dump({"host": host}, f)
    wait_for_sigterm(save)

if mode == "checkpoint":
    with open(os.path.join(checkpoints, f"{host}.txt"), "w") as f:
        f.write(f"{host} step 1")
    print(f"{host} wrote its checkpoint", flush=True)

    def final():
        with open(os.path.join(checkpoints, f"{host}.txt"), "w") as f:
            f.write(f"{host} step 2")
    wait_for_sigterm(final)

if host == hosts[0]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(len(hosts))
    print(f"{host} listening at {socket.gethostbyname(host)}:{port}", flush=True)
    peers, total = [], number
    while len(peers) < len(hosts) - 1:
        conn, _ = server.accept()
        total += int(conn.recv(64).decode())
        peers.append(conn)
    for conn in peers:
        conn.sendall(str(total).encode())
        conn.close()
    got = total
else:
    conn = connect(hosts[0])
    conn.sendall(str(number).encode())
    got = int(conn.recv(64).decode())
    conn.close()
print(f"{host} got sum={got} loss={1.0 / number:.4f}", flush=True)

outside = hps.get("outside")
reachable = None
if outside:
    address, outside_port = outside.rsplit(":", 1)
    try:
        socket.create_connection((address, int(outside_port)), timeout=3).close()
        reachable = True
    except OSError:
        reachable = False


def files(channel):
    root = os.environ["SM_CHANNEL_" + channel.upper()]
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


with open(os.path.join(model_dir, f"{host}.json"), "w") as f:
    json.dump({
        "host": host, "sum": got, "hostname": socket.gethostname(), "address": socket.gethostbyname(host),
        "sm_current_host": os.environ["SM_CURRENT_HOST"], "sm_hosts": json.loads(os.environ["SM_HOSTS"]),
        "training_env": {k: json.loads(os.environ["SM_TRAINING_ENV"])[k] for k in ("current_host", "hosts", "master_hostname", "is_master")},
        "resource_config": resources, "channels": {c: files(c) for c in json.loads(os.environ["SM_CHANNELS"])},
        "outside_reachable": reachable,
    }, f)
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], f"{host}.txt"), "w") as f:
    f.write(f"{host} done\n")
print(f"{host} done", flush=True)
