"""The executable README: every ```sh block of README.md, in order, in one bash session per part,
against the fresh server ReadmeTests started for that part (with --demo, as the quick start starts
it), as a newcomer would type them: from a folder holding what the README uses from a clone (`models/`, `examples/`,
`tests/js-sdk/`, a `./strata` that runs this build), with an empty HOME and nothing in the
environment but PATH and STRATA_DATA_DIR (so `eval "$(./strata env)"` is what configures the
clients). `aws` is the image's CLI v1; the blocks that show Debian's CLI v2 call `/usr/bin/aws`.
The README's default ports (9600, 9643) stand for the server's. A block is skipped only when the
line above its fence says `<!-- readme-test: skip: <why> -->`. The first command that fails
fails the test, naming its README line.

The README runs in parts, on servers of their own at once, so that its minutes are not one long
test at the end of the run: a line `<!-- readme-test: part -->` begins the next part, and
README_PART (1, 2, …) says which part this run is. A later part starts from what the earlier ones
set up: the blocks whose fence has `<!-- readme-test: setup -->` above it (the `eval` of the
clients' environment, the execution role, the training data) run again at its start."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import urlparse

from harness import client, run, until


def repo_root():
    here = os.path.dirname(os.path.abspath(__file__))
    while here != "/" and not os.path.exists(os.path.join(here, "Strata.slnx")):
        here = os.path.dirname(here)
    assert here != "/", "the repository root (Strata.slnx) is not above " + __file__
    return here


PART_MARK = "<!-- readme-test: part -->"
SETUP_MARK = "<!-- readme-test: setup -->"


def blocks(lines):
    """(first line number, text, skipped, part, setup) of every ```sh fence, in order; parts count from 1."""
    found, i, part = [], 0, 1
    while i < len(lines):
        if lines[i].strip() == PART_MARK:
            part += 1
            i += 1
        elif re.match(r"^```(sh|bash)\s*$", lines[i]):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            above = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            found.append((i + 2, "\n".join(lines[i + 1:end]), above.startswith("<!-- readme-test: skip"), part, above == SETUP_MARK))
            i = end + 1
        else:
            i += 1
    return found


def test_every_readme_block_runs_in_order():
    root = repo_root()
    part, parts = int(os.environ["README_PART"]), int(os.environ["README_PARTS"])
    # The quick start's server has deployed the demo once it says so; the README starts from there.
    sagemaker = client("sagemaker")
    until("the demo endpoint", lambda: sagemaker.describe_endpoint(EndpointName="demo")["EndpointStatus"] == "InService", 180)
    lines = open(os.path.join(root, "README.md"), encoding="utf-8").read().splitlines()
    found = blocks(lines)
    skipped = [line for line, _, skip, _, _ in found if skip]
    assert len(found) > 40 and len(skipped) <= 4, f"{len(found)} blocks, skipped at lines {skipped}: skips are for the few illustrative ones"
    # ReadmeTests has one test class per part: a part marker added or removed must change it too.
    assert found[-1][3] == parts, f"README.md has {found[-1][3]} parts ({PART_MARK} lines), ReadmeTests runs {parts}"
    mine = [b for b in found if b[3] == part]
    assert mine, f"part {part} has no block"
    run = [b for b in found if b[3] < part and b[4]] + mine

    work = tempfile.mkdtemp(prefix="strata-readme-")
    for name in ("models", "examples"):
        os.symlink(os.path.join(root, name), os.path.join(work, name))
    # A copy of the JS SDK's folder, so that the README's `npm ci` there does not touch the clone's.
    js = os.path.join(work, "tests", "js-sdk")
    os.makedirs(js)
    for name in ("package.json", "package-lock.json", "example.mjs"):
        shutil.copy(os.path.join(root, "tests", "js-sdk", name), js)
    with open(os.path.join(work, "strata"), "w") as f:
        f.write(f'#!/bin/sh\nexec dotnet "{os.environ["STRATA_DLL"]}" "$@"\n')
    os.chmod(os.path.join(work, "strata"), 0o755)
    home = os.path.join(work, "home")
    os.mkdir(home)

    http = urlparse(os.environ["STRATA_ENDPOINT"]).netloc
    https = urlparse(os.environ["STRATA_TLS_ENDPOINT"]).netloc
    script = ["set -eo pipefail", 'trap \'echo "README.md line $README_LINE: this command failed: $BASH_COMMAND" >&2\' ERR']
    for line, text, skip, _, _ in run:
        if skip:
            continue
        text = text.replace("127.0.0.1:9600", http).replace("127.0.0.1:9643", https)
        script += [f"README_LINE={line}", f'echo "=== README.md line {line} at $SECONDS s"', text]
    with open(os.path.join(work, "readme.sh"), "w") as f:
        f.write("\n".join(script) + "\n")

    env = {"PATH": os.environ["PATH"], "HOME": home, "STRATA_DATA_DIR": os.environ["STRATA_DATA_DIR"], "LANG": "C.UTF-8",
           "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
    npm_cache = os.path.expanduser("~/.npm")
    if os.path.isdir(npm_cache):
        env["npm_config_cache"] = npm_cache  # the packages `npm ci` fetched for the tests, not fetched again
    log_path = os.path.join(work, "readme.log")
    with open(log_path, "wb") as log:
        try:
            code = subprocess.run(["bash", "readme.sh"], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=1500).returncode
        except subprocess.TimeoutExpired:
            code = "none: it ran past 25 minutes"
    if code != 0:
        output = open(log_path, encoding="utf-8", errors="replace").read()
        raise AssertionError(f"exit {code}; the last of what it printed:\n{output[-6000:]}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(globals())
