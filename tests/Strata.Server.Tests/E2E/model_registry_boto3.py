"""The SageMaker model registry end to end with an unmodified boto3 (1.43 and Debian's 1.26): model
package groups, versions 1, 2, … registered in them with their inference specification and metrics,
approval, the lists' filters, sorting and pagination, packages named by ARN, a model made from the
approved version deployed to an endpoint that answers (the ONNX classifier the hosting tests use),
customer metadata, tags, IAM on the registry's resources and its condition keys, the "SageMaker Model
Package State Change" event delivered by a rule, unversioned packages, and AWS's errors."""
import io
import json
import os
import tarfile

from harness import client, eq, execution_role, expect_error, run, unique, until, validate_responses

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1"
sm = validate_responses(client("sagemaker"))
rt = validate_responses(client("sagemaker-runtime"))
s3, iam, events, logs = client("s3"), client("iam"), client("events"), client("logs")
ACCOUNT = client("sts").get_caller_identity()["Account"]
PREFIX = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:"
BUCKET = unique("registry")
s3.create_bucket(Bucket=BUCKET)
ROLE = execution_role(iam)
# Members newer than Debian's boto3 1.26 (its model drops them from what it parses).
NEW_MODEL = "IamIdentity" in sm.meta.service_model.shape_for("UserContext").members


def artifact(model="classifier"):
    """models/<model>/model.onnx as a gzip tar in S3, as SageMaker expects model artifacts."""
    key = f"{model}/{unique('v')}/model.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(MODELS, model, "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=BUCKET, Key=key, Body=buffer.getvalue())
    return f"s3://{BUCKET}/{key}"


def metrics_source(name):
    """Where a user's statistics, constraints or report are (the registry keeps the reference)."""
    return {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/metrics/{name}.json"}


def spec(url, **extra):
    return {"Containers": [{"Image": IMAGE, "ModelDataUrl": url, **extra}], "SupportedContentTypes": ["application/json", "text/csv"],
            "SupportedResponseMIMETypes": ["application/json"], "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"],
            "SupportedTransformInstanceTypes": ["ml.m5.large"]}


def group_with_versions(n=2, **first):
    """A new group and `n` versions in it (the first with `first`'s extra members); the group's
    name and the versions' ARNs."""
    group = unique("churn")
    sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="churn models")
    url = artifact()
    arns = [sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(url), **(first if i == 0 else {}))["ModelPackageArn"]
            for i in range(n)]
    return group, arns


