"""Identity and access end to end with an unmodified boto3: IAM users, groups, roles, managed and
inline policies, access keys, permissions boundaries, the simulator, STS (GetCallerIdentity,
AssumeRole with trust and session policies, GetSessionToken), and accounts. Every decision is
made by the same pipeline that serves S3, SageMaker and the runtime."""
import io
import json
import os
import subprocess
import tarfile
import time

import boto3
import botocore.exceptions
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, run, unique, validate_responses

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1"
cfg = Config(retries={"max_attempts": 1})


def client(service, creds=None):
    kw = {}
    if creds is not None:
        kw = {"aws_access_key_id": creds[0], "aws_secret_access_key": creds[1], "aws_session_token": creds[2] if len(creds) > 2 else None}
    c = boto3.client(service, endpoint_url=endpoint(), region_name="us-east-1", config=cfg, **kw)
    return validate_responses(c) if service in ("iam", "sts") else c


iam = client("iam")
sts = client("sts")
ACCOUNT = sts.get_caller_identity()["Account"]


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def new_user(**kw):
    """A user with an access key; returns (name, (key id, secret))."""
    name = unique("u")
    iam.create_user(UserName=name, **kw)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


def eventually(fn, attempts=20):
    """IAM is eventually consistent in AWS; here changes apply at once, but allow a beat."""
    for i in range(attempts):
        try:
            return fn()
        except botocore.exceptions.ClientError:
            if i == attempts - 1:
                raise
            time.sleep(0.05)


def test_users_lifecycle_and_errors():
    name = unique("u")
    u = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "team", "Value": "ml"}])["User"]
    eq(u["Arn"], f"arn:aws:iam::{ACCOUNT}:user/team/{name}", "arn")
    assert u["UserId"].startswith("AIDA") and len(u["UserId"]) == 21, u["UserId"]
    got = iam.get_user(UserName=name)["User"]
    eq(got["UserId"], u["UserId"], "id")
    eq(got["Tags"], [{"Key": "team", "Value": "ml"}], "tags")
    expect_error(lambda: iam.create_user(UserName=name.upper()), "EntityAlreadyExists", 409, f"User with name {name.upper()} already exists.")
    listed = [x["UserName"] for x in iam.list_users(PathPrefix="/team/")["Users"]]
    assert name in listed, listed
    pages = list(iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) >= 1 and name in [x["UserName"] for p in pages for x in p["Users"]]
    expect_error(lambda: iam.get_user(UserName=unique("missing")), "NoSuchEntity", 404, "cannot be found")
    expect_error(lambda: iam.create_user(UserName="bad name!"), "ValidationError", 400)
    iam.delete_user(UserName=name)
    expect_error(lambda: iam.delete_user(UserName=name), "NoSuchEntity", 404)


