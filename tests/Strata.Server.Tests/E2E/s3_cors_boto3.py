"""S3 CORS end to end: the configuration through an unmodified boto3 (Put/Get/DeleteBucketCors and
S3's refusals), a browser's preflight as Chromium sends it (unsigned OPTIONS with Origin,
Access-Control-Request-Method and -Headers), and the Access-Control-* headers on the actual
request that follows, allowed or not."""
import http.client
import urllib.parse

from harness import client, endpoint, eq, expect_error, run, unique, validate_responses

s3 = validate_responses(client("s3"))

APP = "https://app.example.com"
RULES = [
    {"ID": "uploads", "AllowedOrigins": [APP, "https://*.example.org"], "AllowedMethods": ["PUT", "POST"],
     "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag", "x-amz-version-id"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


def bucket_with_rules(rules=RULES):
    b = unique("cors")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="model.onnx", Body=b"weights")
    if rules is not None:
        s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
    return b


def raw(method, path, headers):
    """One unsigned request as a browser sends it; (status, lower-cased headers, body)."""
    url = urllib.parse.urlparse(endpoint())
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        conn.close()


def preflight(path, origin=APP, method="PUT", request_headers=None):
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if method is not None:
        headers["Access-Control-Request-Method"] = method
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return raw("OPTIONS", path, headers)


def error_code(body):
    import xml.etree.ElementTree as ET
    root = ET.fromstring(body)
    return root.findtext("Code"), root.findtext("Message")


def test_configuration_round_trips_and_is_replaced_and_deleted():
    b = bucket_with_rules()
    got = s3.get_bucket_cors(Bucket=b)["CORSRules"]
    eq(got, RULES, "the rules as written")
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
    eq(s3.get_bucket_cors(Bucket=b)["CORSRules"], [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}], "replaced whole")
    eq(s3.delete_bucket_cors(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"], 204, "delete answers 204")
    expect_error(lambda: s3.get_bucket_cors(Bucket=b), "NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
    s3.delete_bucket_cors(Bucket=b)  # deleting none is no error, as in S3


def test_configurations_s3_refuses():
    b = bucket_with_rules(None)

    def put(rule):
        return lambda: s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [rule]})
    expect_error(put({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}), "InvalidRequest", 400,
                 "Found unsupported HTTP method in CORS config. Unsupported method is PATCH")
    expect_error(put({"AllowedOrigins": ["https://*.*.example.com"], "AllowedMethods": ["GET"]}), "InvalidRequest", 400,
                 'AllowedOrigin "https://*.*.example.com" can not have more than one wildcard.')
    expect_error(put({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]}), "InvalidRequest", 400,
                 'AllowedHeader "x-*-*" can not have more than one wildcard.')
    expect_error(lambda: s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101}),
                 "MalformedXML", 400)
    expect_error(lambda: s3.get_bucket_cors(Bucket=b), "NoSuchCORSConfiguration", 404)
    expect_error(lambda: s3.get_bucket_cors(Bucket=unique("missing")), "NoSuchBucket", 404)


def test_preflight_allowed_names_the_rule():
    b = bucket_with_rules()
    status, headers, _ = preflight(f"/{b}/uploads/x.csv", request_headers="Content-Type, X-Amz-Date")
    eq(status, 200, "preflight status")
    eq((headers.get("access-control-allow-origin"), headers.get("access-control-allow-methods"),
        headers.get("access-control-allow-headers"), headers.get("access-control-expose-headers"),
        headers.get("access-control-max-age"), headers.get("access-control-allow-credentials")),
       (APP, "PUT, POST", "Content-Type, X-Amz-Date", "ETag, x-amz-version-id", "600", "true"), "the first rule's answer")
    assert "Origin" in headers.get("vary", ""), headers
    # One wildcard in an origin stands for any run of characters.
    status, headers, _ = preflight(f"/{b}/k", origin="https://team.example.org", method="POST")
    eq((status, headers.get("access-control-allow-origin")), (200, "https://team.example.org"), "wildcard origin")
    # The open rule answers "*" and never allows credentials.
    status, headers, _ = preflight(f"/{b}", origin="https://anyone.test", method="GET")
    eq((status, headers.get("access-control-allow-origin"), headers.get("access-control-allow-methods"),
        "access-control-allow-credentials" in headers), (200, "*", "GET, HEAD", False), "open rule on the bucket")