def test_groups_versions_approval_and_the_lists():
    group = unique("Churn")
    arn = sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="churn models",
                                        Tags=[{"Key": "team", "Value": "ml"}])["ModelPackageGroupArn"]
    eq(arn, f"{PREFIX}model-package-group/{group.lower()}", "the group's ARN is in lower case")
    for name in (group, arn):
        d = sm.describe_model_package_group(ModelPackageGroupName=name)
        eq((d["ModelPackageGroupName"], d["ModelPackageGroupArn"], d["ModelPackageGroupDescription"], d["ModelPackageGroupStatus"]),
           (group, arn, "churn models", "Completed"), f"described by {name}")
    if NEW_MODEL:
        eq(d["CreatedBy"]["IamIdentity"]["Arn"], f"arn:aws:iam::{ACCOUNT}:root", "who made it")

    url = artifact()
    first = sm.create_model_package(
        ModelPackageGroupName=group, ModelPackageDescription="first try", InferenceSpecification=spec(url, Environment={"MODE": "fast"}),
        ModelMetrics={"ModelQuality": {"Statistics": metrics_source("statistics"), "Constraints": metrics_source("constraints")},
                      "Bias": {"Report": metrics_source("bias")}},
        MetadataProperties={"CommitId": "abc123", "Repository": "git@example.com:ml/churn.git"},
        CustomerMetadataProperties={"owner": "alice", "dataset": "2026-11"}, Domain="MACHINE_LEARNING", Task="CLASSIFICATION")["ModelPackageArn"]
    eq(first, f"{PREFIX}model-package/{group.lower()}/1", "version 1's ARN")
    second = sm.create_model_package(ModelPackageGroupName=arn, InferenceSpecification=spec(url), ModelApprovalStatus="PendingManualApproval")["ModelPackageArn"]
    eq(second, f"{PREFIX}model-package/{group.lower()}/2", "version 2, registered by the group's ARN")

    d = sm.describe_model_package(ModelPackageName=first)
    eq((d["ModelPackageName"], d["ModelPackageGroupName"], d["ModelPackageVersion"], d["ModelPackageArn"], d["ModelPackageDescription"]),
       (group, group, 1, first, "first try"), "version 1")
    eq((d["ModelPackageStatus"], d["ModelApprovalStatus"]), ("Completed", "PendingManualApproval"), "Completed, waiting for approval")
    eq(d["ModelPackageStatusDetails"]["ValidationStatuses"], [], "nothing to validate")
    eq(d["InferenceSpecification"], spec(url, Environment={"MODE": "fast"}), "the inference specification as given")
    eq(d["ModelMetrics"]["ModelQuality"]["Statistics"], metrics_source("statistics"), "the metrics as given")
    eq(d["ModelMetrics"]["Bias"], {"Report": metrics_source("bias")}, "the bias report as given")
    eq(d["MetadataProperties"], {"CommitId": "abc123", "Repository": "git@example.com:ml/churn.git"}, "metadata properties")
    eq(d["CustomerMetadataProperties"], {"owner": "alice", "dataset": "2026-11"}, "customer metadata")
    eq((d["Domain"], d["Task"], d["CertifyForMarketplace"]), ("MACHINE_LEARNING", "CLASSIFICATION", False), "domain and task")
    assert "ApprovalDescription" not in d and "LastModifiedBy" not in d, d
    if NEW_MODEL:
        eq(d["CreatedBy"]["IamIdentity"]["Arn"], f"arn:aws:iam::{ACCOUNT}:root", "who registered it")
    eq(sm.describe_model_package(ModelPackageName=f"{group}/2")["ModelPackageArn"], second, "named group/version")
    # A versioned package is not named by its group alone.
    expect_error(lambda: sm.describe_model_package(ModelPackageName=group), "ValidationException", 400,
                 f"ModelPackage {PREFIX}model-package/{group.lower()} does not exist.")

    eq(sm.update_model_package(ModelPackageArn=first, ModelApprovalStatus="Approved", ApprovalDescription="AUC 0.91 on holdout")["ModelPackageArn"],
       first, "updated")
    d = sm.describe_model_package(ModelPackageName=first)
    eq((d["ModelApprovalStatus"], d["ApprovalDescription"]), ("Approved", "AUC 0.91 on holdout"), "approved")
    assert d["LastModifiedTime"] >= d["CreationTime"], d
    assert "LastModifiedBy" in d, d

    def listed(**kw):
        return [(p["ModelPackageVersion"], p["ModelApprovalStatus"]) for p in sm.list_model_packages(**kw)["ModelPackageSummaryList"]]
    eq(listed(ModelPackageGroupName=group), [(1, "Approved"), (2, "PendingManualApproval")], "a group's versions, oldest first")
    eq(listed(ModelPackageGroupName=arn, SortOrder="Descending"), [(2, "PendingManualApproval"), (1, "Approved")], "newest first, by the group's ARN")
    eq(listed(ModelPackageGroupName=group, ModelApprovalStatus="Approved"), [(1, "Approved")], "the approved ones")
    eq(listed(ModelPackageType="Versioned", NameContains=group.lower()), [(1, "Approved"), (2, "PendingManualApproval")], "versioned, by name")
    eq(listed(ModelPackageGroupName=group, CreationTimeAfter=d["CreationTime"].replace(year=2099)), [], "none made after 2099")
    eq(len(listed(ModelPackageGroupName=group, CreationTimeBefore=d["CreationTime"].replace(year=2099))), 2, "both made before 2099")
    assert first not in [p["ModelPackageArn"] for p in sm.list_model_packages()["ModelPackageSummaryList"]], "unversioned ones by default"
    summary = sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"][0]
    eq((summary["ModelPackageGroupName"], summary["ModelPackageArn"], summary["ModelPackageStatus"], summary["ModelPackageDescription"]),
       (group, first, "Completed", "first try"), "a summary")
    eq((summary["ModelPackageName"], summary["ModelPackageVersion"]), (group, 1), "named as its group")
    page = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=1)
    eq([p["ModelPackageVersion"] for p in page["ModelPackageSummaryList"]], [1], "first page")
    page = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=1, NextToken=page["NextToken"])
    eq(([p["ModelPackageVersion"] for p in page["ModelPackageSummaryList"]], page.get("NextToken")), ([2], None), "last page")
    paged = [p["ModelPackageArn"] for pg in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group, PaginationConfig={"PageSize": 1})
             for p in pg["ModelPackageSummaryList"]]
    eq(paged, [first, second], "the paginator")

    other = unique("Churn")
    sm.create_model_package_group(ModelPackageGroupName=other)
    prefix = group[:-12]
    groups = sm.list_model_package_groups(NameContains=prefix, SortBy="Name", SortOrder="Descending")["ModelPackageGroupSummaryList"]
    names = [g["ModelPackageGroupName"] for g in groups]
    assert group in names and other in names, names
    eq(names.index(group) < names.index(other), group > other, "by name, descending")
    g = [g for g in groups if g["ModelPackageGroupName"] == group][0]
    eq((g["ModelPackageGroupArn"], g["ModelPackageGroupStatus"], g["ModelPackageGroupDescription"]), (arn, "Completed", "churn models"), "a group's summary")
    one = sm.list_model_package_groups(NameContains=prefix, MaxResults=1)
    eq(len(one["ModelPackageGroupSummaryList"]), 1, "one per page")
    rest = sm.list_model_package_groups(NameContains=prefix, NextToken=one["NextToken"])["ModelPackageGroupSummaryList"]
    assert one["ModelPackageGroupSummaryList"][0]["ModelPackageGroupName"] not in [x["ModelPackageGroupName"] for x in rest], "no group twice"
    if "CrossAccountFilterOption" in sm.meta.service_model.operation_model("ListModelPackageGroups").input_shape.members:  # newer than boto3 1.26
        eq(sm.list_model_package_groups(NameContains=prefix, CrossAccountFilterOption="CrossAccount")["ModelPackageGroupSummaryList"], [], "none shared")

    # Tags on the group and on a version (the tagging operations on the registry's ARNs).
    eq(sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "the group's tags from create")
    sm.add_tags(ResourceArn=first, Tags=[{"Key": "stage", "Value": "prod"}])
    eq(sm.list_tags(ResourceArn=first)["Tags"], [{"Key": "stage", "Value": "prod"}], "a version's tags")
    sm.delete_tags(ResourceArn=first, TagKeys=["stage"])
    eq(sm.list_tags(ResourceArn=first)["Tags"], [], "deleted")
    expect_error(lambda: sm.list_tags(ResourceArn=f"{PREFIX}model-package/{group.lower()}/9"), "ValidationException", 400, "does not exist")

    # Deletion: a group with versions is refused until they are gone.
    expect_error(lambda: sm.delete_model_package_group(ModelPackageGroupName=group), "ConflictException", 400, "contains model packages")
    sm.delete_model_package(ModelPackageName=first)
    sm.delete_model_package(ModelPackageName=f"{group}/2")
    expect_error(lambda: sm.describe_model_package(ModelPackageName=first), "ValidationException", 400, f"ModelPackage {first} does not exist.")
    eq(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"], [], "no versions left")
    # A version number is not given again.
    eq(sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(url))["ModelPackageArn"], f"{PREFIX}model-package/{group.lower()}/3", "version 3")
    sm.delete_model_package(ModelPackageName=f"{PREFIX}model-package/{group.lower()}/3")
    sm.delete_model_package_group(ModelPackageGroupName=arn)
    expect_error(lambda: sm.describe_model_package_group(ModelPackageGroupName=group), "ValidationException", 400, f"ModelPackageGroup {arn} does not exist.")
    expect_error(lambda: sm.list_tags(ResourceArn=arn), "ValidationException", 400)
    sm.delete_model_package_group(ModelPackageGroupName=other)


