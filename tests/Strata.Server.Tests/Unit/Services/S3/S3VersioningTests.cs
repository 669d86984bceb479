using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>Version ids and the ListObjectVersions page logic (pure).</summary>
public sealed class S3VersionIdTests
{
    [Fact]
    public void IdsAreWellFormedUniqueAndUrlSafe()
    {
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 5000).Select(_ => S3VersionIds.New(at)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id =>
        {
            Assert.Equal(32, id.Length);
            Assert.True(S3VersionIds.IsWellFormed(id));
            Assert.Equal(id, Uri.EscapeDataString(id));
            Assert.NotEqual('-', id[0]);
        });
    }

    [Fact]
    public void NewerIdsSortFirst()
    {
        var t = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        for (var step = 1; step < 100_000_000; step *= 7)
        {
            var older = S3VersionIds.New(t);
            var newer = S3VersionIds.New(t.AddTicks(step));
            Assert.True(string.CompareOrdinal(newer, older) < 0, $"{newer} !< {older} (step {step})");
        }
    }

    [Theory]
    [InlineData("null", true)]
    [InlineData("", false)]
    [InlineData("NULL", false)]
    [InlineData("abc", false)]
    [InlineData("0123456789abcdefghijklmnopqrstu-", false)]
    [InlineData("0123456789abcdefghijklmnopqrstu/", false)]
    [InlineData("0123456789abcdefghijklmnopqrst._", true)]
    [InlineData("0123456789abcdefghijklmnopqrst._x", false)]
    public void WellFormed(string id, bool expected) => Assert.Equal(expected, S3VersionIds.IsWellFormed(id));
}

public sealed class S3VersionListingTests
{
    // key -> version ids, newest first
    static readonly SortedDictionary<string, string[]> Keys = new(StringComparer.Ordinal)
    {
        ["a"] = ["a3", "a2", "a1"],
        ["b"] = ["b1"],
        ["dir/x"] = ["x2", "x1"],
        ["dir/y"] = ["y1"],
        ["z"] = ["z2", "z1"],
    };

    static S3Listing.Scan Scan => (prefix, startAfter, limit, skip) => Keys.Keys
        .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
        .Where(k => startAfter is null || string.CompareOrdinal(k, startAfter) > 0 && !(skip && k.StartsWith(startAfter, StringComparison.Ordinal)))
        .Take(limit).Select(k => new KeyValuePair<string, string>(k, "")).ToList();

    static VersionListingPage<string> List(string prefix = "", string? delimiter = null, string? keyMarker = null, string? versionIdMarker = null, int maxKeys = 1000)
        => S3VersionListing.List(Scan, k => Keys.TryGetValue(k, out var v) ? v : [], v => v, prefix, delimiter, keyMarker, versionIdMarker, maxKeys);

    static string Show(VersionListingPage<string> page)
        => string.Join(" ", page.Entries.Select(e => e.Version is null ? e.Key : e.Version + (e.IsLatest ? "*" : "")));

    [Fact]
    public void EveryVersionNewestFirstWithTheLatestMarked()
    {
        var page = List();
        Assert.Equal("a3* a2 a1 b1* x2* x1 y1* z2* z1", Show(page));
        Assert.False(page.IsTruncated);
        Assert.Null(page.NextKeyMarker);
    }

    [Fact]
    public void MaxKeysCountsVersionsAndPagesResumeInsideAKey()
    {
        var seen = new List<string>();
        string? key = null, version = null;
        var pages = 0;
        while (true)
        {
            var page = List(keyMarker: key, versionIdMarker: version, maxKeys: 2);
            Assert.True(page.Entries.Count <= 2);
            seen.AddRange(page.Entries.Select(e => e.Version!));
            pages++;
            if (!page.IsTruncated) break;
            (key, version) = (page.NextKeyMarker, page.NextVersionIdMarker);
        }
        Assert.Equal(["a3", "a2", "a1", "b1", "x2", "x1", "y1", "z2", "z1"], seen);
        Assert.Equal(5, pages);
        // The first page ends inside "a": the markers name its last version returned.
        var first = List(maxKeys: 2);
        Assert.Equal(("a", "a2"), (first.NextKeyMarker, first.NextVersionIdMarker));
    }

    [Fact]
    public void AKeyMarkerAloneStartsAfterThatKey()
        => Assert.Equal("b1* x2* x1 y1* z2* z1", Show(List(keyMarker: "a")));

    [Fact]
    public void DelimiterRollsUpAndCountsOnce()
    {
        Assert.Equal("a3* a2 a1 b1* dir/ z2* z1", Show(List(delimiter: "/")));
        var page = List(delimiter: "/", maxKeys: 5);
        Assert.Equal("a3* a2 a1 b1* dir/", Show(page));
        Assert.True(page.IsTruncated);
        Assert.Equal(("dir/", null), (page.NextKeyMarker, page.NextVersionIdMarker));
        // Resuming from a common prefix skips all of it.
        Assert.Equal("z2* z1", Show(List(delimiter: "/", keyMarker: "dir/")));
    }

    [Fact]
    public void PrefixAndZeroMaxKeys()
    {
        Assert.Equal("x2* x1 y1*", Show(List(prefix: "dir/")));
        var none = List(maxKeys: 0);
        Assert.Empty(none.Entries);
        Assert.False(none.IsTruncated);
    }

    [Fact]
    public void MergeKeysTakesTheUnionInOrder()
        => Assert.Equal(["a", "b", "c", "d"], S3Listing.MergeKeys(["a", "c", "d"], ["b", "c"], 4));
}

