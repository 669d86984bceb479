"""CloudWatch metrics and dashboards with an unmodified boto3: boto3 1.43 speaks JSON 1.0 to
CloudWatch (the first of the model's protocols botocore prefers), boto3 1.26 Query; RPC v2 CBOR (the
model's first protocol, which newer SDKs speak) is driven by botocore's own CBOR serializer and parser.
What SageMaker endpoints record appears under AWS/SageMaker."""
import datetime
import io
import json
import math
import os
import shutil
import tarfile
import tempfile
import time

import boto3
import botocore
import botocore.session
from botocore.config import Config

from harness import endpoint, eq, execution_role, expect_error, run, unique, validate_responses

NEW_BOTOCORE = tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 40)
cfg = Config(retries={"max_attempts": 1})
cw = validate_responses(boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
# Sends what botocore itself would refuse to send, so the server's own checks answer.
raw = validate_responses(boto3.client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1",
                                      config=Config(retries={"max_attempts": 1}, parameter_validation=False)))
UTC = datetime.timezone.utc


def now():
    return datetime.datetime.now(UTC)


def window(minutes=10):
    t = now()
    return t - datetime.timedelta(minutes=minutes), t + datetime.timedelta(minutes=1)


def dims(**kw):
    return [{"Name": k, "Value": v} for k, v in kw.items()]


def test_protocol_spoken():
    """The protocol botocore chose is the one expected of its generation."""
    model = cw.meta.service_model
    eq(getattr(model, "resolved_protocol", model.protocol), "json" if NEW_BOTOCORE else "query", "protocol")


def test_put_values_counts_sets_and_statistics():
    ns = unique("App")
    start, end = window()
    # Values with Counts, a single value, and a statistic set; dimensions in either order are one series.
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims(Svc="a", Op="get"), "Values": [10, 20, 30], "Counts": [1, 2, 1], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims(Op="get", Svc="a"), "Value": 40, "Unit": "Milliseconds"},
        {"MetricName": "Bytes", "Dimensions": dims(Svc="a"), "StatisticValues": {"SampleCount": 4, "Sum": 100, "Minimum": 5, "Maximum": 50}, "Unit": "Bytes"},
    ])
    r = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims(Svc="a", Op="get"), StartTime=start, EndTime=end, Period=3600,
                                 Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    eq(r["Label"], "Latency", "label")
    eq(len(r["Datapoints"]), 1, "one period")
    d = r["Datapoints"][0]
    eq((d["SampleCount"], d["Sum"], d["Average"], d["Minimum"], d["Maximum"], d["Unit"]), (5, 120, 24, 10, 40, "Milliseconds"), "statistics")
    r = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims(Op="get", Svc="a"), StartTime=start, EndTime=end, Period=3600,
                                 ExtendedStatistics=["p50", "p100", "tm80", "IQM", "TC(15:35)", "PR(:20)"])
    x = r["Datapoints"][0]["ExtendedStatistics"]
    # Values 10, 20, 20, 30, 40 (percentiles within the sketch's 1 %).
    assert abs(x["p50"] - 20) <= 0.2, x
    eq(x["p100"], 40, "p100 is the maximum")
    assert abs(x["tm80"] - 20) <= 0.2, x  # 10, 20, 20, 30 (40 is above the 80th percentile)
    eq(x["TC(15:35)"], 3, "trimmed count by value")
    eq(x["PR(:20)"], 60, "percentile rank")
    assert "IQM" in x, x
    # A statistic set has no distribution: its percentiles are not known.
    r = cw.get_metric_statistics(Namespace=ns, MetricName="Bytes", Dimensions=dims(Svc="a"), StartTime=start, EndTime=end, Period=60,
                                 Statistics=["Average", "SampleCount"])
    eq((r["Datapoints"][0]["Average"], r["Datapoints"][0]["SampleCount"]), (25, 4), "statistic set")
    r = cw.get_metric_statistics(Namespace=ns, MetricName="Bytes", Dimensions=dims(Svc="a"), StartTime=start, EndTime=end, Period=60, ExtendedStatistics=["p90"])
    eq(r["Datapoints"][0].get("ExtendedStatistics", {}), {}, "no percentile of a statistic set")
    # Another unit, another dimension set, another account's view: no data.
    eq(cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims(Svc="a", Op="get"), StartTime=start, EndTime=end, Period=60,
                                Statistics=["Sum"], Unit="Seconds")["Datapoints"], [], "other unit")
    eq(cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=dims(Svc="a"), StartTime=start, EndTime=end, Period=60,
                                Statistics=["Sum"])["Datapoints"], [], "a subset of the dimensions is another series")


