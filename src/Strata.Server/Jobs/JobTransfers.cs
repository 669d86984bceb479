using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;

namespace Strata.Server.Jobs;

/// <summary>
/// What a container job moves between S3 and its directory, as the job's role (every access
/// authorized by <see cref="RoleAuthorizer"/>): objects under a prefix, those a manifest lists, or
/// one object, down to a directory (keys that would leave it are refused); a directory's files up
/// to a prefix, or tarred and gzipped into one object. The server reads only the regular files a
/// container left (<see cref="RegularFiles"/>): a symbolic link, FIFO or device is never followed.
/// Training and processing jobs share it; <paramref name="stagingDir"/> is where tars are made,
/// outside any job's directory (a container can never write there).
/// </summary>
public sealed class JobTransfers(IJobStorage storage, string stagingDir)
{
    /// <summary>Every object under an S3 prefix (or, with <paramref name="shard"/>, a host's share of
    /// them) into <paramref name="target"/>, by its key below the prefix (an object named exactly by
    /// the prefix, by its file name); returns how many objects are under the prefix.</summary>
    public async Task<int> DownloadPrefixAsync(string uri, string target, RoleAuthorizer authorize, string what, CancellationToken ct, S3Shard? shard = null)
    {
        var (bucket, prefix) = S3Location.Parse(uri);
        Directory.CreateDirectory(target);
        var count = 0;
        foreach (var key in ListPrefix(uri, authorize, what))
        {
            if (!(shard ?? S3Shard.All).Takes(count++)) continue;
            var relative = key.Length == prefix.Length ? key[(key.LastIndexOf('/') + 1)..] : key[prefix.Length..].TrimStart('/');
            await DownloadObjectAsync(bucket, key, SafePath(target, relative), authorize, what, ct);
        }
        return count;
    }

    /// <summary>The keys of the objects under an S3 prefix, in key order (folder markers, keys
    /// ending in '/', left out), listed as the role: none when the bucket does not exist.</summary>
    public IEnumerable<string> ListPrefix(string uri, RoleAuthorizer authorize, string what)
    {
        var (bucket, prefix) = S3Location.Parse(uri);
        authorize("s3:ListBucket", $"arn:aws:s3:::{bucket}", what);
        return Keys();

        IEnumerable<string> Keys()
        {
            if (!storage.BucketExists(bucket)) yield break;
            string? after = null;
            while (true)
            {
                var page = storage.List(bucket, prefix, after, 1000);
                foreach (var (key, _) in page)
                    if (!key.EndsWith('/')) yield return key;
                if (page.Count < 1000) yield break;
                after = page[^1].Key;
            }
        }
    }

    /// <summary>SageMaker's failure when an S3Prefix names no object.</summary>
    public static JobException NoObjectsFound(string uri, string roleArn, string region)
    {
        var (bucket, _) = S3Location.Parse(uri);
        return new JobException($"ClientError: No S3 objects found under S3 URL \"{uri}\" given in input data source. Please ensure that the bucket exists in the selected region ({region}), that objects exist under that S3 prefix, and that the role \"{roleArn}\" has \"s3:ListBucket\" permissions on bucket \"{bucket}\".");
    }

    /// <summary>The objects a manifest file lists (a JSON array: <c>{"prefix": "s3://…"}</c>, then
    /// keys relative to it) into <paramref name="target"/>, by those relative keys; with
    /// <paramref name="shard"/>, a host's share of them.
    /// <paramref name="source"/> names what the manifest is for in messages ("channel train").</summary>
    public async Task DownloadManifestAsync(string manifestUri, string target, RoleAuthorizer authorize, string source, CancellationToken ct, S3Shard? shard = null)
    {
        Directory.CreateDirectory(target);
        var position = 0;
        foreach (var (bucket, key, relative) in await ReadManifestAsync(manifestUri, authorize, source, ct))
            if ((shard ?? S3Shard.All).Takes(position++))
                await DownloadObjectAsync(bucket, key, SafePath(target, relative), authorize, $"Could not read the data of {source}", ct);
    }

