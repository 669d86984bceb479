using System.Runtime.InteropServices;

namespace Strata.Server.Storage;

/// <summary>
/// Object bodies on the local file system. A body is written to a temporary file, flushed and
/// fsynced, then renamed to its final name, so a blob is either whole or absent. A blob only
/// becomes visible through the state store row that names it, committed after the rename; blobs
/// that no row names (a crash between rename and commit) are swept by <see cref="Sweep"/>.
/// </summary>
public sealed class BlobStore
{
    readonly string _blobs;
    readonly string _tmp;

    public BlobStore(string root)
    {
        _blobs = Path.Combine(root, "blobs");
        _tmp = Path.Combine(root, "tmp");
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_tmp);
        // Temporary files never outlive a process: anything here is an interrupted upload.
        foreach (var file in Directory.EnumerateFiles(_tmp)) File.Delete(file);
    }

    /// <summary>A new temporary file for a body being received.</summary>
    public BlobWriter CreateWriter()
    {
        var id = Guid.NewGuid().ToString("N");
        var path = Path.Combine(_tmp, id);
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0, // callers write in large blocks; a second buffer only copies
            Options = FileOptions.SequentialScan,
        });
        return new BlobWriter(this, id, path, stream);
    }

    public string PathOf(string blobId) => Path.Combine(_blobs, blobId[..2], blobId);

    public FileStream OpenRead(string blobId) => new(PathOf(blobId), new FileStreamOptions
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Share = FileShare.Read | FileShare.Delete,
        BufferSize = 0,
        Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
    });

    public void Delete(string blobId)
    {
        try { File.Delete(PathOf(blobId)); }
        catch (DirectoryNotFoundException) { }
    }

    /// <summary>Deletes every blob for which <paramref name="isReferenced"/> says no. Blobs newer
    /// than <paramref name="olderThan"/> are left alone: they may belong to a write that is
    /// about to commit.</summary>
    public int Sweep(Func<string, bool> isReferenced, DateTime olderThan)
    {
        var deleted = 0;
        foreach (var dir in Directory.EnumerateDirectories(_blobs))
        {
            foreach (var file in Directory.EnumerateFiles(dir))
            {
                var id = Path.GetFileName(file);
                if (File.GetLastWriteTimeUtc(file) >= olderThan || isReferenced(id)) continue;
                File.Delete(file);
                deleted++;
            }
        }
        return deleted;
    }

    internal string Publish(string id, string tmpPath)
    {
        var final = PathOf(id);
        var dir = Path.GetDirectoryName(final)!;
        Directory.CreateDirectory(dir);
        File.Move(tmpPath, final);
        FsyncDirectory(dir);
        return id;
    }

    static void FsyncDirectory(string dir)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var fd = Native.open(dir, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { Native.fsync(fd); }
        finally { Native.close(fd); }
    }

    static partial class Native
    {
        [DllImport("libc", SetLastError = true)] public static extern int open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);
        [DllImport("libc", SetLastError = true)] public static extern int fsync(int fd);
        [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    }
}

/// <summary>A body being written. <see cref="CommitAsync"/> makes it a blob; disposing an
/// uncommitted writer deletes the temporary file, so a failed upload leaves nothing.</summary>
public sealed class BlobWriter(BlobStore store, string id, string path, FileStream stream) : IAsyncDisposable
{
    bool _committed;

    public string Id => id;
    public Stream Stream => stream;

    public async Task<string> CommitAsync()
    {
        await stream.FlushAsync();
        stream.Flush(flushToDisk: true);
        await stream.DisposeAsync();
        _committed = true;
        return store.Publish(id, path);
    }

    public async ValueTask DisposeAsync()
    {
        if (_committed) return;
        await stream.DisposeAsync();
        try { File.Delete(path); } catch (IOException) { }
    }
}