def test_access_keys_rotate_deactivate_delete():
    name, creds = new_user()
    me = client("sts", creds).get_caller_identity()
    eq(me["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{name}", "caller arn")
    eq(me["Account"], ACCOUNT, "account")
    second = iam.create_access_key(UserName=name)["AccessKey"]
    expect_error(lambda: iam.create_access_key(UserName=name), "LimitExceeded", 409, "AccessKeysPerUser: 2")
    keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    eq(sorted(k["AccessKeyId"] for k in keys), sorted([creds[0], second["AccessKeyId"]]), "keys")
    iam.update_access_key(UserName=name, AccessKeyId=creds[0], Status="Inactive")
    expect_error(lambda: client("sts", creds).get_caller_identity(), "InvalidClientTokenId", 403)
    expect_error(lambda: client("s3", creds).list_buckets(), "InvalidAccessKeyId", 403)
    iam.update_access_key(UserName=name, AccessKeyId=creds[0], Status="Active")
    client("sts", creds).get_caller_identity()
    expect_error(lambda: iam.delete_user(UserName=name), "DeleteConflict", 409, "must delete access keys first")
    iam.delete_access_key(UserName=name, AccessKeyId=creds[0])
    expect_error(lambda: client("sts", creds).get_caller_identity(), "InvalidClientTokenId", 403)
    expect_error(lambda: iam.delete_access_key(UserName=name, AccessKeyId=creds[0]), "NoSuchEntity", 404)
    # A user manages its own keys without naming itself, given the permission.
    iam.put_user_policy(UserName=name, PolicyName="self", PolicyDocument=policy(allow("iam:*AccessKey*", f"arn:aws:iam::{ACCOUNT}:user/{name}")))
    mine = client("iam", (second["AccessKeyId"], second["SecretAccessKey"])).list_access_keys()["AccessKeyMetadata"]
    eq([k["AccessKeyId"] for k in mine], [second["AccessKeyId"]], "own keys")


def test_a_new_user_may_do_nothing():
    _, creds = new_user()
    expect_error(lambda: client("s3", creds).list_buckets(), "AccessDenied", 403)
    e = expect_error(lambda: client("iam", creds).list_users(), "AccessDenied", 403)
    assert "is not authorized to perform: iam:ListUsers" in e["Error"]["Message"], e["Error"]["Message"]
    assert "because no identity-based policy allows the iam:ListUsers action" in e["Error"]["Message"], e["Error"]["Message"]
    expect_error(lambda: client("sagemaker", creds).list_endpoints(), "AccessDeniedException", 400)
    # Who am I always answers.
    client("sts", creds).get_caller_identity()


def deploy_classifier():
    s3 = client("s3")
    bucket = unique("iam-artifacts")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, "classifier", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=bucket, Key="model.tar.gz", Body=buffer.getvalue())
    sm = client("sagemaker")
    name = unique("ep")
    sm.create_model(ModelName=name, ExecutionRoleArn=execution_role(iam, f"arn:aws:s3:::{bucket}/*"), PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/model.tar.gz"})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "a", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return name


def test_least_privilege_user_invokes_one_endpoint_and_nothing_else():
    name = deploy_classifier()
    try:
        user, creds = new_user()
        iam.put_user_policy(UserName=user, PolicyName="invoke-one", PolicyDocument=policy(
            allow("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}")))
        eq(iam.list_user_policies(UserName=user)["PolicyNames"], ["invoke-one"], "inline policies")
        doc = iam.get_user_policy(UserName=user, PolicyName="invoke-one")["PolicyDocument"]
        eq(doc["Statement"][0]["Action"], "sagemaker:InvokeEndpoint", "document comes back decoded")
        rt = client("sagemaker-runtime", creds)
        r = rt.invoke_endpoint(EndpointName=name, Body=b'{"instances": [[5.1, 3.5, 1.4, 0.2]]}', ContentType="application/json")
        assert r["Body"].read(), "prediction"
        expect_error(lambda: rt.invoke_endpoint(EndpointName=name + "x", Body=b"[[1,2,3,4]]", ContentType="application/json"), "AccessDeniedException", 400)
        expect_error(lambda: client("sagemaker", creds).describe_endpoint(EndpointName=name), "AccessDeniedException", 400)
        expect_error(lambda: client("sagemaker", creds).delete_endpoint(EndpointName=name), "AccessDeniedException", 400)
        expect_error(lambda: client("s3", creds).list_buckets(), "AccessDenied", 403)
        iam.delete_user_policy(UserName=user, PolicyName="invoke-one")
        expect_error(lambda: iam.delete_user_policy(UserName=user, PolicyName="invoke-one"), "NoSuchEntity", 404)
        expect_error(lambda: rt.invoke_endpoint(EndpointName=name, Body=b"[[1,2,3,4]]", ContentType="application/json"), "AccessDeniedException", 400)
    finally:
        client("sagemaker").delete_endpoint(EndpointName=name)


def test_sagemaker_condition_keys():
    """Tag-based access (aws:ResourceTag/*, aws:RequestTag/*) and SageMaker's own keys
    (sagemaker:InstanceTypes, sagemaker:NetworkIsolation) decide what a user may do."""
    sm = client("sagemaker")
    bucket = unique("cond")
    client("s3").create_bucket(Bucket=bucket)
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=execution_role(iam), PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/model.tar.gz"})
    ml, other = unique("c"), unique("c")
    variants = [{"VariantName": "a", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}]
    sm.create_endpoint_config(EndpointConfigName=ml, ProductionVariants=variants, Tags=[{"Key": "team", "Value": "ml"}])
    sm.create_endpoint_config(EndpointConfigName=other, ProductionVariants=variants, Tags=[{"Key": "team", "Value": "finance"}])
    user, creds = new_user()
    iam.put_user_policy(UserName=user, PolicyName="tags", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sagemaker:DescribeEndpointConfig", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "ml"}}},
        {"Effect": "Allow", "Action": "sagemaker:CreateEndpointConfig", "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.t2.medium"]}, "StringEquals": {"aws:RequestTag/team": "ml"}}},
        {"Effect": "Deny", "Action": "sagemaker:CreateModel", "Resource": "*", "Condition": {"Bool": {"sagemaker:NetworkIsolation": "false"}}},
        {"Effect": "Allow", "Action": ["sagemaker:CreateModel", "iam:PassRole"], "Resource": "*"}))
    theirs = client("sagemaker", creds)
    theirs.describe_endpoint_config(EndpointConfigName=ml)
    expect_error(lambda: theirs.describe_endpoint_config(EndpointConfigName=other), "AccessDeniedException", 400)
    theirs.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=variants, Tags=[{"Key": "team", "Value": "ml"}])
    expect_error(lambda: theirs.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=variants), "AccessDeniedException", 400)
    big = [dict(variants[0], InstanceType="ml.p3.16xlarge")]
    expect_error(lambda: theirs.create_endpoint_config(EndpointConfigName=unique("c"), ProductionVariants=big, Tags=[{"Key": "team", "Value": "ml"}]), "AccessDeniedException", 400)
    role = execution_role(iam)
    container = {"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/model.tar.gz"}
    expect_error(lambda: theirs.create_model(ModelName=unique("m"), ExecutionRoleArn=role, PrimaryContainer=container, EnableNetworkIsolation=False), "AccessDeniedException", 400)
    theirs.create_model(ModelName=unique("m"), ExecutionRoleArn=role, PrimaryContainer=container, EnableNetworkIsolation=True)


