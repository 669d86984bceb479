"""KMS end to end with an unmodified boto3: keys, aliases, states, encryption with context,
data keys, re-encryption, rotation that keeps old ciphertexts readable, and key policies that
decide who may use a key (within the account and across accounts)."""
import base64
import json
import os
import subprocess

import boto3
from botocore.config import Config

from harness import endpoint, eq, expect_error, run, unique, validate_responses

cfg = Config(retries={"max_attempts": 1})


def client(service, creds=None):
    kw = {}
    if creds is not None:
        kw = {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1]}
    c = boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=cfg, **kw)
    return validate_responses(c) if service == "kms" else c


kms = client("kms")
iam = client("iam")
ACCOUNT = client("sts").get_caller_identity()["Account"]


def new_key(**kw):
    return kms.create_key(Description=unique("key"), **kw)["KeyMetadata"]


def new_user(*statements):
    name = unique("u")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (k["AccessKeyId"], k["SecretAccessKey"])


def test_key_lifecycle_and_states():
    meta = new_key(Tags=[{"TagKey": "team", "TagValue": "ml"}])
    key_id = meta["KeyId"]
    eq(meta["Arn"], f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}", "arn")
    eq((meta["KeyState"], meta["Enabled"], meta["KeySpec"], meta["KeyUsage"]), ("Enabled", True, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), "metadata")
    assert key_id in [k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]]
    eq(kms.list_resource_tags(KeyId=key_id)["Tags"], [{"TagKey": "team", "TagValue": "ml"}], "tags")
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "stage", "TagValue": "dev"}])
    kms.untag_resource(KeyId=key_id, TagKeys=["team"])
    eq(kms.list_resource_tags(KeyId=key_id)["Tags"], [{"TagKey": "stage", "TagValue": "dev"}], "tags after change")
    kms.disable_key(KeyId=key_id)
    eq(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"], "Disabled", "disabled")
    expect_error(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"), "DisabledException", 400)
    kms.enable_key(KeyId=key_id)
    expect_error(lambda: kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=6), "ValidationException", 400)
    d = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    eq(d["KeyState"], "PendingDeletion", "pending")
    expect_error(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"), "KMSInvalidStateException", 400, "pending deletion")
    kms.cancel_key_deletion(KeyId=key_id)
    eq(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"], "Disabled", "a cancelled deletion leaves the key disabled")
    kms.enable_key(KeyId=key_id)
    expect_error(lambda: kms.describe_key(KeyId="00000000-0000-0000-0000-000000000000"), "NotFoundException", 400, "does not exist")
    expect_error(lambda: kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY"), "UnsupportedOperationException", 400)


def test_encrypt_decrypt_with_context():
    key_id = new_key()["KeyId"]
    ctx = {"purpose": "test", "tenant": "a"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn", EncryptionContext=ctx)["CiphertextBlob"]
    assert b"attack" not in blob
    out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(list(ctx.items()))))
    eq(out["Plaintext"], b"attack at dawn", "round trip")
    eq(out["KeyId"], f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}", "key named in the blob")
    expect_error(lambda: kms.decrypt(CiphertextBlob=blob), "InvalidCiphertextException", 400)
    expect_error(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "other", "tenant": "a"}), "InvalidCiphertextException", 400)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    expect_error(lambda: kms.decrypt(CiphertextBlob=tampered, EncryptionContext=ctx), "InvalidCiphertextException", 400)
    expect_error(lambda: kms.decrypt(CiphertextBlob=b"not a ciphertext blob at all....."), "InvalidCiphertextException", 400)
    other = new_key()["KeyId"]
    expect_error(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=other), "IncorrectKeyException", 400)
    expect_error(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4097), "ValidationException", 400)