def test_high_resolution_seconds():
    ns = unique("Hi")
    t = now().replace(microsecond=0) - datetime.timedelta(seconds=30)
    data = [{"MetricName": "Req", "Timestamp": t + datetime.timedelta(seconds=s), "Value": s + 1, "StorageResolution": 1} for s in range(5)]
    data.append({"MetricName": "Std", "Timestamp": t, "Value": 7})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    r = cw.get_metric_statistics(Namespace=ns, MetricName="Req", StartTime=t, EndTime=t + datetime.timedelta(seconds=10), Period=1, Statistics=["Sum"])
    eq(sorted((p["Timestamp"].astimezone(UTC), p["Sum"]) for p in r["Datapoints"]),
       [(t + datetime.timedelta(seconds=s), s + 1.0) for s in range(5)], "one datapoint per second")
    r = cw.get_metric_statistics(Namespace=ns, MetricName="Req", StartTime=t, EndTime=t + datetime.timedelta(seconds=10), Period=5, Statistics=["Sum"])
    eq(sum(p["Sum"] for p in r["Datapoints"]), 15, "5-second periods")
    # Standard-resolution data has no seconds.
    eq(cw.get_metric_statistics(Namespace=ns, MetricName="Std", StartTime=t, EndTime=t + datetime.timedelta(seconds=10), Period=1,
                                Statistics=["Sum"])["Datapoints"], [], "standard resolution at 1 s")
    eq(cw.get_metric_statistics(Namespace=ns, MetricName="Std", StartTime=t - datetime.timedelta(minutes=1), EndTime=t + datetime.timedelta(minutes=1),
                                Period=60, Statistics=["Sum"])["Datapoints"][0]["Sum"], 7, "standard resolution at 60 s")


