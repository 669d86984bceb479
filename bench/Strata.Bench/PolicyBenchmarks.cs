using BenchmarkDotNet.Attributes;
using Strata.Policy;

/// <summary>What authorizing a typical request costs (issue 5's goal: under 10 µs), against
/// matching one action pattern (the floor of any policy check).</summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    PolicyDocument[] _policies = [];
    PolicyRequest _request = null!;
    AuthorizationRequest _full = null!;

    [GlobalSetup]
    public void Setup()
    {
        _policies =
        [
            PolicyDocument.Parse("""
                {"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::models/${aws:username}/*"},
                  {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::models","Condition":{"StringLike":{"s3:prefix":["${aws:username}/*"]}}},
                  {"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}
                """),
            PolicyDocument.Parse("""
                {"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:123456789012:endpoint/prod-*"},
                  {"Effect":"Deny","NotAction":["s3:*","sagemaker:*","sts:*"],"Resource":"*"},
                  {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}
                """),
        ];
        _request = new PolicyRequest("s3:GetObject", "arn:aws:s3:::models/alice/model.tar.gz", new Dictionary<string, IReadOnlyList<string>>
        {
            ["aws:username"] = ["alice"],
            ["aws:SecureTransport"] = ["true"],
            ["aws:SourceIp"] = ["127.0.0.1"],
            ["aws:PrincipalArn"] = ["arn:aws:iam::123456789012:user/alice"],
        });
        // The whole decision the pipeline makes for an IAM user reading an object of a bucket
        // with a policy (HTTPS only, another account allowed), under a permissions boundary.
        var bucketPolicy = PolicyDocument.Parse("""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::models","arn:aws:s3:::models/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
              {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::models/shared/*"}]}
            """, PolicyKind.Resource);
        var boundary = PolicyDocument.Parse("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sagemaker:*","kms:*"],"Resource":"*"}]}""");
        _full = new AuthorizationRequest(_request, new RequestPrincipal("arn:aws:iam::123456789012:user/alice", "123456789012"), "123456789012",
            _policies, bucketPolicy, boundary);
    }

    [Benchmark(Baseline = true, Description = "match one action pattern (floor)")]
    public bool Floor() => Wildcard.Matches("s3:Get*", "s3:GetObject", ignoreCase: true);

    [Benchmark(Description = "evaluate a request against 2 policies, 6 statements")]
    public Decision Evaluate() => Evaluator.Evaluate(_policies, _request);

    [Benchmark(Description = "authorize fully: identity policies, bucket policy, boundary")]
    public AuthorizationResult Authorize() => Evaluator.Authorize(_full);
}
