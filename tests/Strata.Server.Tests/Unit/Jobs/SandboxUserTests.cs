using System.Diagnostics;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Tests.Unit;

/// <summary>A sandbox user's end: what runs as it is killed, and what a dead server's containers
/// left running is killed by the next server (needs root, as the sandbox does).</summary>
public sealed class SandboxUserTests
{
    /// <summary>A process that runs as <paramref name="uid"/> until killed.</summary>
    static Process RunAs(int uid)
    {
        var process = Process.Start(new ProcessStartInfo("/usr/bin/setpriv", [$"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--", "/bin/sleep", "300"]))!;
        // Running as the user once setpriv has exec'd sleep.
        for (var i = 0; i < 500 && !File.ReadAllText($"/proc/{process.Id}/status").Contains($"Uid:\t{uid}", StringComparison.Ordinal); i++) Thread.Sleep(10);
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
            Assert.Contains(deadUid, Sandbox.ReapOrphans());
            Assert.True(Ends(orphan), "the dead server's container still runs");
            Assert.False(running.HasExited, "a live server's container was killed");
        }
        finally
        {
            foreach (var p in new[] { running, orphan }) if (!p.HasExited) p.Kill();
        }
    }
}
