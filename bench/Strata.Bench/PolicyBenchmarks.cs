using BenchmarkDotNet.Attributes;
using Strata.Policy;

/// <summary>What authorizing a typical request costs (issue 5's goal: under 10 µs), against
/// matching one action pattern (the floor of any policy check).</summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    PolicyDocument[] _policies = [];
    PolicyRequest _request = null!;

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
    }

    [Benchmark(Baseline = true, Description = "match one action pattern (floor)")]
    public bool Floor() => Wildcard.Matches("s3:Get*", "s3:GetObject", ignoreCase: true);

    [Benchmark(Description = "evaluate a request against 2 policies, 6 statements")]
    public Decision Evaluate() => Evaluator.Evaluate(_policies, _request);
}