/// <summary>The store's versions on SQLite: what each write and delete keeps, and that a version's
/// blobs stay referenced (the crash sweep keeps them) until that version is deleted.</summary>
public sealed class S3VersionStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-s3-versions-").FullName;
    readonly SqliteStateStore _state;
    readonly BlobStore _blobs;
    readonly S3Store _store;
    readonly DateTimeOffset _t0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    public S3VersionStoreTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _blobs = new BlobStore(Path.Combine(_dir, "objects"));
        _store = new S3Store(_state, _blobs);
        _store.CreateBucket(new BucketRecord("b", "111122223333", "us-east-1", _t0));
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    async Task<ObjectRecord> PutAsync(string key, string body, int second)
    {
        await using var writer = _blobs.CreateWriter();
        await writer.Stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(body));
        var id = await writer.CommitAsync();
        return _store.PutObject("b", new ObjectRecord
        {
            Key = key,
            Size = body.Length,
            ETag = $"\"{body}\"",
            LastModified = _t0.AddSeconds(second),
            Segments = [new Segment(id, body.Length)],
            OwnerAccountId = "111122223333",
        });
    }

    void Versioning(string status) => _store.UpdateBucket("b", b => b with { Versioning = status });

    string Body(ObjectRecord r) => File.ReadAllText(_blobs.PathOf(r.Segments[0].BlobId));

    int Sweep() => _store.SweepUnreferencedBlobs(DateTime.UtcNow.AddDays(1));

    [Fact]
    public async Task EnabledKeepsEveryVersionAndTheSweepKeepsTheirBlobs()
    {
        var before = await PutAsync("k", "v0", 0);
        Assert.Null(before.VersionId);
        Versioning(VersioningStatus.Enabled);
        var v1 = await PutAsync("k", "v1", 1);
        var v2 = await PutAsync("k", "v2", 2);
        Assert.NotNull(v1.VersionId);
        Assert.NotEqual(v1.VersionId, v2.VersionId);
        Assert.Equal(0, Sweep());
        Assert.Equal([v2.VersionId!, v1.VersionId!, "null"], _store.ListKeyVersions("b", "k").Select(v => v.WireVersionId));
        Assert.Equal("v0", Body(_store.GetVersion("b", "k", "null")!));
        Assert.Equal(v2.ETag, _store.GetObject("b", "k")!.ETag);

        // A delete hides them all behind a marker, and removes nothing.
        var marker = _store.DeleteObject("b", "k", null, _t0.AddSeconds(3), "111122223333");
        Assert.True(marker.DeleteMarker);
        Assert.Null(_store.GetObject("b", "k"));
        Assert.Equal(marker.VersionId, _store.LatestDeleteMarker("b", "k")!.VersionId);
        Assert.Equal(0, Sweep());
        Assert.Throws<BucketNotEmpty>(() => _store.DeleteBucket("b"));

        // Deleting the marker brings v2 back; deleting v2 for good makes v1 current and frees v2's blob.
        Assert.True(_store.DeleteObject("b", "k", marker.VersionId, _t0, "111122223333").DeleteMarker);
        Assert.Equal(v2.VersionId, _store.GetObject("b", "k")!.VersionId);
        var v2Blob = _blobs.PathOf(v2.Segments[0].BlobId);
        Assert.False(_store.DeleteObject("b", "k", v2.VersionId, _t0, "111122223333").DeleteMarker);
        Assert.False(File.Exists(v2Blob));
        Assert.Equal("v1", Body(_store.GetObject("b", "k")!));

        foreach (var v in _store.ListKeyVersions("b", "k")) _store.DeleteObject("b", "k", v.WireVersionId, _t0, "111122223333");
        Assert.Empty(_store.ListKeyVersions("b", "k"));
        _store.DeleteBucket("b");
    }

    [Fact]
    public async Task SuspendedWritesReplaceTheNullVersionOnly()
    {
        await PutAsync("k", "v0", 0);
        Versioning(VersioningStatus.Enabled);
        var v1 = await PutAsync("k", "v1", 1);
        Versioning(VersioningStatus.Suspended);
        var n1 = await PutAsync("k", "n1", 2);
        Assert.Null(n1.VersionId);
        var n2 = await PutAsync("k", "n2", 3);
        Assert.Equal(["null", v1.VersionId!], _store.ListKeyVersions("b", "k").Select(v => v.WireVersionId));
        Assert.Equal("n2", Body(_store.GetObject("b", "k")!));
        // The replaced null versions' blobs are gone; v1's stays.
        Assert.False(File.Exists(_blobs.PathOf(n1.Segments[0].BlobId)));
        Assert.True(File.Exists(_blobs.PathOf(v1.Segments[0].BlobId)));

        // A Suspended delete: a null marker replaces the null version.
        var outcome = _store.DeleteObject("b", "k", null, _t0.AddSeconds(4), "111122223333");
        Assert.Equal(("null", true), (outcome.VersionId, outcome.DeleteMarker));
        Assert.False(File.Exists(_blobs.PathOf(n2.Segments[0].BlobId)));
        var versions = _store.ListKeyVersions("b", "k");
        Assert.Equal([true, false], versions.Select(v => v.IsDeleteMarker));
        Assert.Equal(["null", v1.VersionId!], versions.Select(v => v.WireVersionId));
    }

    [Fact]
    public async Task ANeverVersionedBucketDeletesAsBefore()
    {
        var o = await PutAsync("k", "v0", 0);
        Assert.Null(_store.GetObject("b", "k")!.VersionId);
        var outcome = _store.DeleteObject("b", "k", null, _t0, "111122223333");
        Assert.Equal((true, null, false), (outcome.Changed, outcome.VersionId, outcome.DeleteMarker));
        Assert.False(File.Exists(_blobs.PathOf(o.Segments[0].BlobId)));
        Assert.Empty(_store.ListKeyVersions("b", "k"));
        Assert.False(_store.DeleteObject("b", "k", null, _t0, "111122223333").Changed);
    }
}