    /// <summary>The objects a manifest file lists, in its order: each one's bucket, key, and key
    /// relative to the manifest's prefix.</summary>
    public async Task<List<(string Bucket, string Key, string Relative)>> ReadManifestAsync(string manifestUri, RoleAuthorizer authorize, string source, CancellationToken ct)
    {
        JsonArray manifest;
        await using (var body = OpenObject(manifestUri, authorize, $"Could not read the manifest of {source}",
            () => new JobException($"ClientError: the manifest {manifestUri} of {source} does not exist")))
        {
            try { manifest = await JsonNode.ParseAsync(body, cancellationToken: ct) as JsonArray ?? throw new JsonException("not an array"); }
            catch (JsonException e) { throw new JobException($"ClientError: the manifest {manifestUri} is not a JSON array: {e.Message}"); }
        }
        if (manifest is not [JsonObject { } head, ..] || head["prefix"]?.GetValue<string>() is not { } manifestPrefix)
            throw new JobException($"ClientError: the manifest {manifestUri} must start with {{\"prefix\": \"s3://…\"}}");
        var (prefixBucket, prefixKey) = S3Location.Parse(manifestPrefix);
        var entries = new List<(string, string, string)>();
        foreach (var entry in manifest.Skip(1))
        {
            var relative = entry?.GetValue<string>() ?? throw new JobException($"ClientError: the manifest {manifestUri} lists a non-string entry");
            entries.Add((prefixBucket, prefixKey + relative, relative));
        }
        return entries;
    }

    public async Task DownloadObjectAsync(string bucket, string key, string path, RoleAuthorizer authorize, string what, CancellationToken ct)
    {
        await using var body = OpenObject(bucket, key, authorize, what);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = File.Create(path);
        await body.CopyToAsync(file, ct);
    }

    /// <summary>An object opened to read as the role (s3:GetObject, and what decrypting it needs);
    /// <see cref="JobException"/> saying <paramref name="what"/> could not be done when the role
    /// may not or the object does not exist.</summary>
    public Stream OpenObject(string bucket, string key, RoleAuthorizer authorize, string what)
        => OpenObject($"s3://{bucket}/{key}", authorize, what, () => new JobException($"ClientError: {what}: s3://{bucket}/{key} does not exist"));

    Stream OpenObject(string uri, RoleAuthorizer authorize, string what, Func<JobException> missing)
    {
        var (bucket, key) = S3Location.Parse(uri);
        authorize("s3:GetObject", $"arn:aws:s3:::{bucket}/{key}", what);
        return storage.OpenRead(bucket, key, (a, r) => authorize(a, r, what)) ?? throw missing();
    }