def test_explicit_deny_beats_allow():
    user, creds = new_user()
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    iam.put_user_policy(UserName=user, PolicyName="no-delete", PolicyDocument=policy(deny("s3:DeleteObject")))
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    eq(attached, [{"PolicyName": "AmazonS3FullAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}], "attached")
    s3 = client("s3", creds)
    bucket = unique("deny")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    eq(s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"x", "read")
    expect_error(lambda: s3.delete_object(Bucket=bucket, Key="k"), "AccessDenied", 403)
    iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    expect_error(lambda: iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"), "NoSuchEntity", 404)
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="k"), "AccessDenied", 403)
    expect_error(lambda: iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy"), "NoSuchEntity", 404, "does not exist or is not attachable")


def test_groups_grant_to_their_members():
    user, creds = new_user()
    group = unique("g")
    g = iam.create_group(GroupName=group)["Group"]
    eq(g["Arn"], f"arn:aws:iam::{ACCOUNT}:group/{group}", "arn")
    expect_error(lambda: iam.create_group(GroupName=group), "EntityAlreadyExists", 409)
    iam.put_group_policy(GroupName=group, PolicyName="list", PolicyDocument=policy(allow("s3:ListAllMyBuckets")))
    eq(iam.list_group_policies(GroupName=group)["PolicyNames"], ["list"], "group inline")
    eq(iam.get_group_policy(GroupName=group, PolicyName="list")["PolicyDocument"]["Statement"][0]["Action"], "s3:ListAllMyBuckets", "doc")
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    eq([p["PolicyName"] for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]], ["IAMReadOnlyAccess"], "group attached")
    expect_error(lambda: client("s3", creds).list_buckets(), "AccessDenied", 403)
    iam.add_user_to_group(GroupName=group, UserName=user)
    eq([x["UserName"] for x in iam.get_group(GroupName=group)["Users"]], [user], "members")
    eq([x["GroupName"] for x in iam.list_groups_for_user(UserName=user)["Groups"]], [group], "groups of user")
    assert group in [x["GroupName"] for x in iam.list_groups()["Groups"]]
    client("s3", creds).list_buckets()
    client("iam", creds).get_user(UserName=user)
    expect_error(lambda: iam.delete_group(GroupName=group), "DeleteConflict", 409)
    iam.remove_user_from_group(GroupName=group, UserName=user)
    expect_error(lambda: client("s3", creds).list_buckets(), "AccessDenied", 403)
    iam.delete_group_policy(GroupName=group, PolicyName="list")
    iam.detach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.delete_group(GroupName=group)
    expect_error(lambda: iam.get_group(GroupName=group), "NoSuchEntity", 404)


def test_managed_policies_and_versions():
    name = unique("p")
    p = iam.create_policy(PolicyName=name, PolicyDocument=policy(allow("s3:ListAllMyBuckets")), Description="list buckets")["Policy"]
    arn = p["Arn"]
    eq(arn, f"arn:aws:iam::{ACCOUNT}:policy/{name}", "arn")
    eq(p["DefaultVersionId"], "v1", "default")
    expect_error(lambda: iam.create_policy(PolicyName=name, PolicyDocument=policy(allow("s3:*"))), "EntityAlreadyExists", 409)
    user, creds = new_user()
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    eq(iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 1, "attachments")
    client("s3", creds).list_buckets()
    # A new default version takes effect at once: v2 allows only IAM reads.
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("iam:GetUser")), SetAsDefault=True)["PolicyVersion"]
    eq((v2["VersionId"], v2["IsDefaultVersion"]), ("v2", True), "v2")
    expect_error(lambda: client("s3", creds).list_buckets(), "AccessDenied", 403)
    eq(iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]["Statement"][0]["Action"], "s3:ListAllMyBuckets", "v1 doc")
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("s3:GetObject")))
    eq([v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]], ["v5", "v4", "v3", "v2", "v1"], "versions")
    expect_error(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("s3:GetObject"))), "LimitExceeded", 409)
    expect_error(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v2"), "DeleteConflict", 409, "default version")
    expect_error(lambda: iam.delete_policy(PolicyArn=arn), "DeleteConflict", 409)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    for v in ("v1", "v3", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    assert arn in [x["Arn"] for x in iam.list_policies(Scope="Local")["Policies"]]
    aws = [x["PolicyName"] for x in iam.list_policies(Scope="AWS")["Policies"]]
    assert "AdministratorAccess" in aws and "AmazonSageMakerFullAccess" in aws, aws
    iam.delete_policy(PolicyArn=arn)
    expect_error(lambda: iam.get_policy(PolicyArn=arn), "NoSuchEntity", 404)
    expect_error(lambda: iam.create_policy_version(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess", PolicyDocument=policy(allow("s3:*"))), "AccessDenied", 403)


def test_malformed_policy_documents():
    user, _ = new_user()
    cases = [
        ("not json", "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]}), "Invalid effect: Permit"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]}), "Actions/Conditions must be prefaced by a vendor"),
        (json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}), "Policy document should not specify a principal."),
    ]
    for doc, message in cases:
        expect_error(lambda: iam.put_user_policy(UserName=user, PolicyName="bad", PolicyDocument=doc), "MalformedPolicyDocument", 400, message)
    expect_error(lambda: iam.create_role(RoleName=unique("r"), AssumeRolePolicyDocument=policy(allow("sts:AssumeRole"))), "MalformedPolicyDocument", 400, "Missing required field Principal")


def trust(principal):
    return policy({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def test_roles_and_assume_role():
    role = unique("r")
    r = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), Description="app", MaxSessionDuration=7200)["Role"]
    eq(r["Arn"], f"arn:aws:iam::{ACCOUNT}:role/{role}", "arn")
    eq(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"], {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "trust comes back decoded")
    assert role in [x["RoleName"] for x in iam.list_roles()["Roles"]]
    iam.put_role_policy(RoleName=role, PolicyName="s3", PolicyDocument=policy(allow(["s3:ListAllMyBuckets", "s3:CreateBucket", "s3:PutObject", "sts:AssumeRole"])))
    eq(iam.list_role_policies(RoleName=role)["PolicyNames"], ["s3"], "role inline")
    eq(iam.get_role_policy(RoleName=role, PolicyName="s3")["RoleName"], role, "role policy")
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    eq([p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]], ["IAMReadOnlyAccess"], "role attached")

    # A user of the account needs its own permission too, because the trust names the account.
    user, creds = new_user()
    expect_error(lambda: client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="s1"), "AccessDenied", 403, "sts:AssumeRole")
    iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole", r["Arn"])))
    out = client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="s1", DurationSeconds=7200)
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA"), c["AccessKeyId"]
    eq(out["AssumedRoleUser"]["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1", "assumed arn")
    session = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    me = client("sts", session).get_caller_identity()
    eq(me["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1", "caller")
    assert me["UserId"].endswith(":s1") and me["UserId"].startswith("AROA"), me["UserId"]
    client("s3", session).list_buckets()
    client("iam", session).get_role(RoleName=role)
    expect_error(lambda: client("sagemaker", session).list_models(), "AccessDeniedException", 400)
    # Without its token, or with another, the temporary key is refused.
    expect_error(lambda: client("sts", session[:2]).get_caller_identity(), "InvalidClientTokenId", 403)
    expect_error(lambda: client("sts", (session[0], session[1], session[2][:-4] + "AAAA")).get_caller_identity(), "InvalidClientTokenId", 403)
    expect_error(lambda: client("s3", session[:2]).list_buckets(), "InvalidToken", 400)

    # Session policies narrow what the role allows.
    narrowed = client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="narrow", Policy=policy(allow("s3:ListAllMyBuckets")))["Credentials"]
    narrow = (narrowed["AccessKeyId"], narrowed["SecretAccessKey"], narrowed["SessionToken"])
    client("s3", narrow).list_buckets()
    expect_error(lambda: client("s3", narrow).create_bucket(Bucket=unique("narrow")), "AccessDenied", 403)
    expect_error(lambda: client("iam", narrow).get_role(RoleName=role), "AccessDenied", 403, "because no session policy allows the iam:GetRole action")
    managed = client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="managed", PolicyArns=[{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}])["Credentials"]
    client("iam", (managed["AccessKeyId"], managed["SecretAccessKey"], managed["SessionToken"])).get_role(RoleName=role)
    expect_error(lambda: client("s3", (managed["AccessKeyId"], managed["SecretAccessKey"], managed["SessionToken"])).list_buckets(), "AccessDenied", 403)

    expect_error(lambda: client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="long", DurationSeconds=10800), "ValidationError", 400, "MaxSessionDuration")
    expect_error(lambda: client("sts", session).assume_role(RoleArn=r["Arn"], RoleSessionName="chain", DurationSeconds=7200), "ValidationError", 400, "role chaining")
    expect_error(lambda: client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{unique('none')}", RoleSessionName="sx"), "AccessDenied", 403)
    expect_error(lambda: client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="sx", Policy="{"), "MalformedPolicyDocument", 400)

    # The trust policy decides: trusting only SageMaker shuts the user out.
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust({"Service": "sagemaker.amazonaws.com"}))
    expect_error(lambda: client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="s2"), "AccessDenied", 403)
    # ...unless it names the user itself, which needs no identity policy.
    iam.delete_user_policy(UserName=user, PolicyName="assume")
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"}))
    eventually(lambda: client("sts", creds).assume_role(RoleArn=r["Arn"], RoleSessionName="s3"))

    expect_error(lambda: iam.delete_role(RoleName=role), "DeleteConflict", 409)
    iam.delete_role_policy(RoleName=role, PolicyName="s3")
    iam.detach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.delete_role(RoleName=role)
    expect_error(lambda: iam.get_role(RoleName=role), "NoSuchEntity", 404)
    # A session of a deleted role can do nothing its role no longer grants.
    expect_error(lambda: client("s3", session).list_buckets(), "AccessDenied", 403)


