using Strata.Policy;

namespace Strata.Policy.Tests;

public sealed class EvaluatorTests
{
    static Dictionary<string, IReadOnlyList<string>> Ctx(params (string Key, string[] Values)[] keys) => keys.ToDictionary(k => k.Key, k => (IReadOnlyList<string>)k.Values);

    static Decision Decide(string statements, string action, string resource, Dictionary<string, IReadOnlyList<string>>? context = null)
        => Evaluator.Evaluate([PolicyDocument.Parse($"{{\"Version\":\"2012-10-17\",\"Statement\":[{statements}]}}")], new PolicyRequest(action, resource, context ?? []));

    const string AllowGet = """{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}""";

    public static IEnumerable<object[]> Table =>
    [
        // Actions, resources, wildcards
        [AllowGet, "s3:GetObject", "arn:aws:s3:::bucket/a/b.txt", Decision.Allow],
        [AllowGet, "s3:getobject", "arn:aws:s3:::bucket/a", Decision.Allow],                        // actions ignore case
        [AllowGet, "s3:PutObject", "arn:aws:s3:::bucket/a", Decision.ImplicitDeny],
        [AllowGet, "s3:GetObject", "arn:aws:s3:::other/a", Decision.ImplicitDeny],
        [AllowGet, "s3:GetObject", "arn:aws:s3:::Bucket/a", Decision.ImplicitDeny],                 // resources do not
        ["""{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}""", "s3:GetObjectTagging", "arn:aws:s3:::b/k", Decision.Allow],
        ["""{"Effect":"Allow","Action":"s3:?etObject","Resource":"*"}""", "s3:GetObject", "x", Decision.Allow],
        ["""{"Effect":"Allow","Action":"*","Resource":"*"}""", "sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:1:endpoint/e", Decision.Allow],
        ["""{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}""", "s3:GetObject", "x", Decision.Allow],
        ["""{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}""", "iam:CreateUser", "x", Decision.ImplicitDeny],
        ["""{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}""", "s3:GetObject", "arn:aws:s3:::secret/k", Decision.ImplicitDeny],
        ["""{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}""", "s3:GetObject", "arn:aws:s3:::public/k", Decision.Allow],
        // Explicit deny wins, in any order
        [AllowGet + """,{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket/private/*"}""", "s3:GetObject", "arn:aws:s3:::bucket/private/x", Decision.ExplicitDeny],
        ["""{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::bucket/private/*"},""" + AllowGet, "s3:GetObject", "arn:aws:s3:::bucket/public/x", Decision.Allow],
    ];

    [Theory]
    [MemberData(nameof(Table))]
    public void Decisions(string statements, string action, string resource, Decision expected) => Assert.Equal(expected, Decide(statements, action, resource));

    const string HttpsOnly = """{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}""";

    [Fact]
    public void BoolAndTheHttpsOnlyPolicy()
    {
        Assert.Equal(Decision.ExplicitDeny, Decide(HttpsOnly, "s3:GetObject", "x", Ctx(("aws:SecureTransport", ["false"]))));
        Assert.Equal(Decision.Allow, Decide(HttpsOnly, "s3:GetObject", "x", Ctx(("aws:SecureTransport", ["true"]))));
    }

