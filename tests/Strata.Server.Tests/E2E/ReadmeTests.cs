namespace Strata.Server.Tests.E2E;

/// <summary>The executable README (readme_run.py): every shell block of README.md runs, in order,
/// against a fresh server started as the quick start starts it (with the demo), with the aws CLI v1
/// and, in the blocks that show it, Debian's CLI v2; the first command that fails fails the test.
/// So no README example can drift from what Strata does.</summary>
public sealed class ReadmeTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("readme_run.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EveryBlockRuns(string testCase)
        => (await ClientSuite.RunWithServerArgsAsync("python3", "readme_run.py", TimeSpan.FromMinutes(30), "--demo")).AssertPassed(testCase);
}