def test_get_session_token():
    user, creds = new_user()
    iam.put_user_policy(UserName=user, PolicyName="list", PolicyDocument=policy(allow("s3:ListAllMyBuckets")))
    c = client("sts", creds).get_session_token(DurationSeconds=900)["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA"), c
    temp = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    eq(client("sts", temp).get_caller_identity()["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{user}", "same identity")
    client("s3", temp).list_buckets()
    expect_error(lambda: client("s3", temp).create_bucket(Bucket=unique("b")), "AccessDenied", 403)
    expect_error(lambda: client("sts", temp).get_session_token(), "AccessDenied", 403)
    # Without MFA, such credentials cannot call IAM (as in AWS).
    expect_error(lambda: client("iam", temp).get_user(), "InvalidClientTokenId", 403)


def test_control_characters_in_input_get_a_parsed_error():
    # Issue 19: the error message echoes the value, and XML 1.0 cannot carry a NUL; the value is
    # written with U+FFFD in its place, and the client reads a 4xx, never a 500 with no body.
    # (The client's own checks are off, as a client library's property-based tests have them.)
    unchecked = Config(retries={"max_attempts": 1}, parameter_validation=False)
    iam = validate_responses(boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=unchecked))
    sts = validate_responses(boto3.client("sts", endpoint_url=endpoint(), region_name="us-east-1", config=unchecked))
    e = expect_error(lambda: iam.delete_policy(PolicyArn="a\x00b"), "ValidationError", 400)
    assert "a\ufffdb" in e["Error"]["Message"], e["Error"]
    expect_error(lambda: iam.delete_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/no\x00such"), "NoSuchEntity", 404)
    e = expect_error(lambda: sts.get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/x", TokenCode="\x00"), "ValidationError", 400)
    assert "\ufffd" in e["Error"]["Message"], e["Error"]
    expect_error(lambda: sts.get_session_token(SerialNumber="\x01", TokenCode="123456"), "ValidationError", 400)
    # The model's patterns are checked, matched against the whole value as AWS matches them, and
    # the message quotes the model's pattern.
    e = expect_error(lambda: iam.get_user(UserName="x\x00y\x1f"), "ValidationError", 400)
    assert "at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+" in e["Error"]["Message"], e["Error"]
    e = expect_error(lambda: sts.get_session_token(SerialNumber="arn:aws:iam::123456789012:mfa/x", TokenCode="12345a"), "ValidationError", 400)
    assert "Value '12345a' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*" in e["Error"]["Message"], e["Error"]
    # \w is ASCII in AWS's patterns (Java's), so a name with a letter outside ASCII is refused.
    expect_error(lambda: iam.create_user(UserName="caf\u00e9"), "ValidationError", 400)
    role = unique("ctl")
    e = expect_error(lambda: iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"Service": "sagemaker.amazonaws.com"}),
                                             Description="a\x01b"), "ValidationError", 400)
    assert "at 'description'" in e["Error"]["Message"] and "a\ufffdb" in e["Error"]["Message"], e["Error"]
    expect_error(lambda: iam.get_role(RoleName=role), "NoSuchEntity", 404)