def invoke(endpoint_name, rows):
    r = rt.invoke_endpoint(EndpointName=endpoint_name, Body=json.dumps({"instances": rows}), ContentType="application/json")
    return [p["label"] for p in json.loads(r["Body"].read())["predictions"]]


def test_a_model_from_the_approved_version_answers():
    group, (approved, pending) = group_with_versions(2)
    sm.update_model_package(ModelPackageArn=approved, ModelApprovalStatus="Approved")
    model = unique("from-registry")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": approved, "Environment": {"EXTRA": "1"}}])
    described = sm.describe_model(ModelName=model)["Containers"][0]
    eq((described["ModelPackageName"], described["Image"], described["Environment"]), (approved, IMAGE, {"EXTRA": "1"}), "the package's image")
    assert described["ModelDataUrl"].startswith(f"s3://{BUCKET}/classifier/"), described
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "main", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    endpoint_name = unique("ep")
    sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    eq(sm.describe_endpoint(EndpointName=endpoint_name)["ProductionVariants"][0]["DeployedImages"][0]["SpecifiedImage"], IMAGE, "deployed image")
    eq(invoke(endpoint_name, [[5.1, 3.5, 1.4, 0.2], [0, 0, 6, 5]]), ["setosa", "virginica"], "the package's model answers")
    sm.delete_endpoint(EndpointName=endpoint_name)
    sm.delete_endpoint_config(EndpointConfigName=config)
    sm.delete_model(ModelName=model)

    # A version waiting for approval, or rejected, is not deployed.
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": pending}),
                 "ValidationException", 400, "ModelApprovalStatus PendingManualApproval")
    sm.update_model_package(ModelPackageArn=pending, ModelApprovalStatus="Rejected", ApprovalDescription="worse than version 1")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": f"{group}/2"}),
                 "ValidationException", 400, "ModelApprovalStatus Rejected")
    # Approval taken back: no new model from it either.
    sm.update_model_package(ModelPackageArn=approved, ModelApprovalStatus="Rejected")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": approved}),
                 "ValidationException", 400, "must be Approved")


