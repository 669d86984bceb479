"""Reads `dotnet test --logger "console;verbosity=normal"` on stdin and prints one line per test
class (a suite) as its last test ends: its name, how many passed and failed, and when it ended.
What is not a passing test's line (failures with their messages, the run's summaries) passes
through as it comes. argv: a file of `dotnet test --list-tests` output, which says how many tests
each class has. It ends with the totals: `totals: N passed, N failed, N skipped`."""
import re
import sys
import time
from collections import Counter, defaultdict

RESULT = re.compile(r"^\s+(Passed|Failed|Skipped) (Strata\.[\w.]+?)\.(\w+)(\(.*\))? \[([^\]]*)\]")
DURATION = re.compile(r"(\d+) (h|m|s|ms)\b")
UNIT = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


def seconds(duration):
    """The console logger's "[1 m 3 s]", "[12 s]", "[250 ms]", "[< 1 ms]" in seconds."""
    return sum(int(n) * UNIT[unit] for n, unit in DURATION.findall(duration))
LISTED = re.compile(r"^\s+(Strata\.[\w.]+?)\.(\w+)(\(.*\))?\s*$")

expected = Counter()
with open(sys.argv[1], encoding="utf-8", errors="replace") as listing:
    for line in listing:
        m = LISTED.match(line)
        if m:
            expected[m.group(1)] += 1



def report(suite, when):
    counts = seen[suite]
    name = suite.removeprefix("Strata.Server.Tests.").removeprefix("Strata.")
    failed = f", {counts['Failed']} FAILED" if counts["Failed"] else ""
    skipped = f", {counts['Skipped']} skipped" if counts["Skipped"] else ""
    ran = f", ran {now() - began[suite]:.0f} s" if suite in began else ""
    print(f"suite {name}: {counts['Passed']} passed{failed}{skipped} ({when}{ran})", flush=True)


def now():
    return time.monotonic() - start


start = time.monotonic()
seen = defaultdict(Counter)
# The failed tests' names and the first lines of their messages, said again at the end: CI keeps
# only the output's tail.
failures = []
FAILURE_LINES = 25
# When each suite began, as far as its tests' reported durations tell: the earliest (end - duration).
began = {}
done = set()
for line in sys.stdin:
    m = RESULT.match(line)
    if not m:
        sys.stdout.write(line)
        sys.stdout.flush()
        if failures and len(failures[-1][1]) < FAILURE_LINES and not failures[-1][2]:
            failures[-1][1].append(line.rstrip())
        continue
    if failures:
        failures[-1][2] = True
    outcome, suite = m.group(1), m.group(2)
    if outcome != "Passed":
        sys.stdout.write(line)
    if outcome == "Failed":
        failures.append([f"{suite}.{m.group(3)}{m.group(4) or ''}", [], False])
    seen[suite][outcome] += 1
    began[suite] = min(began.get(suite, now()), now() - seconds(m.group(5)))
    if sum(seen[suite].values()) == expected.get(suite, -1):
        report(suite, f"done at {now():.0f} s")
        done.add(suite)

# Suites whose count the listing did not foretell (or whose tests did not all report: a crash).
for suite in sorted(set(seen) - done):
    report(suite, f"{sum(seen[suite].values())} of {expected.get(suite, '?')} listed tests reported")
for name, message, _ in failures:
    print(f"FAILED: {name}", *message, sep="\n", flush=True)
totals = sum((seen[suite] for suite in seen), Counter())
print(f"totals: {totals['Passed']} passed, {totals['Failed']} failed, {totals['Skipped']} skipped", flush=True)
