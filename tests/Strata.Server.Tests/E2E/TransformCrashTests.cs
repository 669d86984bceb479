using System.Diagnostics;

namespace Strata.Server.Tests.E2E;

/// <summary>
/// Batch transform survives crashes: the server killed with SIGKILL in the middle of an object
/// resumes the job from its checkpoint after a restart, and a worker killed in the middle of a
/// mini-batch is replaced and the mini-batch retried. Either way every input row's output is
/// there exactly once, in order.
/// </summary>
public sealed class TransformCrashTests
{
    const int Rows = 2_000_000;

    /// <summary>More than one mini-batch's output (about 0.6 MB each): the first is checkpointed.</summary>
    const long PastFirstCheckpoint = 1024 * 1024;
    static string ScriptDir => Path.GetDirectoryName(ClientSuite.ScriptPath("x"))!;

    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("transform_restart.py"), .. args], server.ClientEnvironment(),
            TimeSpan.FromMinutes(6), ScriptDir);
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    /// <summary>The job's staged output files (an object being transformed).</summary>
    static long StagedBytes(string dataDir)
        => Directory.Exists(Path.Combine(dataDir, "transform"))
            ? Directory.EnumerateFiles(Path.Combine(dataDir, "transform"), "*.part", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    [Fact]
    public async Task KillingTheServerMidJobResumesWithEveryRowExactlyOnce()
    {
        var dir = Directory.CreateTempSubdirectory("strata-transform-crash-").FullName;
        try
        {
            string job;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                job = await Script(first, "create", Rows.ToString());
                var deadline = DateTime.UtcNow.AddSeconds(120);
                while (StagedBytes(dir) < PastFirstCheckpoint)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the job never staged enough output");
                    await Task.Delay(5);
                }
                first.Kill();
            }
            await using var second = await StrataProcess.StartAsync(dir);
            Assert.Equal("ok", await Script(second, "wait", job, Rows.ToString()));
            var summary = File.ReadAllText(Path.Combine(dir, "logs", "aws", "sagemaker", "TransformJobs", job, "summary.log"));
            Assert.Contains("Resumed s3://transform-restart/in/rows.csv after record ", summary);
            // The count is the job's: the records done before the restart are counted too.
            Assert.Contains($"Completed: 1 objects, {Rows} records in ", summary);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task KillingAWorkerMidJobRetriesItsMiniBatch()
    {
        var dir = Directory.CreateTempSubdirectory("strata-transform-worker-").FullName;
        try
        {
            await using var server = await StrataProcess.StartAsync(dir);
            var job = await Script(server, "create", Rows.ToString());
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (StagedBytes(dir) == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the job never staged any output");
                await Task.Delay(10);
            }
            var killed = 0;
            foreach (var process in Process.GetProcessesByName("dotnet"))
            {
                try
                {
                    if (File.ReadAllText($"/proc/{process.Id}/environ").Contains($"SM_MODEL_DIR={dir}", StringComparison.Ordinal))
                    {
                        process.Kill();
                        killed++;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { }
                finally { process.Dispose(); }
            }
            Assert.Equal(1, killed);
            Assert.Equal("ok", await Script(server, "wait", job, Rows.ToString()));
            var summary = File.ReadAllText(Path.Combine(dir, "logs", "aws", "sagemaker", "TransformJobs", job, "summary.log"));
            Assert.Contains("retrying it once", summary);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