def test_customer_metadata_updates():
    _, (arn,) = group_with_versions(1, CustomerMetadataProperties={"owner": "alice", "dataset": "2026-11"})
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"owner": "bob", "stage": "staging"},
                            CustomerMetadataPropertiesToRemove=["dataset"])
    d = sm.describe_model_package(ModelPackageName=arn)
    eq(d["CustomerMetadataProperties"], {"owner": "bob", "stage": "staging"}, "set, replaced and removed")
    eq(d["ModelApprovalStatus"], "PendingManualApproval", "the approval untouched")
    expect_error(lambda: sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"stage": "prod"},
                                                 CustomerMetadataPropertiesToRemove=["stage"]), "ValidationException", 400, "both set and removed")
    expect_error(lambda: sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={f"k{i}": "v" for i in range(49)}),
                 "ValidationException", 400, "at most 50")
    eq(sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"], {"owner": "bob", "stage": "staging"}, "nothing written")


def test_the_state_change_event_reaches_a_rule():
    group = unique("events")
    log_group = unique("/registry/")
    logs.create_log_group(logGroupName=log_group)
    rule = unique("approved")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
                                                        "detail": {"ModelPackageGroupName": [group], "ModelApprovalStatus": ["Approved"]}}))
    events.put_targets(Rule=rule, Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{log_group}"}])
    sm.create_model_package_group(ModelPackageGroupName=group)
    arn = sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(artifact()),
                                  ModelMetrics={"ModelQuality": {"Statistics": metrics_source("statistics")}})["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ship it")

    def delivered():
        return [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=log_group)["events"]]
    until("the approval's event", lambda: delivered() != [], 30)
    (event,) = delivered()  # the registration (PendingManualApproval) matched no rule
    eq((event["source"], event["detail-type"], event["account"], event["region"], event["resources"]),
       ("aws.sagemaker", "SageMaker Model Package State Change", ACCOUNT, "us-east-1", [arn]), "the envelope")
    d = event["detail"]
    eq((d["ModelPackageGroupName"], d["ModelPackageVersion"], d["ModelPackageArn"], d["ModelApprovalStatus"], d["ModelPackageStatus"]),
       (group, 1, arn, "Approved", "Completed"), "the detail")
    eq((d["ApprovalDescription"], d["InferenceSpecification"]["Containers"][0]["Image"]), ("ship it", IMAGE), "what was approved")
    eq(d["ModelMetrics"]["ModelQuality"]["Statistics"], metrics_source("statistics"), "its metrics")
    events.remove_targets(Rule=rule, Ids=["log"])
    events.delete_rule(Name=rule)


