using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Strata.Server.Tests.E2E;

/// <summary>Running Strata, through the real `strata` process: one server per data directory, a
/// port in use said in one line, one version, `strata status`, `strata reset`, what shutdown says,
/// and the Prometheus exposition following the endpoints that exist.</summary>
public sealed class OperationsTests
{
    static Task<(int ExitCode, string Output)> Strata(params string[] args)
        => ClientProcess.RunAsync("dotnet", [StrataProcess.ServerDll, .. args], new Dictionary<string, string>());

    [Fact]
    public async Task ASecondServerOnTheSameDataDirectoryIsRefusedUntilTheFirstIsGone()
    {
        var dir = Directory.CreateTempSubdirectory("strata-lock-").FullName;
        try
        {
            var (versionCode, version) = await Strata("--version");
            Assert.Equal(0, versionCode);
            version = version.Trim();
            Assert.Matches(@"^\d+\.\d+\.\d+$", version);
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                // One version: the banner, --version and the health route say the same.
                Assert.Contains(first.Output, l => l.StartsWith($"strata {version}: data {dir}", StringComparison.Ordinal));
                using var http = new HttpClient();
                Assert.Equal(version, JsonNode.Parse(await http.GetStringAsync($"{first.Endpoint}/_strata/health"))!["version"]!.GetValue<string>());

                var serverJson = await File.ReadAllTextAsync(Path.Combine(dir, "server.json"));
                var (code, output) = await Strata("serve", "--data-dir", dir, "--port", StrataProcess.FreePort().ToString(), "--tls-port", "0");
                Assert.Equal(2, code);
                Assert.Equal($"strata: {dir} is in use by strata serve (pid {first.Pid}, port {first.Port}): one server per data directory (stop it, or give another --data-dir)",
                    output.Trim());
                Assert.Equal(serverJson, await File.ReadAllTextAsync(Path.Combine(dir, "server.json")));
                // The first is untouched and still answers.
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{first.Endpoint}/_strata/health")).StatusCode);

                first.Kill();
            }
            // SIGKILL leaves the lock file behind, but not its lock.
            Assert.True(File.Exists(Path.Combine(dir, "strata.lock")));
            var (notRunning, status) = await Strata("status", "--data-dir", dir);
            Assert.Equal(3, notRunning);
            Assert.StartsWith($"no server runs on {dir} (", status.Trim());
            await using var again = await StrataProcess.StartAsync(dir);
            var (running, statusNow) = await Strata("status", "--data-dir", dir);
            Assert.True(running == 0, statusNow);
            Assert.Contains($"strata serve (pid {again.Pid}, port {again.Port}) runs on {dir} (", statusNow);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task APortInUseIsOneLineNamingItsProcess()
    {
        var dir = Directory.CreateTempSubdirectory("strata-port-").FullName;
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        try
        {
            var (code, output) = await Strata("serve", "--data-dir", dir, "--port", port.ToString(), "--tls-port", "0");
            Assert.Equal(2, code);
            var line = Assert.Single(output.Trim().Split('\n'));
            Assert.StartsWith($"strata: port {port} is in use by pid {Environment.ProcessId} (", line);
            Assert.EndsWith("; choose another with --port, --tls-port or --vpce-port", line);

            // The HTTPS port too, with the HTTP one free.
            (code, output) = await Strata("serve", "--data-dir", dir, "--port", StrataProcess.FreePort().ToString(), "--tls-port", port.ToString());
            Assert.Equal(2, code);
            Assert.StartsWith($"strata: port {port} is in use by pid {Environment.ProcessId} (", Assert.Single(output.Trim().Split('\n')));
            // Refused before anything was written for the next server to trip over.
            Assert.False(File.Exists(Path.Combine(dir, "server.json")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task StatusListsWhatRunsAndShutdownSaysWhatItStopped()
    {
        await using var server = await StrataProcess.StartAsync(null, true, "--demo");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!server.Output.Any(l => l.StartsWith("demo: endpoint demo is", StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains("demo: endpoint demo is InService (variants A 80%, B 20%); try:", server.Output);

        var (code, status) = await Strata("status", "--data-dir", server.DataDir);
        Assert.True(code == 0, status);
        Assert.Contains($"strata serve (pid {server.Pid}, port {server.Port}) runs on {server.DataDir} (", status);
        Assert.Contains($"listening on http://127.0.0.1:{server.Port}", status);
        Assert.Contains($"listening on https://127.0.0.1:{server.TlsPort}", status);
        Assert.Contains("endpoints: 1 (2 instances)", status);
        Assert.Matches(@"demo \(account \d{12}\): A: 1 instance \(pid \d+ in us-east-1[abc]\); B: 1 instance \(pid \d+ in us-east-1[abc]\)", status);
        Assert.Contains("jobs in progress: none", status);

        // A job in progress: a processing job whose container runs until it is stopped.
        var (jobCode, jobOutput) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("operations_job.py")], server.ClientEnvironment(),
            workingDirectory: Path.GetDirectoryName(ClientSuite.ScriptPath("operations_job.py")));
        Assert.True(jobCode == 0, jobOutput);
        var job = jobOutput.Trim().Split('\n')[^1];
        (code, status) = await Strata("status", "--data-dir", server.DataDir);
        Assert.True(code == 0, status);
        Assert.Contains("jobs in progress: 1", status);
        Assert.Matches($@"processing job {Regex.Escape(job)} \(account \d{{12}}\): InProgress", status);

        // SIGTERM: the server stops gracefully and says what it stopped.
        Assert.Equal(0, await server.TerminateAsync());
        Assert.Contains("strata: stopped 1 endpoint (2 instances), 1 job in progress (1 processing; they resume at the next start)", server.Output);
    }

    [Fact]
    public async Task DeletedEndpointsLeaveThePrometheusExposition()
    {
        await using var server = await StrataProcess.StartAsync(null, true, "--demo");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!server.Output.Any(l => l.StartsWith("demo: endpoint demo is", StringComparison.Ordinal)) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains("demo: endpoint demo is InService (variants A 80%, B 20%); try:", server.Output);
        var work = Directory.CreateTempSubdirectory("strata-metrics-").FullName;
        try
        {
            // A second endpoint of the demo's model, called once, as the demo is.
            var (code, output) = await ClientProcess.RunAsync("bash", ["-c", """
                set -e
                aws sagemaker create-endpoint-config --endpoint-config-name extra-config \
                  --production-variants VariantName=main,ModelName=demo-classifier,InitialInstanceCount=1,InstanceType=ml.m5.large >/dev/null
                aws sagemaker create-endpoint --endpoint-name extra --endpoint-config-name extra-config >/dev/null
                for i in $(seq 1 240); do
                  [ "$(aws sagemaker describe-endpoint --endpoint-name extra --query EndpointStatus --output text)" = InService ] && break
                  sleep 0.5
                done
                aws sagemaker-runtime invoke-endpoint --endpoint-name extra --content-type text/csv --body '5.1,3.5,1.4,0.2' out.json >/dev/null
                aws sagemaker-runtime invoke-endpoint --endpoint-name demo --content-type text/csv --body '5.1,3.5,1.4,0.2' out.json >/dev/null
                """], server.ClientEnvironment(), workingDirectory: work);
            Assert.True(code == 0, output);
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync($"{server.Endpoint}/_strata/metrics");
            Assert.Contains("aws_sagemaker_invocations_count{endpoint_name=\"extra\",variant_name=\"main\"", metrics);
            Assert.Contains("endpoint_name=\"demo\"", metrics);

            (code, output) = await ClientProcess.RunAsync("aws", ["sagemaker", "delete-endpoint", "--endpoint-name", "extra"], server.ClientEnvironment());
            Assert.True(code == 0, output);
            metrics = await http.GetStringAsync($"{server.Endpoint}/_strata/metrics");
            Assert.DoesNotContain("endpoint_name=\"extra\"", metrics);
            Assert.Contains("endpoint_name=\"demo\"", metrics);
            // CloudWatch keeps them, as AWS does.
            (code, output) = await ClientProcess.RunAsync("aws", ["cloudwatch", "list-metrics", "--namespace", "AWS/SageMaker", "--dimensions", "Name=EndpointName,Value=extra",
                "--query", "Metrics[].MetricName", "--output", "text"], server.ClientEnvironment());
            Assert.True(code == 0, output);
            Assert.Contains("Invocations", output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task ResetDeletesTheStateAndKeepsOrDiscardsTheMasterKey()
    {
        var dir = Directory.CreateTempSubdirectory("strata-reset-").FullName;
        var masterKeyPath = Path.Combine(dir, "master.key");
        try
        {
            await using (var server = await StrataProcess.StartAsync(dir))
            {
                var (busy, refused) = await Strata("reset", "--yes", "--data-dir", dir);
                Assert.Equal(2, busy);
                Assert.Equal($"strata: strata serve (pid {server.Pid}, port {server.Port}) is running on {dir}: stop it first, then reset", refused.Trim());
                Assert.True(File.Exists(Path.Combine(dir, "state.db")));
                // The dry run answers while the server runs, and says what --yes needs.
                var (dryBusy, explainedBusy) = await Strata("reset", "--data-dir", dir);
                Assert.Equal(0, dryBusy);
                Assert.Contains($"strata reset --yes would delete everything in {dir} (", explainedBusy);
                Assert.Contains($"strata serve (pid {server.Pid}, port {server.Port}) is running on it: stop it before `strata reset --yes`", explainedBusy);
                Assert.True(File.Exists(Path.Combine(dir, "state.db")));
                Assert.Equal(0, await server.TerminateAsync());
            }
            var masterKey = await File.ReadAllBytesAsync(masterKeyPath);
            var entries = Entries(dir);
            Assert.Contains("state.db", entries);

            // Without --yes: what it would delete, and nothing deleted.
            var (dry, explained) = await Strata("reset", "--data-dir", dir);
            Assert.Equal(0, dry);
            Assert.Contains($"strata reset --yes would delete everything in {dir} (", explained);
            Assert.Contains("state.db", explained);
            Assert.Contains("master.key is kept (--discard-master-key deletes it too); nothing was deleted", explained);
            Assert.Equal(entries, Entries(dir));

            var (code, done) = await Strata("reset", "--yes", "--data-dir", dir);
            Assert.Equal(0, code);
            Assert.Matches($@"^reset {Regex.Escape(dir)}: deleted {entries.Count - 2} entries \(.+\); kept master\.key$", done.Trim());
            Assert.Equal(["master.key", "strata.lock"], Entries(dir));
            Assert.Equal(masterKey, await File.ReadAllBytesAsync(masterKeyPath));

            // A fresh start on it, under the same master key.
            await using (var again = await StrataProcess.StartAsync(dir))
            {
                Assert.Equal(masterKey, await File.ReadAllBytesAsync(masterKeyPath));
                Assert.Equal(0, await again.TerminateAsync());
            }
            (code, done) = await Strata("reset", "--yes", "--discard-master-key", "--data-dir", dir);
            Assert.Equal(0, code);
            Assert.EndsWith("; deleted master.key", done.Trim());
            Assert.Equal(["strata.lock"], Entries(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static List<string> Entries(string dir) => Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToList()!;
}