def test_permissions_boundary_caps_a_user():
    user, creds = new_user(PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    eq(iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"], "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "boundary")
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    client("s3", creds).list_buckets()
    expect_error(lambda: client("s3", creds).create_bucket(Bucket=unique("b")), "AccessDenied", 403)
    expect_error(lambda: client("iam", creds).list_users(), "AccessDenied", 403, "because no permissions boundary allows the iam:ListUsers action")
    iam.delete_user_permissions_boundary(UserName=user)
    client("iam", creds).list_users()
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    expect_error(lambda: client("s3", creds).list_buckets(), "AccessDenied", 403)
    role = unique("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": ACCOUNT}))
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    eq(iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"], "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "role boundary")
    iam.delete_role_permissions_boundary(RoleName=role)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=role)["Role"]
    iam.delete_role(RoleName=role)


def test_policy_simulator():
    doc = policy(allow("s3:GetObject", "arn:aws:s3:::data/*"), deny("s3:GetObject", "arn:aws:s3:::data/secret/*"))
    results = iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:GetObject", "s3:PutObject"],
                                         ResourceArns=["arn:aws:s3:::data/a", "arn:aws:s3:::data/secret/b"])["EvaluationResults"]
    got = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}
    eq(got, {("s3:GetObject", "arn:aws:s3:::data/a"): "allowed", ("s3:GetObject", "arn:aws:s3:::data/secret/b"): "explicitDeny",
             ("s3:PutObject", "arn:aws:s3:::data/a"): "implicitDeny", ("s3:PutObject", "arn:aws:s3:::data/secret/b"): "implicitDeny"}, "decisions")
    user, _ = new_user()
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=policy(allow("sagemaker:InvokeEndpoint")))
    results = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/{user}", ActionNames=["sagemaker:InvokeEndpoint", "s3:GetObject"])["EvaluationResults"]
    eq([r["EvalDecision"] for r in results], ["allowed", "implicitDeny"], "principal decisions")
    expect_error(lambda: iam.simulate_custom_policy(PolicyInputList=["{"], ActionNames=["s3:GetObject"]), "InvalidInput", 400)