def test_unversioned_packages():
    name = unique("Scorer")
    url = artifact("classifier")
    arn = sm.create_model_package(ModelPackageName=name, ModelPackageDescription="no group", InferenceSpecification=spec(url),
                                  Tags=[{"Key": "team", "Value": "ml"}], CertifyForMarketplace=False)["ModelPackageArn"]
    eq(arn, f"{PREFIX}model-package/{name.lower()}", "an unversioned package's ARN")
    d = sm.describe_model_package(ModelPackageName=name)
    eq((d["ModelPackageName"], d["ModelPackageArn"], d["ModelPackageStatus"]), (name, arn, "Completed"), "described by name")
    assert "ModelPackageGroupName" not in d and "ModelPackageVersion" not in d and "ModelApprovalStatus" not in d, d
    listed = [(p["ModelPackageName"], p["ModelPackageArn"]) for p in sm.list_model_packages(NameContains=name.lower())["ModelPackageSummaryList"]]
    eq(listed, [(name, arn)], "listed by default")
    eq(sm.list_model_packages(NameContains=name.lower(), ModelPackageType="Versioned")["ModelPackageSummaryList"], [], "not versioned")
    eq(len(sm.list_model_packages(NameContains=name.lower(), ModelPackageType="Both")["ModelPackageSummaryList"]), 1, "both")
    eq(sm.list_tags(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "ml"}], "tags from create")
    # No approval applies: a model is made from it as it is.
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn})
    eq(sm.describe_model(ModelName=model)["PrimaryContainer"]["ModelDataUrl"], url, "the package's artifacts")
    sm.delete_model(ModelName=model)
    expect_error(lambda: sm.create_model_package(ModelPackageName=name, InferenceSpecification=spec(url)), "ValidationException", 400, "already exists")
    expect_error(lambda: sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved"), "ValidationException", 400, "versioned")
    expect_error(lambda: sm.create_model_package(ModelPackageName=unique("env"), InferenceSpecification=spec(url, Environment={"A": "1"})),
                 "ValidationException", 400, "Environment variable map cannot be specified when using non-versioned ModelPackages")
    sm.delete_model_package(ModelPackageName=arn)
    expect_error(lambda: sm.delete_model_package(ModelPackageName=arn), "ValidationException", 400, "does not exist")


def test_a_client_token_registers_once():
    group = unique("retry")
    sm.create_model_package_group(ModelPackageGroupName=group)
    url = artifact()
    token = unique("t")
    arns = {sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(url), ClientToken=token)["ModelPackageArn"] for _ in range(3)}
    eq(arns, {f"{PREFIX}model-package/{group.lower()}/1"}, "one version for one token")
    eq(len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]), 1, "one version")


def test_iam_on_the_registry():
    """Policies name the registry's resources (model-package-group/…, model-package/group/…) and
    its condition keys: a reviewer who may only reject, in one group."""
    group, (arn,) = group_with_versions(1)
    other, (other_arn,) = group_with_versions(1)
    user = unique("reviewer")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="review", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
         "Resource": [f"{PREFIX}model-package/{group.lower()}/*", f"{PREFIX}model-package-group/{group.lower()}"]},
        {"Effect": "Allow", "Action": "sagemaker:UpdateModelPackage", "Resource": f"{PREFIX}model-package/{group.lower()}/*",
         "Condition": {"StringEquals": {"sagemaker:ModelApprovalStatus": "Rejected"}}},
        {"Effect": "Allow", "Action": "sagemaker:CreateModelPackage", "Resource": f"{PREFIX}model-package/{group.lower()}/*",
         "Condition": {"StringEquals": {"sagemaker:CustomerMetadataProperties/reviewed": "yes"}}}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    theirs = validate_responses(client("sagemaker", (key["AccessKeyId"], key["SecretAccessKey"])))
    theirs.describe_model_package(ModelPackageName=arn)
    theirs.describe_model_package_group(ModelPackageGroupName=group)
    expect_error(lambda: theirs.describe_model_package(ModelPackageName=other_arn), "AccessDeniedException", 400, "sagemaker:DescribeModelPackage")
    expect_error(lambda: theirs.describe_model_package_group(ModelPackageGroupName=other), "AccessDeniedException", 400)
    expect_error(lambda: theirs.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved"), "AccessDeniedException", 400)
    theirs.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Rejected")
    eq(sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"], "Rejected", "rejected by the reviewer")
    url = artifact()
    expect_error(lambda: theirs.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(url)), "AccessDeniedException", 400)
    made = theirs.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(url), CustomerMetadataProperties={"reviewed": "yes"})
    eq(made["ModelPackageArn"], f"{PREFIX}model-package/{group.lower()}/2", "registered with the metadata the policy asks for")


