using System.Diagnostics;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Tests.E2E;

/// <summary>A training job interrupted by the server's death never stays InProgress: after the
/// restart, a job with a CheckpointConfig trains again (from its checkpoints in S3) and one
/// without fails saying why (training_restart.py).</summary>
public sealed class TrainingRestartTests
{
    static async Task<string> Script(StrataProcess server, params string[] args)
    {
        var (code, output) = await ClientProcess.RunAsync("python3", [ClientSuite.ScriptPath("training_restart.py"), .. args], server.ClientEnvironment(),
            TimeSpan.FromMinutes(4), Path.GetDirectoryName(ClientSuite.ScriptPath("x")));
        Assert.True(code == 0, output + "\n--- server ---\n" + string.Join('\n', server.Output));
        return output.Trim().Split('\n')[^1];
    }

    [Fact]
    public async Task KillingTheServerResumesCheckpointedJobsAndFailsTheOthers()
    {
        var dir = Directory.CreateTempSubdirectory("strata-training-restart-").FullName;
        try
        {
            string[] jobs;
            List<int> containers;
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                jobs = (await Script(first, "start")).Split(' ');
                containers = ContainerProcesses(jobs);
                Assert.NotEmpty(containers);
                // Killed as the OOM killer kills: its containers run on, orphaned.
                first.KillAlone();
            }
            try
            {
                await using var second = await StrataProcess.StartAsync(dir);
                // The new server killed them before it recovered the jobs (a sandbox's users tell
                // them apart; a server that is not root has none).
                if (Sandbox.Available)
                    Assert.All(containers, pid => Assert.False(Alive(pid), $"the first server's container {pid} still runs ({Status(pid)}):\n{string.Join('\n', second.Output)}"));
                Assert.Equal("ok", await Script(second, "check", jobs[0], jobs[1]));
            }
            finally
            {
                foreach (var pid in containers.Where(Alive))
                    try { Process.GetProcessById(pid).Kill(); }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The processes of the jobs' containers (their environment names the job).</summary>
    static List<int> ContainerProcesses(string[] jobs)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])))
        {
            try
            {
                var environment = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (jobs.Any(job => environment.Contains("TRAINING_JOB_NAME=" + job))) pids.Add(int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // ended, or not ours to read
        }
        return pids;
    }

    static string Status(int pid)
    {
        try { return string.Join("; ", File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("State", StringComparison.Ordinal) || l.StartsWith("Uid", StringComparison.Ordinal) || l.StartsWith("Name", StringComparison.Ordinal) || l.StartsWith("PPid", StringComparison.Ordinal))); }
        catch (IOException) { return "gone"; }
    }

    /// <summary>Whether the process runs (a zombie waiting for its parent to collect it does not).</summary>
    static bool Alive(int pid)
    {
        try { return !File.ReadLines($"/proc/{pid}/status").Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains("zombie", StringComparison.Ordinal)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
