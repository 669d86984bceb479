namespace Strata.Server.Tests.E2E;

/// <summary>`strata serve --demo`, then the README's invoke command, verbatim, with the aws CLI.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task DemoEndpointAnswersTheReadmeCommand()
    {
        await using var server = await StrataProcess.StartAsync(null, true, "--demo");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!server.Output.Any(l => l.StartsWith("demo: endpoint demo is", StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains("demo: endpoint demo is InService (variants A 80%, B 20%); try:", server.Output);
        var work = Directory.CreateTempSubdirectory("strata-demo-").FullName;
        try
        {
            var counts = new Dictionary<string, int> { ["A"] = 0, ["B"] = 0 };
            var (code, output) = await ClientProcess.RunAsync("bash", ["-c", """
                set -e
                aws sagemaker-runtime invoke-endpoint --endpoint-name demo --content-type text/csv --body '5.1,3.5,1.4,0.2' out.json && cat out.json
                echo
                for i in $(seq 1 40); do aws sagemaker-runtime invoke-endpoint --endpoint-name demo --content-type text/csv --body '5.1,3.5,1.4,0.2' /dev/null --query InvokedProductionVariant --output text; done
                """], server.ClientEnvironment(), workingDirectory: work);
            Assert.True(code == 0, output);
            Assert.Contains("\"label\":\"setosa\"", output);
            foreach (var line in output.Split('\n').Select(l => l.Trim()).Where(l => l is "A" or "B")) counts[line]++;
            Assert.Equal(40, counts["A"] + counts["B"]);
            Assert.True(counts["A"] > counts["B"], $"A {counts["A"]}, B {counts["B"]}"); // 80/20: B ≥ A has p < 1e-4
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