def test_policy_simulator_evaluates_the_caller_in_its_own_account():
    """CallerArn names a user of another account; ResourceOwner (default: the caller's account)
    owns the resource, whose policy decides together with the caller's own, as AWS simulates it."""
    caller, their_root = "arn:aws:iam::123456789012:user/test-user", "arn:aws:iam::123456789012:root"
    elsewhere = "arn:aws:iam::210987654321:root"
    identity = [policy(allow("s3:GetObject"))]

    def decide(grantee, **kw):
        resource_policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": grantee}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]})
        results = iam.simulate_custom_policy(PolicyInputList=identity, ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
                                             ResourcePolicy=resource_policy, CallerArn=caller, **kw)["EvaluationResults"]
        return [r["EvalDecision"] for r in results]

    # The resource is the caller's account's, and its policy trusts that account.
    eq(decide(their_root, ResourceOwner=their_root), ["allowed"], "same account as the caller")
    eq(decide("123456789012", ResourceOwner=their_root), ["allowed"], "account id as principal")
    eq(decide(their_root), ["allowed"], "ResourceOwner defaults to the caller's account")
    # Within the caller's account the identity policy alone allows.
    eq(decide(elsewhere, ResourceOwner=their_root), ["allowed"], "identity policy within the account")
    # Across accounts both sides must allow.
    eq(decide(their_root, ResourceOwner=elsewhere), ["allowed"], "cross-account, granted by the resource policy")
    eq(decide(caller, ResourceOwner=elsewhere), ["allowed"], "cross-account, granted to the user itself")
    eq(decide("arn:aws:iam::111122223333:root", ResourceOwner=elsewhere), ["implicitDeny"], "cross-account, granted to someone else")
    results = iam.simulate_custom_policy(PolicyInputList=[policy(allow("s3:PutObject"))], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
                                         ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
                                             {"Effect": "Allow", "Principal": {"AWS": their_root}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]}),
                                         CallerArn=caller, ResourceOwner=elsewhere)["EvaluationResults"]
    eq([r["EvalDecision"] for r in results], ["implicitDeny"], "cross-account, the caller's own policies do not allow")
    # A resource policy's Principal needs a caller to match: AWS requires CallerArn with one.
    expect_error(lambda: iam.simulate_custom_policy(PolicyInputList=identity, ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/k"],
                                                    ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
                                                        {"Effect": "Allow", "Principal": {"AWS": their_root}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]})),
                 "InvalidInput", 400)

