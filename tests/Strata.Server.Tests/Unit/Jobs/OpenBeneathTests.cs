using System.Diagnostics;
using Strata.Server.Jobs;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Tests.Unit;

/// <summary>How the server opens what a sandboxed container left in its directory (which the
/// container owns, so it may have put a link or a hard link anywhere there): with openat2, and
/// walked a directory at a time as on a kernel without it.</summary>
public sealed class OpenBeneathTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-beneath-").FullName;
    string Job => Path.Combine(_dir, "job");

    public OpenBeneathTests()
    {
        Directory.CreateDirectory(Path.Combine(Job, "output", "deep"));
        File.WriteAllText(Path.Combine(Job, "output", "deep", "failure"), "the container's own words");
        // What the server may read but a container must never make it upload.
        File.WriteAllText(Path.Combine(_dir, "secret"), "root's secret");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string? Read(string root, string path, bool walk, bool fifo = false)
    {
        using var handle = JobTransfers.OpenBeneath(root, path, FileAccess.Read, fifo, walk);
        if (handle is null) return null;
        using var reader = new StreamReader(new FileStream(handle, FileAccess.Read, bufferSize: 0));
        return reader.ReadToEnd();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APlainFileIsReadAndALinkOnTheWayIsNot(bool walk)
    {
        Assert.Equal("the container's own words", Read(Job, Path.Combine(Job, "output", "deep", "failure"), walk));
        // The container swaps a directory on the way for a link to where the secret is.
        Directory.Move(Path.Combine(Job, "output", "deep"), Path.Combine(Job, "output", "moved"));
        File.Move(Path.Combine(_dir, "secret"), Path.Combine(_dir, "failure"));
        File.CreateSymbolicLink(Path.Combine(Job, "output", "deep"), _dir);
        Assert.True(File.Exists(Path.Combine(Job, "output", "deep", "failure")));
        Assert.Null(Read(Job, Path.Combine(Job, "output", "deep", "failure"), walk));
        Assert.Null(JobTransfers.ReadText(Job, Path.Combine(Job, "output", "deep", "failure"), 100));
        // The file itself a link.
        File.CreateSymbolicLink(Path.Combine(Job, "output", "message"), Path.Combine(_dir, "failure"));
        Assert.Null(Read(Job, Path.Combine(Job, "output", "message"), walk));
        // Missing: nothing to read, not an error.
        Assert.Null(Read(Job, Path.Combine(Job, "output", "none"), walk));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AHardLinkToAFileNoContainerOwnsIsNotRead(bool walk)
    {
        var link = Path.Combine(Job, "output", "model.bin");
        using (var ln = Process.Start("/bin/ln", [Path.Combine(_dir, "secret"), link]))
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }
        if (Sandbox.Available)
            Assert.Null(Read(Job, link, walk)); // root's file (uid 0), two names
        else
            Assert.Equal("root's secret", Read(Job, link, walk)); // no sandbox: a container runs as the server's user, who may read it anyway
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ADirectoryOrAFifoGivesNothingToRead(bool walk)
    {
        Assert.Null(Read(Job, Path.Combine(Job, "output"), walk));
        var pipe = Path.Combine(Job, "output", "pipe");
        using (var mkfifo = Process.Start("/usr/bin/mkfifo", [pipe])) mkfifo.WaitForExit();
        // A FIFO put where a file was listed is not read (it could stream into an upload without end)...
        Assert.Null(Read(Job, pipe, walk));
        // ...unless a FIFO is what is asked for (a Pipe mode channel's), opened without waiting for a writer.
        Assert.Equal("", Read(Job, pipe, walk, fifo: true));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnErrorThatIsNotAMissingFileIsRaised(bool walk)
    {
        // ENAMETOOLONG: not a file to pass over, which would make an upload leave it out unnoticed.
        Assert.Throws<IOException>(() => Read(Job, Path.Combine(Job, "output", new string('x', 300)), walk));
        Assert.Throws<InvalidOperationException>(() => Read(Job, _dir, walk));
    }
}
