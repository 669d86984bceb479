"""Tiny test harness for the end-to-end client scripts (no pytest on the image).

Each script defines test_* functions; `python3 script.py [name ...]` runs them (all by
default) and prints one line per test: "PASS name" or "FAIL name: reason", then the
traceback. The xunit side runs the script and turns every line into a test result.
"""
import os
import sys
import traceback
import uuid


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def expect_error(fn, code, status=None, message=None):
    """Calls fn, which must fail with the AWS error `code` (and HTTP status, message part)."""
    import botocore.exceptions
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        got = err.get("Code")
        got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        assert got == code, f"expected error {code}, got {got} ({err.get('Message')})"
        if status is not None:
            assert got_status == status, f"expected status {status} for {code}, got {got_status}"
        if message is not None:
            assert message in (err.get("Message") or ""), f"expected message containing {message!r}, got {err.get('Message')!r}"
        return e.response
    raise AssertionError(f"expected error {code}, but the call succeeded")


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def run(module_globals):
    names = sys.argv[1:] or sorted(n for n, f in module_globals.items() if n.startswith("test_") and callable(f))
    failed = 0
    for name in names:
        try:
            module_globals[name]()
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
    sys.exit(1 if failed else 0)


def endpoint(tls=False):
    return os.environ["STRATA_TLS_ENDPOINT" if tls else "STRATA_ENDPOINT"]