def test_get_metric_data_queries_and_math():
    ns = unique("Math")
    base = now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=6)
    minute = datetime.timedelta(minutes=1)
    # a: 1, 2, _, 4, 5 per minute; b: 10 at every minute.
    data = []
    for i, v in enumerate([1, 2, None, 4, 5]):
        if v is not None:
            data.append({"MetricName": "A", "Dimensions": dims(Host="h1"), "Timestamp": base + i * minute, "Value": v})
        data.append({"MetricName": "B", "Dimensions": dims(Host="h1"), "Timestamp": base + i * minute, "Value": 10})
    data.append({"MetricName": "A", "Dimensions": dims(Host="h2"), "Timestamp": base, "Value": 100})
    cw.put_metric_data(Namespace=ns, MetricData=data)

    def stat(id, name, host="h1", **kw):
        return {"Id": id, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims(Host=host)}, "Period": 60, "Stat": "Sum"}, **kw}

    def get(queries, **kw):
        r = cw.get_metric_data(StartTime=base, EndTime=base + 5 * minute, MetricDataQueries=queries, ScanBy="TimestampAscending", **kw)
        return {(x["Id"], x["Label"]): x["Values"] for x in r["MetricDataResults"]}, r

    results, _ = get([stat("a", "A"), stat("b", "B", ReturnData=False),
                      {"Id": "sum", "Expression": "a + b", "Label": "a plus b"},
                      {"Id": "ratio", "Expression": "100 * a / b"},
                      {"Id": "total", "Expression": "SUM(METRICS())"},
                      {"Id": "filled", "Expression": "FILL(a, 0)"},
                      {"Id": "repeat", "Expression": "FILL(a, REPEAT)"},
                      {"Id": "linear", "Expression": "FILL(a, LINEAR)"},
                      {"Id": "diff", "Expression": "DIFF(a)"},
                      {"Id": "rate", "Expression": "RATE(a)"},
                      {"Id": "big", "Expression": "IF(a > 2, a, 0)"},
                      {"Id": "avg", "Expression": "AVG(a)"}])
    eq(results[("a", "A")], [1, 2, 4, 5], "metric stat")
    assert ("b", "B") not in results, "ReturnData=False"
    eq(results[("sum", "a plus b")], [11, 12, 14, 15], "a + b where both have data")
    eq(results[("ratio", "ratio")], [10, 20, 40, 50], "arithmetic with numbers")
    eq(results[("total", "total")], [11, 12, 10, 14, 15], "SUM over an array, per timestamp")
    eq(results[("filled", "filled")], [1, 2, 0, 4, 5], "FILL with a value")
    eq(results[("repeat", "repeat")], [1, 2, 2, 4, 5], "FILL REPEAT")
    eq(results[("linear", "linear")], [1, 2, 3, 4, 5], "FILL LINEAR")
    eq(results[("diff", "diff")], [1, 2, 1], "DIFF")
    eq(results[("rate", "rate")], [1 / 60, 2 / 120, 1 / 60], "RATE per second")
    eq(results[("big", "big")], [0, 0, 4, 5], "IF")
    eq(results[("avg", "avg")], [3] * 5, "a number at every timestamp")

    search = 'SEARCH(\'{%s,Host} MetricName="A"\', \'Sum\', 60)' % ns
    results, _ = get([{"Id": "s", "Expression": search}, {"Id": "t", "Expression": f"SUM({search})"}])
    eq(results[("s", "h1 A")], [1, 2, 4, 5], "SEARCH series of h1")
    eq(results[("s", "h2 A")], [100], "SEARCH series of h2")
    eq(results[("t", "t")], [101, 2, 4, 5], "SUM of a SEARCH")

    # Pages of MaxDatapoints values, newest first by default.
    r = cw.get_metric_data(StartTime=base, EndTime=base + 5 * minute, MetricDataQueries=[stat("a", "A")], MaxDatapoints=3)
    eq(r["MetricDataResults"][0]["Values"], [5, 4, 2], "first page, descending")
    eq(r["MetricDataResults"][0]["StatusCode"], "PartialData", "more to come")
    r = cw.get_metric_data(StartTime=base, EndTime=base + 5 * minute, MetricDataQueries=[stat("a", "A")], MaxDatapoints=3, NextToken=r["NextToken"])
    eq((r["MetricDataResults"][0]["Values"], r["MetricDataResults"][0]["StatusCode"], r.get("NextToken")), ([1], "Complete", None), "last page")
    # The paginator follows the tokens.
    pages = cw.get_paginator("get_metric_data").paginate(StartTime=base, EndTime=base + 5 * minute, MetricDataQueries=[stat("a", "A")],
                                                         MaxDatapoints=2, ScanBy="TimestampAscending")
    eq([v for p in pages for v in p["MetricDataResults"][0]["Values"]], [1, 2, 4, 5], "paginated values")


def test_list_metrics_filters_and_pages():
    ns = unique("List")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "M", "Dimensions": dims(Host=f"h{i:03}", Role="web" if i % 2 else "db"), "Value": 1} for i in range(600)] + [
        {"MetricName": "Other", "Value": 1}])
    first = cw.list_metrics(Namespace=ns)
    eq(len(first["Metrics"]), 500, "a page holds 500")
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    eq(len(second["Metrics"]) + 500, 601, "the rest on the next page")
    assert "NextToken" not in second, second.keys()
    eq(len(cw.list_metrics(Namespace=ns, MetricName="M", Dimensions=[{"Name": "Role", "Value": "web"}])["Metrics"]), 300, "dimension value filter")
    eq(len(cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "h007"}])["Metrics"]), 1, "one host")
    eq(len(list(m for p in cw.get_paginator("list_metrics").paginate(Namespace=ns, Dimensions=[{"Name": "Host"}]) for m in p["Metrics"])), 600,
       "dimension name filter, paginated")
    eq(len(cw.list_metrics(Namespace=ns, MetricName="Other", RecentlyActive="PT3H")["Metrics"]), 1, "recently active")