def strata(*args):
    return subprocess.run(["dotnet", os.environ["STRATA_DLL"], *args, "--data-dir", os.environ["STRATA_DATA_DIR"]], check=True, capture_output=True, text=True).stdout


def new_account():
    out = strata("accounts", "create", unique("tenant"))
    lines = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return out.split()[1], (lines["AWS_ACCESS_KEY_ID"], lines["AWS_SECRET_ACCESS_KEY"])


def test_accounts_are_isolated_and_cross_account_roles_need_trust():
    other, root_b = new_account()
    assert other != ACCOUNT and len(other) == 12, other
    assert other in strata("accounts", "list")
    eq(client("sts", root_b).get_caller_identity()["Account"], other, "account of the new root")
    # Each account sees only its own IAM entities and resources.
    user, _ = new_user()
    assert user not in [u["UserName"] for u in client("iam", root_b).list_users()["Users"]]
    client("iam", root_b).create_user(UserName=user)  # the same name is free in another account
    bucket = unique("private")
    client("s3").create_bucket(Bucket=bucket)
    expect_error(lambda: client("s3", root_b).list_objects_v2(Bucket=bucket), "AccessDenied", 403)
    # A role in this account trusting the other account: the other root may assume it...
    role = unique("x")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{other}:root"}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="list", PolicyDocument=policy(allow("s3:ListAllMyBuckets")))
    c = client("sts", root_b).assume_role(RoleArn=arn, RoleSessionName="cross")["Credentials"]
    eq(client("sts", (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])).get_caller_identity()["Account"], ACCOUNT, "crossed over")
    # ...its users only with their own permission too; and nobody from a third account.
    b_user_key = client("iam", root_b).create_access_key(UserName=user)["AccessKey"]
    b_user = (b_user_key["AccessKeyId"], b_user_key["SecretAccessKey"])
    expect_error(lambda: client("sts", b_user).assume_role(RoleArn=arn, RoleSessionName="cross-user"), "AccessDenied", 403)
    client("iam", root_b).put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole")))
    client("sts", b_user).assume_role(RoleArn=arn, RoleSessionName="cross-user")
    _, root_c = new_account()
    expect_error(lambda: client("sts", root_c).assume_role(RoleArn=arn, RoleSessionName="third"), "AccessDenied", 403)
    # A session token of one account does not make another account's key valid.
    expect_error(lambda: client("sts", (root_c[0], root_c[1], c["SessionToken"])).get_caller_identity(), "InvalidClientTokenId", 403)


def test_forged_signature_is_refused():
    _, creds = new_user()
    # A secret that differs in its last character (never the same one by chance).
    forged = creds[1][:-1] + ("y" if creds[1].endswith("x") else "x")
    expect_error(lambda: client("sts", (creds[0], forged)).get_caller_identity(), "SignatureDoesNotMatch", 403)
    expect_error(lambda: client("iam", ("AKIA" + "A" * 16, "secret")).list_users(), "InvalidClientTokenId", 403)


run(globals())
