using System.Diagnostics;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Tests.Unit;

/// <summary>A sandbox user's end: what runs as it is killed, and what a dead server's containers
/// left running is killed by the next server (needs root, as the sandbox does).</summary>
public sealed class SandboxUserTests
{
    /// <summary>A process that runs as <paramref name="uid"/> until killed.</summary>
    static Process RunAs(int uid, params string[] command)
    {
        var process = Process.Start(new ProcessStartInfo("/usr/bin/setpriv", [$"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--", .. command is [] ? ["/bin/sleep", "300"] : command]))!;
        // A state to wait for, with a deadline: running as the user once setpriv has exec'd its command.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.ReadAllText($"/proc/{process.Id}/status").Contains($"Uid:\t{uid}", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the process never ran as {uid}");
            Thread.Sleep(10);
        }
        return process;
    }

    static bool Ends(Process process) => process.WaitForExit(TimeSpan.FromSeconds(30));

    [Fact]
    public void FreeingAUserKillsWhatRunsAsIt()
    {
        if (!Sandbox.Available) return; // no sandbox without root: nothing runs as another user
        var user = Sandbox.Allocate();
        using var left = RunAs(user.Uid);
        try
        {
            user.Dispose();
            Assert.True(Ends(left), "the process the container left still runs");
        }
        finally { if (!left.HasExited) left.Kill(); }
    }

    [Fact]
    public async Task AUserWhoseProcessesFightBackIsKilledAllTheSame()
    {
        if (!Sandbox.Available) return;
        var user = Sandbox.Allocate();
        // A session of its own (out of the container's process group), stopping every process of
        // its user without pause: a kill sent as that user would be stopped before it could act.
        using var fighter = RunAs(user.Uid, "/bin/sh", "-c", "setsid /bin/sh -c 'trap \"\" TERM; while :; do kill -STOP -1 2>/dev/null; done' & exec /bin/sleep 300");
        try
        {
            // Not waited for without end: the old way (a kill as the user) never returned here.
            await Task.Run(user.Dispose).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(Ends(fighter), "the container's process still runs");
            // KillAll returned when a scan found none left, and none can fork since.
            Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), dir => int.TryParse(Path.GetFileName(dir), out _) && Owner(dir) == user.Uid);
        }
        finally { if (!fighter.HasExited) fighter.Kill(entireProcessTree: true); }
    }

    /// <summary>The real user of a running process (not a zombie's), or -1.</summary>
    static int Owner(string procDir)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(procDir, "status"));
            if (lines.Any(l => l.StartsWith("State:\tZ", StringComparison.Ordinal))) return -1;
            var uid = lines.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t')[1];
            return int.TryParse(uid, out var u) ? u : -1;
        }
        catch (IOException) { return -1; }
    }

    [Fact]
    public void TheNextServerKillsWhatADeadServersContainerLeftAndNoLiveOnes()
    {
        if (!Sandbox.Available) return;
        // A live server's container: its user stays locked.
        using var live = Sandbox.Allocate();
        using var running = RunAs(live.Uid);
        // A dead server's: its lock went with it (the lock file stays).
        var dead = Sandbox.Allocate();
        var deadUid = dead.Uid;
        using var orphan = RunAs(deadUid);
        ((FileStream)typeof(Sandbox.User).GetField("_lock", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(dead)!).Dispose();
        try
        {
            // (A server that starts meanwhile, in another test, may be the one that kills it.)
            Sandbox.ReapOrphans();
            Assert.True(Ends(orphan), "the dead server's container still runs");
            Assert.False(running.HasExited, "a live server's container was killed");
        }
        finally
        {
            foreach (var p in new[] { running, orphan }) if (!p.HasExited) p.Kill();
        }
    }
}
