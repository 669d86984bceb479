using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace Strata.Server.Tests.E2E;

/// <summary>
/// Runs one end-to-end client script (Python with boto3, or a shell script with the aws CLI)
/// once against a fresh server, and answers, per test case in it, whether it passed and what
/// it printed. Scripts print "PASS name" / "FAIL name: reason" lines (see E2E/harness.py).
/// </summary>
public sealed partial class ClientSuite
{
    static readonly ConcurrentDictionary<string, Lazy<Task<ClientSuite>>> Runs = new();

    readonly Dictionary<string, (bool Passed, string Detail)> _results = [];
    string _output = "";

    public static string ScriptPath(string script) => Path.Combine(AppContext.BaseDirectory, "E2E", script);

    /// <summary>The names of the test cases a script defines (def test_x / function test_x).</summary>
    public static IEnumerable<object[]> Cases(string script)
        => CaseName().Matches(File.ReadAllText(ScriptPath(script))).Select(m => new object[] { m.Groups[1].Value });

    public static Task<ClientSuite> RunAsync(string interpreter, string script, params (string Name, string Value)[] extraEnv)
        => Runs.GetOrAdd($"{interpreter}|{script}|{string.Join(',', extraEnv)}", _ => new Lazy<Task<ClientSuite>>(() => StartAsync(interpreter, script, extraEnv))).Value;

    /// <summary>Runs a script against a server started with <paramref name="serverArgs"/> besides the usual ones.</summary>
    public static Task<ClientSuite> RunWithServerArgsAsync(string interpreter, string script, params string[] serverArgs)
        => RunWithServerArgsAsync(interpreter, script, DefaultTimeout, [], serverArgs);

    /// <summary>As above, with <paramref name="extraEnv"/> for the script, which may take longer than the usual 15 minutes (a part of the README).</summary>
    public static Task<ClientSuite> RunWithServerArgsAsync(string interpreter, string script, TimeSpan timeout, (string Name, string Value)[] extraEnv,
        params string[] serverArgs)
        => Runs.GetOrAdd($"args|{interpreter}|{script}|{string.Join(',', extraEnv)}|{string.Join(' ', serverArgs)}",
            _ => new Lazy<Task<ClientSuite>>(() => StartAsync(interpreter, script, extraEnv, serverArgs, timeout))).Value;

    static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(15);

    /// <summary>Runs a script against a <see cref="FakeClockServer"/>: a server whose time passes
    /// only when the script moves it (harness.py's <c>advance</c>).</summary>
    public static Task<ClientSuite> RunOnFakeClockAsync(string interpreter, string script)
        => Runs.GetOrAdd($"clock|{interpreter}|{script}", _ => new Lazy<Task<ClientSuite>>(async () =>
        {
            await using var server = await FakeClockServer.StartAsync();
            return await RunScriptAsync(interpreter, script, server.ClientEnvironment(), () => server.Output, DefaultTimeout);
        })).Value;

    static async Task<ClientSuite> StartAsync(string interpreter, string script, (string Name, string Value)[] extraEnv, string[]? serverArgs = null, TimeSpan? timeout = null)
    {
        await using var server = await StrataProcess.StartAsync(null, true, serverArgs ?? []);
        var env = server.ClientEnvironment();
        foreach (var (name, value) in extraEnv) env[name] = value;
        return await RunScriptAsync(interpreter, script, env, () => string.Join('\n', server.Output), timeout ?? DefaultTimeout);
    }

    static async Task<ClientSuite> RunScriptAsync(string interpreter, string script, Dictionary<string, string> env, Func<string> serverOutput, TimeSpan timeout)
    {
        env["TMPDIR"] = Directory.CreateTempSubdirectory("strata-client-").FullName;
        var (_, output) = await ClientProcess.RunAsync(interpreter, [ScriptPath(script)], env, timeout, Path.GetDirectoryName(ScriptPath(script)));
        try { Directory.Delete(env["TMPDIR"], true); } catch (IOException) { }
        var suite = new ClientSuite { _output = output + "\n--- server ---\n" + serverOutput() };
        string? current = null;
        var detail = new StringBuilder();
        foreach (var line in output.Split('\n'))
        {
            var m = ResultLine().Match(line);
            if (m.Success)
            {
                Flush();
                current = m.Groups[2].Value;
                suite._results[current] = (m.Groups[1].Value == "PASS", m.Groups[3].Value);
                detail.Clear();
            }
            else if (current is not null) detail.AppendLine(line);
        }
        Flush();
        return suite;

        void Flush()
        {
            if (current is not null && !suite._results[current].Passed)
                suite._results[current] = (false, suite._results[current].Detail + "\n" + detail);
        }
    }

    public void AssertPassed(string testCase)
    {
        if (!_results.TryGetValue(testCase, out var result))
            Assert.Fail($"{testCase} did not run; the client printed:\n{_output}");
        Assert.True(result.Passed, $"{testCase} failed: {result.Detail}");
    }

    [GeneratedRegex(@"^(?:def\s+|function\s+)?(test_\w+)\s*\(", RegexOptions.Multiline)]
    private static partial Regex CaseName();

    [GeneratedRegex(@"^(PASS|FAIL) (test_\w+)(?::\s*(.*))?$")]
    private static partial Regex ResultLine();
}
