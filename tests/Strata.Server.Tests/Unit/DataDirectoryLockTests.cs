using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Strata.Server.Tests.Unit;

/// <summary>The data directory's lock and the port-in-use finder, in one process: a second open of
/// the lock file is refused as another process's would be (flock locks belong to an open file).</summary>
public sealed class DataDirectoryLockTests
{
    [Fact]
    public void OneHolderAtATimeAndItsDescriptionIsReadableMeanwhile()
    {
        var dir = Directory.CreateTempSubdirectory("strata-lock-unit-").FullName;
        try
        {
            Assert.Null(DataDirectoryLock.Holder(dir));
            using (var held = DataDirectoryLock.TryAcquire(dir))
            {
                Assert.NotNull(held);
                Assert.Null(DataDirectoryLock.TryAcquire(dir));
                Assert.Equal("another strata serve that is still starting", DataDirectoryLock.Name(DataDirectoryLock.Holder(dir)!));
                held.Describe(new JsonObject { ["pid"] = 4242, ["port"] = 9600 });
                Assert.Equal("strata serve (pid 4242, port 9600)", DataDirectoryLock.Name(DataDirectoryLock.Holder(dir)!));
                // Described again by the next holder: the earlier text is replaced, not appended to.
                held.Describe(new JsonObject { ["pid"] = 7 });
                Assert.Equal("strata serve (pid 7)", DataDirectoryLock.Name(DataDirectoryLock.Holder(dir)!));
            }
            Assert.Null(DataDirectoryLock.Holder(dir));
            using var next = DataDirectoryLock.TryAcquire(dir);
            Assert.NotNull(next);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void APortTakenIsFoundWithItsProcess()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        Assert.Equal(port, PortInUse.FirstTaken(IPAddress.Loopback, [port]));
        Assert.Equal(Environment.ProcessId, PortInUse.Owner(port)?.Pid);
        Assert.StartsWith($"port {port} is in use by pid {Environment.ProcessId} (", PortInUse.Message(port));
        taken.Stop();
        Assert.Null(PortInUse.FirstTaken(IPAddress.Loopback, [port]));
        Assert.Equal($"port {port} is in use by another process", PortInUse.Message(port));
    }
}
