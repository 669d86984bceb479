namespace Strata.Server.Tests.E2E;

/// <summary>S3 access control lists and Object Ownership (canned ACLs, grants, ownership of
/// objects another account writes, ACLs in authorization, Block Public Access), through boto3
/// 1.43 and 1.26, and the aws CLI for one path.</summary>
public sealed class S3AclTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("s3_acl.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunAsync("python3", "s3_acl.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunAsync("/usr/bin/python3", "s3_acl.py")).AssertPassed(testCase);
}
