using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

public sealed class SqliteStateStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-state-").FullName;
    string DbPath => Path.Combine(_dir, "state.db");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PutGetDeleteAndReopen()
    {
        using (var store = new SqliteStateStore(DbPath))
        {
            Assert.Equal(1, store.SchemaVersion);
            store.Write(w => { w.Put("t", "k", "v1"); w.Put("t", "k", "v2"); w.Put("other", "k", "x"); return 0; });
            Assert.Equal("v2", store.Read(r => r.Get("t", "k")));
            Assert.True(store.Write(w => w.Delete("other", "k")));
            Assert.False(store.Write(w => w.Delete("other", "k")));
        }
        using var reopened = new SqliteStateStore(DbPath);
        Assert.Equal("v2", reopened.Read(r => r.Get("t", "k")));
        Assert.Null(reopened.Read(r => r.Get("other", "k")));
    }

    [Fact]
    public void AFailedTransactionLeavesNothing()
    {
        using var store = new SqliteStateStore(DbPath);
        store.Write(w => { w.Put("t", "a", "1"); return 0; });
        Assert.Throws<InvalidOperationException>(() => store.Write<int>(w =>
        {
            w.Put("t", "a", "changed");
            w.Put("t", "b", "new");
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("1", store.Read(r => r.Get("t", "a")));
        Assert.Null(store.Read(r => r.Get("t", "b")));
    }

    [Fact]
    public void ScansInUtf8ByteOrderWithinAPrefix()
    {
        using var store = new SqliteStateStore(DbPath);
        string[] keys = ["b/z", "b/a", "b/é", "b/Z", "b/a/1", "c/a", "a/z", "b/\U0001F680"];
        store.Write(w => { foreach (var k in keys) w.Put("t", k, k); return 0; });
        var all = store.Read(r => r.Scan("t", "b/", null, 100)).Select(kv => kv.Key).ToList();
        Assert.Equal(["b/Z", "b/a", "b/a/1", "b/z", "b/é", "b/\U0001F680"], all);
        Assert.Equal(["b/a/1", "b/z"], store.Read(r => r.Scan("t", "b/", "b/a", 2)).Select(kv => kv.Key));
        // Skipping a whole prefix: everything under "b/a" (including "b/a" itself) is stepped over.
        Assert.Equal(["b/z", "b/é", "b/\U0001F680"], store.Read(r => r.Scan("t", "b/", "b/a", 100, skipStartAfterPrefix: true)).Select(kv => kv.Key));
        // A start before the prefix is no restriction.
        Assert.Equal(6, store.Read(r => r.Scan("t", "b/", "a", 100)).Count);
    }

    [Fact]
    public void PrefixUpperBound()
    {
        Assert.Equal([0x62], SqliteStateStore.PrefixUpperBound([0x61]));
        Assert.Equal([0x61, 0x62], SqliteStateStore.PrefixUpperBound([0x61, 0x61, 0xFF]));
        Assert.Null(SqliteStateStore.PrefixUpperBound([0xFF, 0xFF]));
        Assert.Null(SqliteStateStore.PrefixUpperBound([]));
    }
}

public sealed class BlobStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-blobs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task CommittedBlobsAreWholeAndUncommittedLeaveNothing()
    {
        var blobs = new BlobStore(_dir);
        string id;
        await using (var writer = blobs.CreateWriter())
        {
            await writer.Stream.WriteAsync("whole"u8.ToArray());
            id = await writer.CommitAsync();
        }
        Assert.Equal("whole", await File.ReadAllTextAsync(blobs.PathOf(id)));
        await using (var abandoned = blobs.CreateWriter())
        {
            await abandoned.Stream.WriteAsync("partial"u8.ToArray());
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "tmp")));
    }

    [Fact]
    public async Task TemporaryFilesAreClearedOnOpenAndOrphansSwept()
    {
        var blobs = new BlobStore(_dir);
        var writer = blobs.CreateWriter();
        await writer.Stream.WriteAsync(new byte[10]); // a crash leaves it behind
        string keep, orphan;
        await using (var w = blobs.CreateWriter()) keep = await w.CommitAsync();
        await using (var w = blobs.CreateWriter()) orphan = await w.CommitAsync();
        await writer.Stream.DisposeAsync();

        var reopened = new BlobStore(_dir);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "tmp")));
        Assert.Equal(0, reopened.Sweep(_ => false, DateTime.UtcNow.AddMinutes(-1))); // too new to judge
        Assert.Equal(1, reopened.Sweep(id => id == keep, DateTime.UtcNow.AddMinutes(1)));
        Assert.True(File.Exists(reopened.PathOf(keep)));
        Assert.False(File.Exists(reopened.PathOf(orphan)));
    }
}