def test_preflight_refusals_as_s3_answers_them():
    b = bucket_with_rules()
    status, _, body = preflight(f"/{b}/k", origin="https://evil.test", method="PUT")
    eq((status,) + error_code(body)[:1], (403, "AccessForbidden"), "origin not allowed")
    assert "This CORS request is not allowed" in error_code(body)[1], body
    status, _, body = preflight(f"/{b}/k", origin="https://APP.example.com", method="PUT")
    eq(status, 403, "origins match case-sensitively")
    status, _, body = preflight(f"/{b}/k", method="DELETE")
    eq(status, 403, "method not allowed")
    status, _, body = preflight(f"/{b}/k", request_headers="content-type, authorization")
    eq(status, 403, "a header no rule allows")
    status, _, body = preflight(f"/{b}/k", origin=None)
    eq((status, error_code(body)), (400, ("BadRequest", "Insufficient information. Origin request header needed.")), "no Origin")
    status, _, body = preflight(f"/{b}/k", method=None)
    eq((status, error_code(body)), (400, ("BadRequest", "Invalid Access-Control-Request-Method: null")), "no method")
    plain = bucket_with_rules(None)
    status, _, body = preflight(f"/{plain}/k")
    eq((status, error_code(body)), (403, ("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")), "no configuration")
    status, _, body = preflight(f"/{unique('missing')}/k")
    eq((status, error_code(body)[0]), (403, "AccessForbidden"), "no bucket")


def test_actual_requests_carry_the_headers_when_a_rule_allows_them():
    b = bucket_with_rules()
    origin = {}

    def add_origin(request, **kwargs):
        if "value" in origin:
            request.headers["Origin"] = origin["value"]
    browser = client("s3")
    browser.meta.events.register("before-sign.s3.*", add_origin)

    origin["value"] = APP
    put = browser.put_object(Bucket=b, Key="uploads/a.csv", Body=b"1,2")["ResponseMetadata"]["HTTPHeaders"]
    eq((put.get("access-control-allow-origin"), put.get("access-control-expose-headers"), put.get("access-control-allow-credentials")),
       (APP, "ETag, x-amz-version-id", "true"), "a PUT from the app")
    get = browser.get_object(Bucket=b, Key="model.onnx")
    eq((get["Body"].read(), get["ResponseMetadata"]["HTTPHeaders"].get("access-control-allow-origin")), (b"weights", "*"), "a GET from the app")
    # No rule allows DELETE: the request itself is served (CORS only tells the browser what the page
    # may read), without the allow headers.
    deleted = browser.delete_object(Bucket=b, Key="uploads/a.csv")["ResponseMetadata"]["HTTPHeaders"]
    assert "access-control-allow-origin" not in deleted, deleted
    # A refusal carries them too, so the page can read why.
    missing = expect_error(lambda: browser.get_object(Bucket=b, Key="nothing"), "NoSuchKey", 404)
    eq(missing["ResponseMetadata"]["HTTPHeaders"].get("access-control-allow-origin"), "*", "on the 404")
    # Without an Origin (not a browser), or on a bucket without CORS, nothing is added.
    origin.pop("value")
    plain = browser.get_object(Bucket=b, Key="model.onnx")["ResponseMetadata"]["HTTPHeaders"]
    assert not any(k.startswith("access-control-") for k in plain), plain
    origin["value"] = APP
    other = bucket_with_rules(None)
    headers = browser.head_object(Bucket=other, Key="model.onnx")["ResponseMetadata"]["HTTPHeaders"]
    assert not any(k.startswith("access-control-") for k in headers), headers


def test_a_cors_rule_grants_no_access():
    # CORS decides what a browser page may read, never who may call: an anonymous GET of a private
    # object stays refused even from an allowed origin.
    b = bucket_with_rules()
    status, headers, body = raw("GET", f"/{b}/model.onnx", {"Origin": APP})
    eq((status, error_code(body)[0]), (403, "AccessDenied"), "anonymous GET")
    eq(headers.get("access-control-allow-origin"), "*", "the refusal is readable by the page")


def test_other_accounts_cannot_configure_it():
    from harness import iam_user
    iam = client("iam")
    _, keys = iam_user(iam, "corsless", ["s3:GetObject"])
    other = client("s3", keys)
    b = bucket_with_rules()
    expect_error(lambda: other.get_bucket_cors(Bucket=b), "AccessDenied", 403)
    expect_error(lambda: other.delete_bucket_cors(Bucket=b), "AccessDenied", 403)
    eq(len(s3.get_bucket_cors(Bucket=b)["CORSRules"]), 2, "still configured")


if __name__ == "__main__":
    run(globals())
