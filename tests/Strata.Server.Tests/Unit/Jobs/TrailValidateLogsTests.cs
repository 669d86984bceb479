using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Trail;
using Strata.Server.Tests.E2E;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// Proof that the AWS CLI accepts what Strata makes: a three-hour trail (two log files, then
/// one, then an hour with none) is handed to the CLI's own <c>cloudtrail validate-logs</c> command
/// object (Unit/Jobs/trail_validate.py, which stands in only for its S3 and CloudTrail clients),
/// untouched and then modified, deleted, moved and reordered, with the CLI v1 of the image's
/// python3 and Debian's CLI v2 under /usr/bin/python3.
/// </summary>
public sealed class TrailValidateLogsTests : IDisposable
{
    const string Bucket = "trail-bucket";
    const string Region = "us-east-1";
    const string TrailArn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main";
    static readonly DateTimeOffset Created = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
    static readonly DateTimeOffset FirstDigestStart = new(2026, 3, 1, 10, 0, 31, TimeSpan.Zero);

    readonly string _dir = Directory.CreateTempSubdirectory("strata-trail-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static TheoryData<string, string> Clis => new() { { "python3", "1." }, { "/usr/bin/python3", "2." } };

    sealed record StoredObject(byte[] Bytes, IReadOnlyDictionary<string, string> Metadata);

    /// <summary>The bucket after three hours of delivery, with the log and digest keys in order.</summary>
    sealed class Trail
    {
        public Dictionary<string, StoredObject> Objects { get; } = new(StringComparer.Ordinal);
        public List<string> LogKeys { get; } = [];
        public List<string> DigestKeys { get; } = [];
        public required string? Prefix { get; init; }
        public required IReadOnlyList<TrailPublicKey> PublicKeys { get; set; }
    }

    Trail Deliver(string? prefix)
    {
        var clock = new FakeTimeProvider(Created);
        var keys = new TrailKeys(Path.Combine(_dir, "data"), clock);
        var destination = new TrailDestination(Bucket, prefix, "123456789012", Region);
        var trail = new Trail { Prefix = prefix, PublicKeys = [] };
        TrailDigestLink? previous = null;
        var start = FirstDigestStart;
        foreach (var logTimes in new[] { new[] { 5, 40 }, [20], [] })
        {
            var entries = new List<TrailDigestLogFile>();
            foreach (var minute in logTimes)
            {
                var at = start.AddMinutes(minute);
                string[] records = [Event(at.AddMinutes(-3), "GetObject"), Event(at.AddMinutes(-1), "PutObject")];
                var log = TrailLogFile.Build(destination, at, records);
                trail.Objects[log.Key] = new StoredObject(log.GzipBytes, new Dictionary<string, string>());
                trail.LogKeys.Add(log.Key);
                entries.Add(log.DigestEntry);
            }
            var end = start.AddHours(1);
            clock.SetUtcNow(end);
            var digest = TrailDigest.Build(destination, "main", Region, start, end, entries, previous, keys.Current(Region));
            trail.Objects[digest.Key] = new StoredObject(digest.GzipBytes, digest.Metadata);
            trail.DigestKeys.Add(digest.Key);
            previous = digest.Link;
            start = end;
        }
        // What ListPublicKeys answers for the range the CLI asks (start, end + 2 hours).
        trail.PublicKeys = keys.ListPublicKeys(Region, FirstDigestStart.AddMinutes(-31), start.AddHours(2.5));
        return trail;
    }

    static string Event(DateTimeOffset at, string name)
        => JsonSerializer.Serialize(new JsonObject
        {
            ["eventVersion"] = "1.08",
            ["eventTime"] = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["eventSource"] = "s3.amazonaws.com",
            ["eventName"] = name,
            ["awsRegion"] = Region,
        });

    sealed record Result(string CliVersion, int ValidDigests, int InvalidDigests, int ValidLogs, int InvalidLogs, string? Error, string Stdout, string Stderr)
    {
        public override string ToString() => $"v{CliVersion}: digests {ValidDigests} valid / {InvalidDigests} invalid, logs {ValidLogs} / {InvalidLogs}, "
            + $"error {Error}\n{Stdout}\n{Stderr}";
    }

    async Task<Result> ValidateAsync(string python, Trail trail)
    {
        var objects = new JsonArray();
        var i = 0;
        foreach (var (key, stored) in trail.Objects)
        {
            var file = Path.Combine(_dir, $"object-{i++}");
            await File.WriteAllBytesAsync(file, stored.Bytes);
            var metadata = new JsonObject();
            foreach (var (name, value) in stored.Metadata) metadata[name] = value;
            objects.Add(new JsonObject { ["bucket"] = Bucket, ["key"] = key, ["file"] = file, ["metadata"] = metadata });
        }
        var publicKeys = new JsonArray();
        foreach (var key in trail.PublicKeys)
            publicKeys.Add(new JsonObject
            {
                // The wire's base64 of the blob, which the CLI keeps as text.
                ["Value"] = Convert.ToBase64String(key.Value),
                ["Fingerprint"] = key.Fingerprint,
                ["ValidityStartTime"] = key.ValidityStartTime.ToString("O"),
            });
        var manifest = new JsonObject
        {
            ["trailArn"] = TrailArn,
            ["region"] = Region,
            ["bucket"] = Bucket,
            ["prefix"] = trail.Prefix,
            ["startTime"] = "2026-03-01T10:00:00Z",
            ["endTime"] = "2026-03-01T13:30:00Z",
            ["objects"] = objects,
            ["publicKeys"] = publicKeys,
        };
        var manifestPath = Path.Combine(_dir, "manifest.json");
        await File.WriteAllTextAsync(manifestPath, manifest.ToJsonString());
        var script = Path.Combine(AppContext.BaseDirectory, "Unit", "Jobs", "trail_validate.py");
        var (exit, output) = await ClientProcess.RunAsync(python, [script, manifestPath], new Dictionary<string, string> { ["PYTHONDONTWRITEBYTECODE"] = "1" },
            TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"{python} {script} exited {exit}:\n{output}");
        var json = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        return new Result(json["cliVersion"]!.GetValue<string>(), json["valid_digests"]!.GetValue<int>(),
            json["invalid_digests"]!.GetValue<int>() + json["invalid_backfill_digests"]!.GetValue<int>(),
            json["valid_logs"]!.GetValue<int>(), json["invalid_logs"]!.GetValue<int>(), json["error"]?.GetValue<string>(),
            json["stdout"]!.GetValue<string>(), json["stderr"]!.GetValue<string>());
    }

    static byte[] Gunzip(byte[] bytes) => TrailLogFileTests.Gunzip(bytes);

    static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    /// <summary>Changes one byte of the decompressed content and compresses it again.</summary>
    static byte[] ChangeOneByte(byte[] gzip, byte from, byte to)
    {
        var plain = Gunzip(gzip);
        var at = Array.IndexOf(plain, from);
        Assert.True(at >= 0);
        plain[at] = to;
        return Gzip(plain);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task AnUntouchedTrailIsValid(string python, string version)
    {
        foreach (var prefix in new[] { "audit/team", null })
        {
            var result = await ValidateAsync(python, Deliver(prefix));
            Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
            Assert.True(result is { ValidDigests: 3, InvalidDigests: 0, ValidLogs: 3, InvalidLogs: 0, Error: null }, result.ToString());
            Assert.Contains("3/3 digest files valid", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("3/3 log files valid", result.Stdout, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task AModifiedLogFileIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        var log = trail.LogKeys[1];
        trail.Objects[log] = trail.Objects[log] with { Bytes = ChangeOneByte(trail.Objects[log].Bytes, (byte)'G', (byte)'H') };
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 3, InvalidDigests: 0, ValidLogs: 2, InvalidLogs: 1 }, result.ToString());
        Assert.Contains($"s3://{Bucket}/{log}\tINVALID: hash value doesn't match", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task ACorruptedLogFileIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        var log = trail.LogKeys[0];
        var bytes = trail.Objects[log].Bytes.ToArray();
        bytes[bytes.Length / 2] ^= 0x01;
        trail.Objects[log] = trail.Objects[log] with { Bytes = bytes };
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 3, InvalidDigests: 0, ValidLogs: 2, InvalidLogs: 1 }, result.ToString());
        Assert.Contains($"s3://{Bucket}/{log}\tINVALID", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task ADeletedLogFileIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        trail.Objects.Remove(trail.LogKeys[2]);
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 3, ValidLogs: 2, InvalidLogs: 1 }, result.ToString());
        Assert.Contains($"s3://{Bucket}/{trail.LogKeys[2]}\tINVALID: not found", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task ReorderedLogFilesAreReported(string python, string version)
    {
        var trail = Deliver("audit");
        var (a, b) = (trail.LogKeys[0], trail.LogKeys[1]);
        (trail.Objects[a], trail.Objects[b]) = (trail.Objects[b], trail.Objects[a]);
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 3, ValidLogs: 1, InvalidLogs: 2 }, result.ToString());
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task AModifiedDigestIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        var digest = trail.DigestKeys[1];
        // Someone hides a changed log file by changing its hash in the digest: the signature catches it.
        var text = Encoding.UTF8.GetString(Gunzip(trail.Objects[digest].Bytes));
        var hash = JsonNode.Parse(text)!["logFiles"]![0]!["hashValue"]!.GetValue<string>();
        var forged = text.Replace(hash, hash[..^1] + (hash[^1] == '0' ? '1' : '0'), StringComparison.Ordinal);
        trail.Objects[digest] = trail.Objects[digest] with { Bytes = Gzip(Encoding.UTF8.GetBytes(forged)) };
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        // The chain goes on past it: the newest and the oldest digest are still valid.
        Assert.True(result is { ValidDigests: 2, InvalidDigests: 1, ValidLogs: 2, InvalidLogs: 0 }, result.ToString());
        Assert.Contains($"s3://{Bucket}/{digest}\tINVALID: signature verification failed", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task AChangedSignatureIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        var digest = trail.DigestKeys[2];
        var metadata = new Dictionary<string, string>(trail.Objects[digest].Metadata);
        metadata["signature"] = (metadata["signature"][0] == 'a' ? "b" : "a") + metadata["signature"][1..];
        trail.Objects[digest] = trail.Objects[digest] with { Metadata = metadata };
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 2, InvalidDigests: 1 }, result.ToString());
        Assert.Contains($"s3://{Bucket}/{digest}\tINVALID: signature verification failed", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task ADeletedDigestIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        trail.Objects.Remove(trail.DigestKeys[1]);
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 2, InvalidDigests: 1, ValidLogs: 2, InvalidLogs: 0 }, result.ToString());
        Assert.Contains($"s3://{Bucket}/{trail.DigestKeys[1]}\tINVALID: not found", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task AMovedDigestIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        var digest = trail.DigestKeys[2];
        var moved = digest.Replace("T130031Z.json.gz", "T130032Z.json.gz", StringComparison.Ordinal);
        Assert.NotEqual(digest, moved);
        trail.Objects[moved] = trail.Objects[digest];
        trail.Objects.Remove(digest);
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.Contains($"s3://{Bucket}/{moved}\tINVALID: has been moved from its original location", result.Stderr, StringComparison.Ordinal);
        Assert.True(result.InvalidDigests >= 1, result.ToString());
    }

    [Theory]
    [MemberData(nameof(Clis))]
    public async Task ADigestSignedWithAnotherKeyIsReported(string python, string version)
    {
        var trail = Deliver("audit");
        // ListPublicKeys answers with another key: the fingerprints no longer match.
        trail.PublicKeys = [new TrailKeys(Path.Combine(_dir, "other"), new FakeTimeProvider(Created)).Current(Region).ToPublicKey()];
        var result = await ValidateAsync(python, trail);
        Assert.StartsWith(version, result.CliVersion, StringComparison.Ordinal);
        Assert.True(result is { ValidDigests: 0, InvalidDigests: 3 }, result.ToString());
        Assert.Contains("INVALID: public key not found in region us-east-1 for fingerprint", result.Stderr, StringComparison.Ordinal);
    }
}