def test_bad_inputs():
    group, (arn,) = group_with_versions(1)
    url = artifact()
    expect_error(lambda: sm.describe_model_package_group(ModelPackageGroupName=unique("missing")), "ValidationException", 400, "does not exist")
    expect_error(lambda: sm.delete_model_package_group(ModelPackageGroupName=unique("missing")), "ValidationException", 400, "does not exist")
    expect_error(lambda: sm.create_model_package_group(ModelPackageGroupName=group.upper()), "ValidationException", 400,
                 f"Model Package Group already exists: {PREFIX}model-package-group/{group.lower()}")
    expect_error(lambda: sm.create_model_package_group(ModelPackageGroupName="bad_name"), "ValidationException", 400, "regular expression")
    missing = unique("missing")
    expect_error(lambda: sm.create_model_package(ModelPackageGroupName=missing, InferenceSpecification=spec(url)), "ValidationException", 400,
                 f"ModelPackageGroup {PREFIX}model-package-group/{missing} does not exist.")
    expect_error(lambda: sm.create_model_package(ModelPackageGroupName=group, ModelPackageName="x", InferenceSpecification=spec(url)),
                 "ValidationException", 400, "Both ModelPackageName and ModelPackageGroupName")
    expect_error(lambda: sm.create_model_package(InferenceSpecification=spec(url)), "ValidationException", 400, "Missing ARN")
    expect_error(lambda: sm.create_model_package(ModelPackageGroupName=group), "ValidationException", 400, "InferenceSpecification")
    expect_error(lambda: sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=spec(url), ModelApprovalStatus="Maybe"),
                 "ValidationException", 400, "Member must satisfy enum value set")
    expect_error(lambda: sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="approved"), "ValidationException", 400,
                 "Member must satisfy enum value set")
    expect_error(lambda: sm.update_model_package(ModelPackageArn=f"{group}/1", ModelApprovalStatus="Approved"), "ValidationException", 400,
                 "regular expression")
    for bad in (f"{PREFIX}model-package/{group.lower()}/9", f"{PREFIX}model/{group.lower()}"):
        expect_error(lambda: sm.describe_model_package(ModelPackageName=bad), "ValidationException", 400, f"ModelPackage {bad} does not exist.")
    # Another account's package is authorized as that account's resource: without its policy, refused.
    expect_error(lambda: sm.describe_model_package(ModelPackageName=f"arn:aws:sagemaker:us-east-1:000000000000:model-package/{group.lower()}/1"),
                 "AccessDeniedException", 400, "no resource-based policy allows")
    expect_error(lambda: sm.update_model_package(ModelPackageArn=f"{PREFIX}model-package/{group.lower()}/9", ModelApprovalStatus="Approved"),
                 "ValidationException", 400, "does not exist")
    expect_error(lambda: sm.describe_model_package(ModelPackageName="not an arn!"), "ValidationException", 400, "regular expression")
    expect_error(lambda: sm.list_model_packages(ModelPackageType="Some"), "ValidationException", 400, "Member must satisfy enum value set")
    expect_error(lambda: sm.list_model_packages(NextToken="bogus"), "ValidationException", 400, "pagination token")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": f"{PREFIX}model-package/{missing}/1"}),
                 "ValidationException", 400, f"ModelPackage {PREFIX}model-package/{missing}/1 does not exist.")
    expect_error(lambda: sm.create_model(ModelName=unique("m"), ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn, "Image": IMAGE}),
                 "ValidationException", 400, "Specify one of either Image and Model Data URL or ModelPackageName in container definition.")
    if "Image" not in sm.meta.service_model.shape_for("ModelPackageContainerDefinition").required_members:  # boto3 1.26 requires it itself
        expect_error(lambda: sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification={"Containers": [{"ModelDataUrl": url}]}),
                     "ValidationException", 400, "inferenceSpecification.containers.1.image")
    expect_error(lambda: sm.delete_model_package(ModelPackageName=f"{group}/9"), "ValidationException", 400, "does not exist")
    eq(len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]), 1, "nothing made by the refused requests")


if __name__ == "__main__":
    run(globals())
