using System.Globalization;

namespace Strata.Server.Tests.E2E;

/// <summary>The executable README (readme_run.py): every shell block of README.md runs, in order,
/// against a fresh server started as the quick start starts it (with the demo), with the aws CLI v1
/// and, in the blocks that show it, Debian's CLI v2; the first command that fails fails the test.
/// So no README example can drift from what Strata does. The README runs in parts (its
/// <c>&lt;!-- readme-test: part --&gt;</c> lines), one test class each, so that xUnit runs them
/// at once, each on its own server, rather than as one long test at the end of the run.</summary>
public abstract class ReadmeTests(int part)
{
    /// <summary>How many parts README.md has; readme_run.py checks it against the markers.</summary>
    public const int Parts = 4;

    public static IEnumerable<object[]> Cases => ClientSuite.Cases("readme_run.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EveryBlockRuns(string testCase)
        => (await ClientSuite.RunWithServerArgsAsync("python3", "readme_run.py", TimeSpan.FromMinutes(30),
            [("README_PART", part.ToString(CultureInfo.InvariantCulture)), ("README_PARTS", Parts.ToString(CultureInfo.InvariantCulture))], "--demo"))
            .AssertPassed(testCase);
}

[RunsLong]
public sealed class ReadmePart1Tests() : ReadmeTests(1);

[RunsLong]
public sealed class ReadmePart2Tests() : ReadmeTests(2);

[RunsLong]
public sealed class ReadmePart3Tests() : ReadmeTests(3);

[RunsLong]
public sealed class ReadmePart4Tests() : ReadmeTests(4);
