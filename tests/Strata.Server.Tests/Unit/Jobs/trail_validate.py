"""Runs the installed AWS CLI's own `cloudtrail validate-logs` command object on files Strata made.

Usage: python3 trail_validate.py MANIFEST.json

The command's network clients are replaced by stand-ins that serve objects from local files
(S3: list_objects pages after a Marker, get_object with user metadata, NoSuchKey for a missing
key) and the given public keys (CloudTrail: list_public_keys, with the base64 `Value` text the
CLI's own response parsing leaves as is). Everything else is the CLI's code: the digest key
listing and regex, the chain walk, the signature check and the log file hashes. Works with the
CLI v1 (pyenv python3) and Debian's v2 (/usr/bin/python3); prints one JSON line with the
command's counters and what it wrote.

The manifest: {"trailArn", "region", "bucket", "prefix", "startTime", "endTime",
"objects": [{"bucket", "key", "file", "metadata"}], "publicKeys": [{"Fingerprint", "Value", ...}]}.
"""
import argparse
import contextlib
import io
import json
import sys

import awscli
from awscli.customizations.cloudtrail import validation


class Objects:
    """The manifest's objects, by bucket then key."""

    def __init__(self, objects):
        self.buckets = {}
        for o in objects:
            self.buckets.setdefault(o["bucket"], {})[o["key"]] = o


class FakeS3:
    def __init__(self, objects, bucket):
        self._objects = objects
        self._bucket = bucket

    def get_paginator(self, name):
        assert name == "list_objects", name
        return self

    def paginate(self, Bucket, Marker="", Prefix=""):
        keys = sorted(k for k in self._objects.buckets.get(Bucket, {}) if k > Marker and k.startswith(Prefix or ""))
        return Pages(keys)

    def get_object(self, Bucket, Key):
        o = self._objects.buckets.get(Bucket, {}).get(Key)
        if o is None:
            raise validation.ClientError({"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}}, "GetObject")
        with open(o["file"], "rb") as f:
            body = f.read()
        return {"Body": io.BytesIO(body), "Metadata": dict(o.get("metadata") or {})}


class Pages:
    def __init__(self, keys):
        self._keys = keys

    def search(self, expression):
        assert expression == "Contents[*].Key", expression
        return iter(self._keys)


class FakeS3Provider:
    def __init__(self, objects):
        self._objects = objects

    def get_client(self, bucket_name):
        return FakeS3(self._objects, bucket_name)


class FakeCloudTrail:
    def __init__(self, keys):
        self._keys = keys
        self.calls = []

    def list_public_keys(self, StartTime, EndTime):
        self.calls.append([str(StartTime), str(EndTime)])
        return {"PublicKeyList": self._keys}


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    objects = Objects(manifest["objects"])
    cloudtrail = FakeCloudTrail(manifest["publicKeys"])

    command = validation.CloudTrailValidateLogs(None)
    args = argparse.Namespace(
        trail_arn=manifest["trailArn"], verbose=True, s3_bucket=manifest["bucket"],
        s3_prefix=manifest.get("prefix"), account_id=None,
        start_time=manifest["startTime"], end_time=manifest["endTime"])
    out, err = io.StringIO(), io.StringIO()
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        command.handle_args(args)
        # What setup_services would make, without a network.
        command._source_region = manifest["region"]
        command.s3_client_provider = FakeS3Provider(objects)
        command.cloudtrail_client = cloudtrail
        command.organization_client = None
        try:
            command._call()
        except Exception as e:  # the CLI would print it and exit non-zero
            error = f"{type(e).__name__}: {e}"

    counters = {name: getattr(command, "_" + name, 0) for name in
                ["valid_digests", "invalid_digests", "valid_backfill_digests", "invalid_backfill_digests",
                 "valid_logs", "invalid_logs"]}
    print(json.dumps({
        "cliVersion": awscli.__version__,
        **counters,
        "error": error,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "listPublicKeysCalls": cloudtrail.calls,
    }))


if __name__ == "__main__":
    main()