    /// <summary>A path below <paramref name="root"/>: keys with ".." cannot write elsewhere.</summary>
    public static string SafePath(string root, string relative)
    {
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (!full.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new JobException($"ClientError: the object key {relative} leaves the directory it is downloaded to");
        return full;
    }

    /// <summary>Every regular file under <paramref name="dir"/> to the S3 prefix <paramref name="uri"/>,
    /// by its path below the directory; with <paramref name="since"/>, only the files that changed
    /// since it recorded them (each file sent is recorded in it).</summary>
    public async Task UploadDirectoryAsync(string dir, string uri, string? kmsKeyId, RoleAuthorizer authorize, string what, CancellationToken ct,
        SentFiles? since = null)
    {
        var (bucket, prefix) = S3Location.Parse(uri);
        var root = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        foreach (var file in RegularFiles(dir))
        {
            var stamp = SentFiles.Stamp(file);
            if (since is not null && since.Has(file, stamp)) continue;
            var key = root + Path.GetRelativePath(dir, file).Replace(Path.DirectorySeparatorChar, '/');
            authorize("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}", what);
            // The container may still run, and replace the file, or a directory on the way to it, with a link.
            if (OpenInWorkDir(file, FileAccess.Read) is not { } handle) continue;
            await using (var content = new FileStream(handle, FileAccess.Read, bufferSize: 0))
                await storage.PutAsync(bucket, key, content, "application/octet-stream", kmsKeyId, (a, r) => authorize(a, r, what), ct);
            since?.Record(file, stamp);
        }
    }

    /// <summary>A directory's regular files as one gzipped tar object.</summary>
    public Task UploadTarAsync(string dir, string bucket, string key, string? kmsKeyId, RoleAuthorizer authorize, string what, CancellationToken ct)
        => UploadTarAsync([dir], bucket, key, kmsKeyId, authorize, what, ct);

    /// <summary>Several directories' regular files as one gzipped tar object, each by its path below
    /// its directory, as SageMaker aggregates the model directories of a job's hosts: where two
    /// directories have a file of the same path, the later directory's is the one kept.</summary>
    public async Task UploadTarAsync(IReadOnlyList<string> dirs, string bucket, string key, string? kmsKeyId, RoleAuthorizer authorize, string what, CancellationToken ct)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var dir in dirs)
            foreach (var path in RegularFiles(dir))
                files[Path.GetRelativePath(dir, path).Replace(Path.DirectorySeparatorChar, '/')] = path;
        authorize("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}", what);
        // Staged where the container never could write (its whole tree is the job directory).
        Directory.CreateDirectory(stagingDir);
        var staged = Path.Combine(stagingDir, $".{Guid.NewGuid():N}.staging");
        await using (var file = File.Create(staged))
        await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, path) in files)
            {
                // Read as RegularFiles listed it, never through a link put in its place or on the way.
                if (OpenInWorkDir(path, FileAccess.Read) is not { } handle) continue;
                await using var content = new FileStream(handle, FileAccess.Read, bufferSize: 0);
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    DataStream = content,
                    Mode = OperatingSystem.IsWindows() ? UnixFileMode.UserRead : File.GetUnixFileMode(handle),
                    ModificationTime = File.GetLastWriteTimeUtc(handle),
                }, ct);
            }
        }
        await using (var content = File.OpenRead(staged))
            await storage.PutAsync(bucket, key, content, "application/x-tar", kmsKeyId, (a, r) => authorize(a, r, what), ct);
        File.Delete(staged);
    }

    /// <summary>The plain files under a directory the container wrote (or the path itself, when it
    /// is one), in ordinal order: never a symbolic link (which would make the server read its
    /// target, as root), a FIFO or a device (which would block it or never end). find(1) tells
    /// file types apart, which .NET's file APIs do not.</summary>
    public static List<string> RegularFiles(string path)
    {
        if (!Path.Exists(path)) return [];
        var find = new ProcessStartInfo("/usr/bin/find") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-P", path, "-type", "f", "-print0" }) find.ArgumentList.Add(arg);
        using var process = Process.Start(find)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return [.. output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    /// <summary>A file below the work directory (<c>stagingDir</c>, which holds the jobs'
    /// directories), opened as <see cref="OpenBeneath"/> opens one.</summary>
    public SafeFileHandle? OpenInWorkDir(string path, FileAccess access, bool fifo = false) => OpenBeneath(stagingDir, path, access, fifo);

    /// <summary>A file below <paramref name="root"/>, opened as it is now, never through a symbolic
    /// link below that directory: a sandboxed container owns its job's directory and, while it runs,
    /// could put a link on the way to any file the server reads or writes there, to make the server,
    /// root, read or write another. openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS does it in one
    /// step; a kernel before 5.6 has no openat2, and the path is then walked a directory at a time
    /// (each opened O_NOFOLLOW from the one before), which refuses a link just as well. Nor is a
    /// regular file read that has other names when its owner is not a container's user: a hard link
    /// a container made to a file of root's (which a kernel without protected_hardlinks allows). To
    /// read, it is a regular file (with <paramref name="fifo"/>, a FIFO too, opened without waiting
    /// for a writer: O_NONBLOCK); to write (a Pipe mode channel's FIFO), it waits for the reader;
    /// <see cref="FileAccess.ReadWrite"/> opens it only as a path (O_PATH). Null when it is not
    /// there, or is refused so; an <see cref="IOException"/> when it cannot be opened for another
    /// reason (which must never make an upload skip a file unnoticed).</summary>
    public static SafeFileHandle? OpenBeneath(string root, string path, FileAccess access, bool fifo = false) => OpenBeneath(root, path, access, fifo, walk: false);

    /// <summary><see cref="OpenBeneath(string, string, FileAccess, bool)"/>; with <paramref name="walk"/>,
    /// as on a kernel without openat2 (the tests try both ways).</summary>
    internal static SafeFileHandle? OpenBeneath(string root, string path, FileAccess access, bool fifo, bool walk)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(root), Path.GetFullPath(path));
        if (relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            throw new InvalidOperationException($"{path} is not below {root}");
        var flags = Native.CloseOnExec | access switch { FileAccess.Read => Native.NonBlocking, FileAccess.Write => Native.WriteOnly, _ => Native.PathOnly };
        var anchor = Native.Open(Path.GetFullPath(root), Native.PathOnly | Native.CloseOnExec | Native.Directory);
        if (anchor < 0) return Refused(Marshal.GetLastPInvokeError(), root);
        try
        {
            int fd, errno, tries = 0;
            bool walked;
            do
            {
                var how = new Native.OpenHow { Flags = (ulong)flags, Resolve = Native.Beneath | Native.NoSymlinks | Native.NoMagicLinks };
                fd = walk ? -1 : (int)Native.OpenAt2(Native.SysOpenAt2, anchor, relative, ref how, (nuint)Marshal.SizeOf<Native.OpenHow>());
                errno = walk ? Native.NoSuchCall : fd < 0 ? Marshal.GetLastPInvokeError() : 0;
                // No openat2: a kernel before 5.6, or a seccomp filter that refuses it (EPERM, as older container runtimes' do).
                walked = errno is Native.NoSuchCall or Native.NotPermitted;
                if (walked) (fd, errno) = OpenWalking(anchor, relative, flags);
            }
            // openat2's EAGAIN: it saw a rename on the way and asks to be called again (a few times:
            // a container that renames without pause must not keep the server here); EINTR: a signal.
            // Walked, EAGAIN is a lease the container holds on the file: not to wait for.
            while (fd < 0 && ((errno == Native.TryAgain && !walked) || errno == Native.Interrupted) && ++tries < 8);
            if (fd < 0) return Refused(errno, path);
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            try
            {
                if (Acceptable(handle, access, fifo)) return handle;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
            handle.Dispose();
            return null;
        }
        finally { _ = Native.Close(anchor); }
    }

    /// <summary>openat2's RESOLVE_NO_SYMLINKS where there is no openat2: each directory on the way
    /// opened O_PATH | O_DIRECTORY | O_NOFOLLOW from the one before (a link there is refused with
    /// ENOTDIR), the file itself O_NOFOLLOW (ELOOP on a link; one opened O_PATH is refused by
    /// <see cref="Acceptable"/>). The path holds no "..": it is relative to a full path.</summary>
    static (int Fd, int Errno) OpenWalking(int anchor, string relative, int flags)
    {
        var parts = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var dir = anchor;
        try
        {
            foreach (var part in parts[..^1])
            {
                var next = Native.OpenAt(dir, part, Native.PathOnly | Native.Directory | Native.NoFollow | Native.CloseOnExec);
                if (next < 0) return (-1, Marshal.GetLastPInvokeError());
                if (dir != anchor) _ = Native.Close(dir);
                dir = next;
            }
            var fd = Native.OpenAt(dir, parts.Length == 0 ? "." : parts[^1], flags | Native.NoFollow);
            return (fd, fd < 0 ? Marshal.GetLastPInvokeError() : 0);
        }
        finally
        {
            if (dir != anchor) _ = Native.Close(dir);
        }
    }

    /// <summary>Null for the errors that mean the file is not there as a plain file is (missing, a
    /// link, beneath a link, moved away); any other error is not one to pass over.</summary>
    static SafeFileHandle? Refused(int errno, string path) => errno is Native.NoEntry or Native.NotDirectory or Native.Loop or Native.CrossDevice
        ? null
        : throw new IOException($"{path} could not be opened (errno {errno})");

    /// <summary>Whether what was opened may be used as asked: never a link (only O_PATH opens one);
    /// to read, a regular file (or, asked for, a FIFO: never one put where a file was listed, which
    /// would stream without end into an upload); and a regular file with other names only when a
    /// container's user owns it (statx(2), whose layout is the same on every architecture).</summary>
    static bool Acceptable(SafeFileHandle handle, FileAccess access, bool fifo)
    {
        Span<byte> stat = stackalloc byte[256];
        if (Native.Statx((int)handle.DangerousGetHandle(), "", Native.EmptyPath | Native.NoFollowLink, Native.StatxBasic, ref MemoryMarshal.GetReference(stat)) != 0)
            throw new IOException($"statx failed (errno {Marshal.GetLastPInvokeError()})");
        var links = BitConverter.ToUInt32(stat[16..]);
        var uid = BitConverter.ToUInt32(stat[20..]);
        var type = BitConverter.ToUInt16(stat[28..]) & 0xF000;
        const int Link = 0xA000, Regular = 0x8000, Fifo = 0x1000;
        if (type == Link || (access == FileAccess.Read && type != Regular && !(fifo && type == Fifo))) return false;
        return type != Regular || links <= 1 || !Containers.Sandbox.Available
            || uid is >= Containers.Sandbox.FirstUid and < Containers.Sandbox.FirstUid + Containers.Sandbox.UserCount;
    }

    static class Native
    {
        public const int CloseOnExec = 0x80000, NonBlocking = 0x800, WriteOnly = 1, PathOnly = 0x200000;
        // O_NOFOLLOW's and O_DIRECTORY's values differ between Linux's architectures.
        public static readonly int NoFollow = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 ? 0x8000 : 0x20000;
        public static readonly int Directory = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 ? 0x4000 : 0x10000;
        public const ulong NoMagicLinks = 0x02, NoSymlinks = 0x04, Beneath = 0x08;
        public const int NotPermitted = 1, NoEntry = 2, Interrupted = 4, TryAgain = 11, CrossDevice = 18, NotDirectory = 20, NoSuchCall = 38, Loop = 40;
        public const int EmptyPath = 0x1000, NoFollowLink = 0x100;
        public const uint StatxBasic = 0x7ff;

        [DllImport("libc", SetLastError = true, EntryPoint = "open")]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true, EntryPoint = "openat")]
        public static extern int OpenAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true, EntryPoint = "close")]
        public static extern int Close(int fd);

        [DllImport("libc", SetLastError = true, EntryPoint = "statx")]
        public static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, ref byte buffer);

        /// <summary>openat2(2)'s number, the same on every Linux architecture (glibc has no wrapper before 2.38).</summary>
        public const long SysOpenAt2 = 437;

        [StructLayout(LayoutKind.Sequential)]
        public struct OpenHow
        {
            public ulong Flags;
            public ulong Mode;
            public ulong Resolve;
        }

        [DllImport("libc", SetLastError = true, EntryPoint = "syscall")]
        public static extern long OpenAt2(long number, int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref OpenHow how, nuint size);
    }

    /// <summary>The first <paramref name="maxChars"/> characters of a text file the container
    /// wrote below <paramref name="root"/> (<c>/opt/ml/output/failure</c>), trimmed; null when it is
    /// not a regular file or holds only white space. Never read through a link (<see cref="OpenBeneath"/>).</summary>
    public static string? ReadText(string root, string path, int maxChars)
    {
        if (OpenBeneath(root, path, FileAccess.Read) is not { } handle) return null;
        using var reader = new StreamReader(new FileStream(handle, FileAccess.Read, bufferSize: 0));
        var buffer = new char[maxChars];
        try
        {
            var text = new string(buffer, 0, reader.ReadBlock(buffer, 0, buffer.Length)).Trim();
            return text.Length > 0 ? text : null;
        }
        catch (IOException) { return null; } // a FIFO in its place has nothing to give
    }

    /// <summary>The first <paramref name="maxBytes"/> bytes of a file the container wrote below
    /// <paramref name="root"/> (<c>/opt/ml/output/message</c>) as UTF-8 text: null when there is no
    /// such regular file; <see cref="DecoderFallbackException"/> when they are not UTF-8 (a character
    /// the limit cuts in two is left out). Never read through a link (<see cref="OpenBeneath"/>).</summary>
    public static string? ReadUtf8(string root, string path, int maxBytes)
    {
        if (OpenBeneath(root, path, FileAccess.Read) is not { } handle) return null;
        var buffer = new byte[maxBytes];
        int read = 0, n;
        using (var file = new FileStream(handle, FileAccess.Read, bufferSize: 0))
        {
            try
            {
                while (read < buffer.Length && (n = file.Read(buffer, read, buffer.Length - read)) > 0) read += n;
            }
            catch (IOException) { return null; } // a FIFO in its place has nothing to give
        }
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        // Only a file longer than the limit can end in the middle of a character (at most 3 bytes of one).
        for (var cut = 0; ; cut++)
        {
            try { return strict.GetString(buffer, 0, read - cut); }
            catch (DecoderFallbackException) when (read == maxBytes && cut < 3) { }
        }
    }
}

/// <summary>The files a directory's uploads have sent, each as it was then (length and time of
/// last write), so that a later upload sends only what changed: a continuous upload's rounds.</summary>
public sealed class SentFiles
{
    readonly Dictionary<string, (long Length, DateTime Written)> _sent = new(StringComparer.Ordinal);

    internal static (long, DateTime) Stamp(string file)
    {
        var info = new FileInfo(file);
        return (info.Length, info.LastWriteTimeUtc);
    }

    internal bool Has(string file, (long, DateTime) stamp) => _sent.TryGetValue(file, out var sent) && sent == stamp;

    internal void Record(string file, (long, DateTime) stamp) => _sent[file] = stamp;
}

/// <summary>An <c>s3://bucket/key</c> URI's parts.</summary>
public static class S3Location
{
    public static (string Bucket, string Key) Parse(string uri)
    {
        if (!uri.StartsWith("s3://", StringComparison.Ordinal) || uri.Length < 6) throw new JobException($"ClientError: {uri} is not an s3:// URI");
        var path = uri[5..];
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
    }
}
