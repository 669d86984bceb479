namespace Strata.Server.Tests.E2E;

/// <summary>`strata serve --demo`, then the command its banner says to try, verbatim, with the aws CLI v1 and v2.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task DemoEndpointAnswersTheReadmeCommand()
    {
        await using var server = await StrataProcess.StartAsync(null, true, "--demo");
        // The banner's lines after "try:" (its indented commands); a log line of the server may come
        // between them, and they may be read a moment after the "try:" line itself.
        List<string> TryLines() => server.Output.SkipWhile(l => !l.EndsWith("; try:", StringComparison.Ordinal)).Skip(1)
            .Where(l => l.StartsWith("  printf ", StringComparison.Ordinal) || l.StartsWith("  aws ", StringComparison.Ordinal)).Select(l => l.Trim()).Take(2).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (TryLines().Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains("demo: endpoint demo is InService (variants A 80%, B 20%); try:", server.Output);
        var work = Directory.CreateTempSubdirectory("strata-demo-").FullName;
        try
        {
            var counts = new Dictionary<string, int> { ["A"] = 0, ["B"] = 0 };
            // What the banner says to try, as it says it, with the aws CLI v1 and (given the endpoint) Debian's CLI v2.
            var tryLines = TryLines();
            Assert.Equal(2, tryLines.Count);
            var banner = string.Join('\n', tryLines);
            var (code, output) = await ClientProcess.RunAsync("bash", ["-c", $"""
                set -e
                {banner}
                echo
                {banner.Replace("aws sagemaker-runtime", "/usr/bin/aws --endpoint-url \"$AWS_ENDPOINT_URL\" sagemaker-runtime", StringComparison.Ordinal)}
                echo
                python3 -c '
                import boto3
                runtime = boto3.client("sagemaker-runtime")
                for _ in range(100):
                    print(runtime.invoke_endpoint(EndpointName="demo", ContentType="text/csv", Body=open("flower.csv", "rb").read())["InvokedProductionVariant"])
                '
                """], server.ClientEnvironment(), workingDirectory: work);
            Assert.True(code == 0, output);
            Assert.Equal(2, output.Split("\"label\":\"setosa\"").Length - 1);
            foreach (var line in output.Split('\n').Select(l => l.Trim()).Where(l => l is "A" or "B")) counts[line]++;
            // The split, from one process: a CLI process per request takes seconds on a loaded machine.
            Assert.Equal(100, counts["A"] + counts["B"]);
            Assert.True(counts["A"] > 2 * counts["B"], $"A {counts["A"]}, B {counts["B"]}"); // 80/20: B ≥ 34 of 100 has p < 1e-3
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