def test_aliases():
    a, b = new_key()["KeyId"], new_key()["KeyId"]
    alias = "alias/" + unique("app")
    kms.create_alias(AliasName=alias, TargetKeyId=a)
    expect_error(lambda: kms.create_alias(AliasName=alias, TargetKeyId=b), "AlreadyExistsException", 400)
    expect_error(lambda: kms.create_alias(AliasName="not-an-alias", TargetKeyId=b), "InvalidAliasNameException", 400)
    blob = kms.encrypt(KeyId=alias, Plaintext=b"via alias")["CiphertextBlob"]
    eq(kms.decrypt(CiphertextBlob=blob)["KeyId"].split("/")[-1], a, "alias resolved to a")
    eq(kms.describe_key(KeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}")["KeyMetadata"]["KeyId"], a, "alias ARN")
    eq([x["AliasName"] for x in kms.list_aliases(KeyId=a)["Aliases"]], [alias], "aliases of a")
    kms.update_alias(AliasName=alias, TargetKeyId=b)
    eq(kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"], b, "retargeted")
    eq(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"via alias", "old ciphertext still names key a")
    kms.delete_alias(AliasName=alias)
    expect_error(lambda: kms.delete_alias(AliasName=alias), "NotFoundException", 400)
    expect_error(lambda: kms.encrypt(KeyId=alias, Plaintext=b"x"), "NotFoundException", 400, "is not found")


def test_data_keys_reencrypt_and_random():
    a, b = new_key()["KeyId"], new_key()["KeyId"]
    dk = kms.generate_data_key(KeyId=a, KeySpec="AES_256", EncryptionContext={"object": "k"})
    eq(len(dk["Plaintext"]), 32, "AES-256 data key")
    eq(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"object": "k"})["Plaintext"], dk["Plaintext"], "wrapped data key")
    eq(len(kms.generate_data_key(KeyId=a, NumberOfBytes=64)["Plaintext"]), 64, "NumberOfBytes")
    bare = kms.generate_data_key_without_plaintext(KeyId=a, KeySpec="AES_128")
    assert "Plaintext" not in bare
    eq(len(kms.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]), 16, "AES-128")
    expect_error(lambda: kms.generate_data_key(KeyId=a), "ValidationException", 400)
    moved = kms.re_encrypt(CiphertextBlob=dk["CiphertextBlob"], SourceEncryptionContext={"object": "k"}, DestinationKeyId=b)
    eq(moved["SourceKeyId"].split("/")[-1], a, "source")
    eq(kms.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"], dk["Plaintext"], "re-encrypted under b")
    r1, r2 = kms.generate_random(NumberOfBytes=32)["Plaintext"], kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert len(r1) == 32 and r1 != r2


def test_rotation_keeps_old_ciphertexts():
    key_id = new_key()["KeyId"]
    eq(kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"], False, "off by default")
    kms.enable_key_rotation(KeyId=key_id)
    status = kms.get_key_rotation_status(KeyId=key_id)
    eq(status["KeyRotationEnabled"], True, "on")
    before = kms.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    if "RotateKeyOnDemand" in kms.meta.service_model.operation_names:
        kms.rotate_key_on_demand(KeyId=key_id)
        after = kms.encrypt(KeyId=key_id, Plaintext=b"new")["CiphertextBlob"]
        assert before[17:21] != after[17:21], "a new key version encrypts after rotation"
        eq(kms.decrypt(CiphertextBlob=after)["Plaintext"], b"new", "new version")
        kms.rotate_key_on_demand(KeyId=key_id)
        rotations = kms.list_key_rotations(KeyId=key_id)
        eq([(r["KeyId"], r["RotationType"]) for r in rotations["Rotations"]], [(key_id, "ON_DEMAND")] * 2, "rotations, oldest first")
        eq(rotations["Truncated"], False, "one page")
        first = kms.list_key_rotations(KeyId=key_id, Limit=1)
        eq((len(first["Rotations"]), first["Truncated"]), (1, True), "first page")
        rest = kms.list_key_rotations(KeyId=key_id, Limit=1, Marker=first["NextMarker"])
        eq(rest["Rotations"][0]["RotationDate"] >= first["Rotations"][0]["RotationDate"], True, "second page is the later rotation")
        expect_error(lambda: kms.list_key_rotations(KeyId=key_id, Limit=1001), "ValidationException", 400, "less than or equal to 1000")
        expect_error(lambda: kms.list_key_rotations(KeyId="alias/" + unique("none")), "NotFoundException", 400)
    eq(kms.decrypt(CiphertextBlob=before)["Plaintext"], b"old", "old ciphertext after rotation")
    kms.disable_key_rotation(KeyId=key_id)
    eq(kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"], False, "off again")


def test_key_policy_decides_who_uses_the_key():
    # The default key policy delegates to IAM: a user needs an IAM policy.
    default = new_key()["KeyId"]
    user, creds = new_user()
    theirs = client("kms", creds)
    e = expect_error(lambda: theirs.encrypt(KeyId=default, Plaintext=b"x"), "AccessDeniedException", 400)
    assert "kms:Encrypt" in e["Error"]["Message"], e["Error"]["Message"]
    iam.put_user_policy(UserName=user, PolicyName="kms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}))
    theirs.encrypt(KeyId=default, Plaintext=b"x")
    # A key policy that does not trust the account's IAM shuts IAM-only users out.
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    own = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:ScheduleKeyDeletion"], "Resource": "*"},
        {"Sid": "app", "Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}]})
    strict = kms.create_key(Policy=own)["KeyMetadata"]["KeyId"]
    expect_error(lambda: kms.encrypt(KeyId=strict, Plaintext=b"x"), "AccessDeniedException", 400)  # even the root
    expect_error(lambda: theirs.encrypt(KeyId=strict, Plaintext=b"x"), "AccessDeniedException", 400)
    eq(json.loads(kms.get_key_policy(KeyId=strict, PolicyName="default")["Policy"])["Statement"][1]["Principal"]["AWS"], user_arn, "policy")
    # Encrypt with a permissive key, then show Decrypt obeys the strict key's policy by moving it there.
    kms.put_key_policy(KeyId=strict, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}]}))
    blob = kms.encrypt(KeyId=strict, Plaintext=b"for the app")["CiphertextBlob"]
    eq(theirs.decrypt(CiphertextBlob=blob)["Plaintext"], b"for the app", "granted by the key policy")
    # An explicit deny in the key policy beats the user's IAM allow.
    kms.put_key_policy(KeyId=strict, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}]}))
    expect_error(lambda: theirs.decrypt(CiphertextBlob=blob), "AccessDeniedException", 400)
    # The lockout safety check.
    lockout = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}]})
    expect_error(lambda: kms.put_key_policy(KeyId=strict, PolicyName="default", Policy=lockout), "MalformedPolicyDocumentException", 400, "will not allow you to update the key policy")
    expect_error(lambda: kms.put_key_policy(KeyId=strict, PolicyName="default", Policy="{"), "MalformedPolicyDocumentException", 400)