    [Fact]
    public void StringOperatorsAndMissingKeys()
    {
        const string VpceOnly = """{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}""";
        Assert.Equal(Decision.Allow, Decide(VpceOnly, "s3:GetObject", "x", Ctx(("aws:SourceVpce", ["vpce-1"]))));
        Assert.Equal(Decision.ExplicitDeny, Decide(VpceOnly, "s3:GetObject", "x", Ctx(("aws:SourceVpce", ["vpce-2"]))));
        Assert.Equal(Decision.ExplicitDeny, Decide(VpceOnly, "s3:GetObject", "x")); // negated operator, missing key: true

        const string Prefix = """{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*","public/*"]}}}""";
        Assert.Equal(Decision.Allow, Decide(Prefix, "s3:ListBucket", "b", Ctx(("s3:prefix", ["home/alice/docs"]), ("aws:username", ["alice"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Prefix, "s3:ListBucket", "b", Ctx(("s3:prefix", ["home/bob/docs"]), ("aws:username", ["alice"]))));
        Assert.Equal(Decision.Allow, Decide(Prefix, "s3:ListBucket", "b", Ctx(("s3:prefix", ["public/x"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Prefix, "s3:ListBucket", "b")); // missing key: false

        const string IfExists = """{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualsIfExists":{"s3:x-amz-server-side-encryption":"aws:kms"}}}""";
        Assert.Equal(Decision.Allow, Decide(IfExists, "s3:PutObject", "k"));
        Assert.Equal(Decision.ImplicitDeny, Decide(IfExists, "s3:PutObject", "k", Ctx(("s3:x-amz-server-side-encryption", ["AES256"]))));
        const string IgnoreCase = """{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}}""";
        Assert.Equal(Decision.Allow, Decide(IgnoreCase, "s3:GetObject", "k", Ctx(("aws:username", ["alice"]))));
    }

    [Fact]
    public void ConditionKeysCompareWithoutCase()
        => Assert.Equal(Decision.Allow, Decide("""{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:UserName":"a"}}}""", "s3:GetObject", "k", Ctx(("aws:username", ["a"]))));

    [Fact]
    public void NumericDateIpArnNull()
    {
        Assert.Equal(Decision.Allow, Decide("""{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}""", "s3:ListBucket", "b", Ctx(("s3:max-keys", ["10"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide("""{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":"10"}}}""", "s3:ListBucket", "b", Ctx(("s3:max-keys", ["11"]))));
        const string Before = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}""";
        Assert.Equal(Decision.Allow, Decide(Before, "s3:GetObject", "k", Ctx(("aws:CurrentTime", ["2026-11-27T10:00:00Z"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Before, "s3:GetObject", "k", Ctx(("aws:CurrentTime", ["2027-06-01T00:00:00Z"]))));
        Assert.Equal(Decision.Allow, Decide(Before, "s3:GetObject", "k", Ctx(("aws:CurrentTime", ["1795800000"]))));
        const string Net = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]}}}""";
        Assert.Equal(Decision.Allow, Decide(Net, "s3:GetObject", "k", Ctx(("aws:SourceIp", ["10.1.2.3"]))));
        Assert.Equal(Decision.Allow, Decide(Net, "s3:GetObject", "k", Ctx(("aws:SourceIp", ["::1"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Net, "s3:GetObject", "k", Ctx(("aws:SourceIp", ["192.168.1.1"]))));
        const string Arn = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/ml-*"}}}""";
        Assert.Equal(Decision.Allow, Decide(Arn, "s3:GetObject", "k", Ctx(("aws:PrincipalArn", ["arn:aws:iam::123456789012:role/ml-training"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Arn, "s3:GetObject", "k", Ctx(("aws:PrincipalArn", ["arn:aws:iam::999999999999:role/ml-training"]))));
        const string MustHaveTag = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:ResourceTag/team":"false"}}}""";
        Assert.Equal(Decision.Allow, Decide(MustHaveTag, "s3:GetObject", "k", Ctx(("aws:ResourceTag/team", ["ml"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(MustHaveTag, "s3:GetObject", "k"));
    }

    [Fact]
    public void SetOperators()
    {
        const string Any = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","owner"]}}}""";
        Assert.Equal(Decision.Allow, Decide(Any, "sagemaker:AddTags", "r", Ctx(("aws:TagKeys", ["cost", "team"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Any, "sagemaker:AddTags", "r", Ctx(("aws:TagKeys", ["cost"]))));
        const string All = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","owner"]}}}""";
        Assert.Equal(Decision.Allow, Decide(All, "sagemaker:AddTags", "r", Ctx(("aws:TagKeys", ["team", "owner"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(All, "sagemaker:AddTags", "r", Ctx(("aws:TagKeys", ["team", "cost"]))));
        Assert.Equal(Decision.Allow, Decide(All, "sagemaker:AddTags", "r")); // no values: vacuously all
        // ForAnyValue with no values is false, negated or not: a Deny on tag keys outside a set
        // does not catch a request that sets no tags.
        const string DenyOthers = """{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["team","owner"]}}}""";
        Assert.Equal(Decision.ExplicitDeny, Decide(DenyOthers, "sagemaker:AddTags", "r", Ctx(("aws:TagKeys", ["team", "cost"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(DenyOthers, "sagemaker:AddTags", "r", Ctx(("aws:TagKeys", ["team"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(DenyOthers, "sagemaker:AddTags", "r"));
        Assert.Equal(Decision.ImplicitDeny, Decide(Any, "sagemaker:AddTags", "r"));
    }

    [Fact]
    public void AllConditionsOfAStatementMustHold()
    {
        const string Both = """{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:username":"alice"}}}""";
        Assert.Equal(Decision.Allow, Decide(Both, "s3:GetObject", "k", Ctx(("aws:SecureTransport", ["true"]), ("aws:username", ["alice"]))));
        Assert.Equal(Decision.ImplicitDeny, Decide(Both, "s3:GetObject", "k", Ctx(("aws:SecureTransport", ["false"]), ("aws:username", ["alice"]))));
    }

    [Theory]
    [InlineData("not json", "Syntax errors in policy.")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"s3:*","Resource":"*"}]}""", "Invalid effect: Permit")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Action":"s3:*","Resource":"*"}]}""", "Missing required field Effect")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}""", "Policy statement must contain actions.")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}""", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    [InlineData("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringSortOf":{"a":"b"}}}]}""", "Invalid Condition type : StringSortOf")]
    [InlineData("""{"Version":"2099-01-01","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}""", "The policy must contain a valid version string")]
    public void MalformedPolicies(string json, string message)
        => Assert.Equal(message, Assert.Throws<MalformedPolicyException>(() => PolicyDocument.Parse(json)).Message);

    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("a*c", "abbbc", true)]
    [InlineData("a*c", "abbbd", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("*/*", "a/b", true)]
    [InlineData("**a", "bba", true)]
    [InlineData("", "", true)]
    public void Wildcards(string pattern, string value, bool matches) => Assert.Equal(matches, Wildcard.Matches(pattern, value, ignoreCase: false));
}