def test_bad_input_gets_cloudwatch_errors():
    ns = unique("Bad")
    t = now()
    expect_error(lambda: cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1}]), "InvalidParameterValue", 400, "Namespace")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1}] * 1001), "InvalidParameterValue", 400, "1000")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "Timestamp": t - datetime.timedelta(days=15)}]),
                 "InvalidParameterValue", 400, "two weeks")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "Timestamp": t + datetime.timedelta(hours=3)}]),
                 "InvalidParameterValue", 400, "two hours")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "StorageResolution": 5}]), "InvalidParameterValue", 400)
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Values": [1, 2], "Counts": [1]}]), "InvalidParameterValue", 400, "same size")
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "Values": [1]}]), "InvalidParameterCombination", 400)
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "Dimensions": dims(**{f"d{i}": "x" for i in range(31)})}]),
                 "ValidationError", 400)
    expect_error(lambda: raw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "", "Value": 1}]), "ValidationError", 400, "metricName")
    expect_error(lambda: raw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "Unit": "Parsecs"}]), "ValidationError", 400, "unit")
    if NEW_BOTOCORE:
        # JSON 1.0 carries a NaN as the string "NaN" (Query cannot carry one).
        expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": math.nan}]), "InvalidParameterValue", 400, "NaN")
    # A refused request stores nothing of what it carried.
    expect_error(lambda: cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "kept", "Value": 1}, {"MetricName": "m", "Value": 1, "StorageResolution": 2}]),
                 "InvalidParameterValue", 400)
    eq(cw.list_metrics(Namespace=ns)["Metrics"], [], "nothing stored")

    start, end = window()
    expect_error(lambda: cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=end, EndTime=start, Period=60, Statistics=["Sum"]),
                 "InvalidParameterValue", 400, "StartTime")
    expect_error(lambda: cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=start, EndTime=end, Period=45, Statistics=["Sum"]),
                 "InvalidParameterValue", 400, "Period")
    expect_error(lambda: cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=start, EndTime=end, Period=60, ExtendedStatistics=["p101"]),
                 "InvalidParameterValue", 400, "p101")
    expect_error(lambda: cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=start, EndTime=end, Period=60), "MissingParameter", 400)
    expect_error(lambda: cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=t - datetime.timedelta(days=2), EndTime=t, Period=60, Statistics=["Sum"]),
                 "InvalidParameterCombination", 400, "1440")
    m = {"Namespace": ns, "MetricName": "m"}
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "A1", "MetricStat": {"Metric": m, "Period": 60, "Stat": "Sum"}}]),
                 "ValidationError", 400, "Id")
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "a", "MetricStat": {"Metric": m, "Period": 60, "Stat": "Sum"}},
                                                                                          {"Id": "a", "Expression": "1"}]), "ValidationError", 400, "unique")
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "e", "Expression": "a +"}]), "ValidationError", 400, "expression")
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "e", "Expression": "nothere * 2"}]), "ValidationError", 400, "nothere")
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "e", "Expression": "e + 1"}]), "ValidationError", 400, "itself")
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[{"Id": "a", "MetricStat": {"Metric": m, "Period": 60, "Stat": "p1000"}}]),
                 "InvalidParameterValue", 400, "p1000")
    expect_error(lambda: cw.list_metrics(Namespace=ns, NextToken="garbage"), "InvalidParameterValue", 400, "NextToken")
    expect_error(lambda: cw.get_metric_data(StartTime=start, EndTime=end, NextToken="garbage",
                                            MetricDataQueries=[{"Id": "a", "MetricStat": {"Metric": m, "Period": 60, "Stat": "Sum"}}]), "InvalidNextToken", 400)