def test_keys_of_another_account():
    out = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "accounts", "create", unique("tenant"), "--data-dir", os.environ["STRATA_DATA_DIR"]],
                         check=True, capture_output=True, text=True).stdout
    lines = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    other_id = out.split()[1]
    theirs = client("kms", (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"]))
    meta = new_key()
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"shared")["CiphertextBlob"]
    # A bare key id means "in my account"; the ARN reaches the key, and the key policy says no.
    expect_error(lambda: theirs.describe_key(KeyId=meta["KeyId"]), "NotFoundException", 400)
    expect_error(lambda: theirs.decrypt(CiphertextBlob=blob), "AccessDeniedException", 400)
    kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other_id}:root"}, "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]}))
    eq(theirs.decrypt(CiphertextBlob=blob)["Plaintext"], b"shared", "cross-account decrypt")
    eq(theirs.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["KeyId"], meta["KeyId"], "cross-account describe by ARN")
    expect_error(lambda: theirs.encrypt(KeyId=meta["Arn"], Plaintext=b"x"), "AccessDeniedException", 400)
    assert meta["KeyId"] not in [k["KeyId"] for k in theirs.list_keys()["Keys"]]


def test_wrong_input_gets_an_error_the_operation_declares():
    # Issue 19: found by fuzz_boto3.py. The client's own checks are off, as a property-based
    # test has them, so the server's answers are what is tested.
    unchecked = validate_responses(boto3.client("kms", endpoint_url=endpoint(), region_name="us-east-1",
                                                config=Config(retries={"max_attempts": 1}, parameter_validation=False)))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"k": "v"})["CiphertextBlob"]
    # A map value JSON sends as null is invalid input, not a NullReferenceException.
    expect_error(lambda: unchecked.decrypt(CiphertextBlob=blob, EncryptionContext={"k": None}), "ValidationException", 400)
    # Encrypt and CreateAlias do not declare InvalidArnException: an ARN that names no key is not found.
    expect_error(lambda: kms.encrypt(KeyId="arn:aws:iam::123456789012:user/x", Plaintext=b"x"), "NotFoundException", 400)
    expect_error(lambda: kms.create_alias(AliasName="alias/" + unique("a"), TargetKeyId="arn:"), "NotFoundException", 400)
    expect_error(lambda: kms.describe_key(KeyId="arn:"), "InvalidArnException", 400)
    # UpdateAlias does not declare InvalidAliasNameException: the model's pattern, then not found.
    expect_error(lambda: unchecked.update_alias(AliasName="<bad>", TargetKeyId=key), "ValidationException", 400)
    expect_error(lambda: kms.update_alias(AliasName="not-an-alias", TargetKeyId=key), "NotFoundException", 400)
    # JSON may escape half a surrogate pair; such a body is refused before anything reads it.
    expect_error(lambda: unchecked.describe_key(KeyId="\ud800"), "SerializationException", 400)


run(globals())
