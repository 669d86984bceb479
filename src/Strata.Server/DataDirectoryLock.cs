using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;

namespace Strata.Server;

/// <summary>
/// One server per data directory. `strata serve` holds <c>strata.lock</c> open with an exclusive
/// OS lock (flock, which .NET takes for <see cref="FileShare.None"/>) for as long as it runs; the
/// kernel drops the lock when the process ends however it ends, SIGKILL included, so a lock file
/// left behind never blocks the next start. The file says who holds it (pid, ports) for the
/// message a second server prints, and for <c>strata status</c> and <c>strata reset</c>.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "strata.lock";

    readonly FileStream _file;

    DataDirectoryLock(FileStream file) => _file = file;

    public static string PathOf(string dataDir) => Path.Combine(dataDir, FileName);

    /// <summary>Takes the lock, or returns null when another process holds it.</summary>
    public static DataDirectoryLock? TryAcquire(string dataDir)
    {
        try { return new DataDirectoryLock(new FileStream(PathOf(dataDir), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
        catch (IOException e) when (IsHeldElsewhere(e)) { return null; }
    }

    /// <summary>Writes who holds the lock into the file (replacing what an earlier holder wrote).</summary>
    public void Describe(JsonObject holder)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(holder.ToJsonString() + "\n");
        _file.SetLength(0);
        _file.Write(bytes);
        _file.Flush(flushToDisk: true);
    }

    /// <summary>Who holds the data directory's lock: null when nobody does; else what the holder
    /// wrote about itself (an empty object while it has not written yet).</summary>
    public static JsonObject? Holder(string dataDir)
    {
        var path = PathOf(dataDir);
        if (!File.Exists(path)) return null;
        using (var probe = TryAcquire(dataDir))
        {
            if (probe is not null) return null;
        }
        return Read(path);
    }

    /// <summary>One line that names the holder: "strata serve (pid 1234, port 9600)".</summary>
    public static string Name(JsonObject holder)
        => holder["pid"] is { } pid
            ? $"strata serve (pid {pid}{(holder["port"] is { } port ? $", port {port}" : "")})"
            : "another strata serve that is still starting";

    /// <summary>A .NET reader would itself ask for a shared flock, which the holder's exclusive one
    /// refuses; the file is opened directly instead (the lock is advisory: reading is allowed).</summary>
    static JsonObject Read(string path)
    {
        if (OperatingSystem.IsWindows()) return [];
        var fd = Native.open(path, 0 /* O_RDONLY */);
        if (fd < 0) return [];
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        using var stream = new FileStream(handle, FileAccess.Read);
        using var reader = new StreamReader(stream);
        try { return JsonNode.Parse(reader.ReadToEnd()) as JsonObject ?? []; }
        catch (System.Text.Json.JsonException) { return []; }
    }

    /// <summary>What .NET reports when the lock is held by another open file: the errno of the
    /// refused flock (EWOULDBLOCK: 11 on Linux, 35 on macOS) or Windows' ERROR_SHARING_VIOLATION
    /// (32). Any other failure (a read-only disk, no space) is not a holder, and is thrown.</summary>
    static bool IsHeldElsewhere(IOException e)
        => e is not FileNotFoundException and not DirectoryNotFoundException
           && (OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) == 32 : e.HResult == (OperatingSystem.IsMacOS() ? 35 : 11));

    public void Dispose() => _file.Dispose();

    static class Native
    {
        [DllImport("libc", SetLastError = true)] public static extern int open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);
    }
}