def test_dashboards():
    name = unique("dash")
    body = json.dumps({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                                    "properties": {"metrics": [["AWS/SageMaker", "Invocations", "EndpointName", "demo"]], "period": 60, "stat": "Sum"}}]})
    eq(cw.put_dashboard(DashboardName=name, DashboardBody=body).get("DashboardValidationMessages", []), [], "no messages")
    d = cw.get_dashboard(DashboardName=name)
    eq((d["DashboardName"], json.loads(d["DashboardBody"])), (name, json.loads(body)), "stored as given")
    assert d["DashboardArn"].endswith(f":dashboard/{name}"), d["DashboardArn"]
    entries = cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    eq([(e["DashboardName"], e["Size"]) for e in entries], [(name, len(body))], "listed")
    expect_error(lambda: cw.put_dashboard(DashboardName=name, DashboardBody="{not json"), "InvalidParameterInput", 400)
    expect_error(lambda: cw.put_dashboard(DashboardName=name, DashboardBody='{"widgets":[{"type":"pie"}]}'), "InvalidParameterInput", 400, "type")
    expect_error(lambda: cw.put_dashboard(DashboardName="bad name!", DashboardBody=body), "InvalidParameterInput", 400)
    expect_error(lambda: cw.get_dashboard(DashboardName=unique("none")), "ResourceNotFound", 404)
    expect_error(lambda: cw.delete_dashboards(DashboardNames=[name, unique("none")]), "ResourceNotFound", 404)
    eq(len(cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]), 1, "nothing deleted when one is missing")
    cw.delete_dashboards(DashboardNames=[name])
    eq(cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"], [], "deleted")


def test_rpc_v2_cbor_protocol():
    """The model's RPC v2 CBOR protocol, spoken by botocore's own CBOR serializer and parser: the
    model is read as installed, with only its protocol list narrowed, into a temporary data path."""
    if not NEW_BOTOCORE:
        return  # boto3 1.26's model lists one protocol only
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    model = loader.load_service_model("cloudwatch", "service-2")
    model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
    model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
    root = tempfile.mkdtemp()
    try:
        version_dir = os.path.join(root, "cloudwatch", model["metadata"]["apiVersion"])
        os.makedirs(version_dir)
        with open(os.path.join(version_dir, "service-2.json"), "w") as f:
            json.dump(model, f)
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, root)
        cbor = validate_responses(boto3.Session(botocore_session=session).client("cloudwatch", endpoint_url=endpoint(), region_name="us-east-1", config=cfg))
        eq(cbor.meta.service_model.resolved_protocol, "smithy-rpc-v2-cbor", "protocol")
        seen = []
        cbor.meta.events.register("after-call", lambda http_response, **_: seen.append(http_response.headers.get("content-type")))
        ns = unique("Cbor")
        # Large enough for botocore to gzip the request body.
        cbor.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Dimensions": dims(N=str(i)), "Value": 3} for i in range(400)])
        start, end = window()
        r = cbor.get_metric_statistics(Namespace=ns, MetricName="m", Dimensions=dims(N="7"), StartTime=start, EndTime=end, Period=60,
                                       Statistics=["Sum"], ExtendedStatistics=["p50"])
        eq(r["Datapoints"][0]["Sum"], 3.0, "sum over CBOR")
        assert isinstance(r["Datapoints"][0]["Sum"], float) and isinstance(r["Datapoints"][0]["Timestamp"], datetime.datetime), r
        eq(seen[-1], "application/cbor", "answered in CBOR")
        eq(len(cbor.list_metrics(Namespace=ns)["Metrics"]), 400, "every datum of the compressed request")
        q = [{"Id": "a", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m", "Dimensions": dims(N="7")}, "Period": 60, "Stat": "Sum"}}]
        eq(cbor.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=q)["MetricDataResults"][0]["Values"], [3.0], "get-metric-data over CBOR")
        e = expect_error(lambda: cbor.put_metric_data(Namespace="AWS/x", MetricData=[{"MetricName": "m", "Value": 1}]), "InvalidParameterValue", 400)
        assert "x-amzn-query-error" in e["ResponseMetadata"]["HTTPHeaders"], e["ResponseMetadata"]["HTTPHeaders"]
        expect_error(lambda: cbor.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": math.inf}]), "InvalidParameterValue", 400, "Infinity")
    finally:
        shutil.rmtree(root)


def test_sagemaker_endpoint_metrics():
    """What an endpoint records appears under AWS/SageMaker per variant, at 60 s and 1 s, with the
    sums of the invocations made; a metric-math expression works over them."""
    s3 = boto3.client("s3", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    sm = boto3.client("sagemaker", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    rt = boto3.client("sagemaker-runtime", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    iam = boto3.client("iam", endpoint_url=endpoint(), region_name="us-east-1", config=cfg)
    bucket = unique("cwmodels")
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "classifier", "model.onnx"), arcname="model.onnx")
    s3.put_object(Bucket=bucket, Key="m.tar.gz", Body=buffer.getvalue())
    model = unique("m")
    sm.create_model(ModelName=model, ExecutionRoleArn=execution_role(iam),
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1", "ModelDataUrl": f"s3://{bucket}/m.tar.gz"})
    config = unique("c")
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": v, "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": 1} for v in ("blue", "green")])
    name = unique("ep")
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    start = now() - datetime.timedelta(seconds=5)
    counts = {"blue": 7, "green": 4}
    for variant, n in counts.items():
        for _ in range(n):
            rt.invoke_endpoint(EndpointName=name, Body=b"5.1,3.5,1.4,0.2", ContentType="text/csv", TargetVariant=variant)
    try:
        rt.invoke_endpoint(EndpointName=name, Body=b"not,numbers", ContentType="text/csv", TargetVariant="green")
    except botocore.exceptions.ClientError:
        pass
    end = now() + datetime.timedelta(seconds=5)

    def query(id, metric, variant, period, stat="Sum", ns="AWS/SageMaker"):
        return {"Id": id, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": metric,
                                                    "Dimensions": dims(EndpointName=name, VariantName=variant)}, "Period": period, "Stat": stat}}

    for period in (60, 1):
        r = cw.get_metric_data(StartTime=start.replace(second=0, microsecond=0) if period == 60 else start, EndTime=end, MetricDataQueries=[
            query("blue", "Invocations", "blue", period), query("green", "Invocations", "green", period),
            query("greenerr", "Invocation4XXErrors", "green", period),
            {"Id": "total", "Expression": "SUM([blue, green])"},
            {"Id": "errorrate", "Expression": "100 * SUM(greenerr) / SUM(green)"}])
        got = {x["Id"]: sum(x["Values"]) for x in r["MetricDataResults"] if x["Id"] != "errorrate"}
        eq(got, {"blue": 7, "green": 5, "greenerr": 1, "total": 12}, f"invocations per variant at {period} s")
        rate = [x for x in r["MetricDataResults"] if x["Id"] == "errorrate"][0]["Values"]
        assert rate and abs(rate[0] - 20) < 1e-9, rate
    r = cw.get_metric_statistics(Namespace="AWS/SageMaker", MetricName="ModelLatency", Dimensions=dims(EndpointName=name, VariantName="blue"),
                                 StartTime=start.replace(second=0, microsecond=0), EndTime=end, Period=60, Statistics=["SampleCount"], ExtendedStatistics=["p99"])
    eq(sum(d["SampleCount"] for d in r["Datapoints"]), 7, "latency samples")
    assert all(d["ExtendedStatistics"]["p99"] > 0 and d["Unit"] == "Microseconds" for d in r["Datapoints"]), r["Datapoints"]
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/SageMaker", Dimensions=[{"Name": "EndpointName", "Value": name}])["Metrics"]}
    assert {"Invocations", "InvocationsPerInstance", "ModelLatency", "OverheadLatency", "Invocation4XXErrors", "Invocation5XXErrors"} <= names, names
    # `strata metrics NAME --once`: the same numbers as a table, per variant.
    import subprocess
    table = subprocess.run(["dotnet", os.environ["STRATA_DLL"], "metrics", name, "--once", "--data-dir", os.environ["STRATA_DATA_DIR"]],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    eq(table.returncode, 0, f"strata metrics: {table.stderr}")
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("│ ").split("│")] for line in table.stdout.splitlines()) if cells[0] in ("blue", "green")}
    eq((rows["blue"][2], rows["green"][2], rows["green"][3]), ("7", "5", "1"), f"invocations and 4XX in the table:\n{table.stdout}")
    # Instance utilization is sampled as instances run (the first sample at once), per variant.
    deadline = time.time() + 20
    while not cw.list_metrics(Namespace="/aws/sagemaker/Endpoints", MetricName="CPUUtilization", Dimensions=[{"Name": "EndpointName", "Value": name}])["Metrics"]:
        assert time.time() < deadline, "CPUUtilization under /aws/sagemaker/Endpoints"
        time.sleep(0.5)
    listed = cw.list_metrics(Namespace="/aws/sagemaker/Endpoints", Dimensions=[{"Name": "EndpointName", "Value": name}])["Metrics"]
    eq(sorted((m["MetricName"], tuple(sorted((x["Name"], x["Value"]) for x in m["Dimensions"]))) for m in listed),
       sorted((metric, (("EndpointName", name), ("VariantName", v))) for metric in ("CPUUtilization", "DiskUtilization", "MemoryUtilization") for v in ("blue", "green")),
       "instance metrics per variant")
    disk = cw.get_metric_statistics(Namespace="/aws/sagemaker/Endpoints", MetricName="DiskUtilization", Dimensions=dims(EndpointName=name, VariantName="blue"),
                                    StartTime=start.replace(second=0, microsecond=0), EndTime=datetime.datetime.now(datetime.timezone.utc), Period=60, Statistics=["Minimum", "Maximum"])["Datapoints"]
    assert disk and all(0 < p["Minimum"] and p["Maximum"] <= 100 and p["Unit"] == "Percent" for p in disk), disk
    sm.delete_endpoint(EndpointName=name)


run(globals())
