using System.Xml.Linq;
using Microsoft.Extensions.Logging.Abstractions;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Services.S3.Model;

namespace Strata.Server.Tests.Unit;

/// <summary>S3 lifecycle: when an action falls due, which objects a rule names, what one pass
/// does to a key's versions and uploads, which configurations S3 refuses, and the worker's pass
/// over a real store (blobs freed, events put, a write after the scan respected).</summary>
public sealed class LifecycleTests : IDisposable
{
    static readonly DateTimeOffset Noon = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    readonly ServiceEventRecorder _bus = new();
    readonly InProcessS3 _s3;

    public LifecycleTests() => _s3 = new InProcessS3(_bus, "plain", "versioned");

    public void Dispose() => _s3.Dispose();

    static LifecycleRuleRecord Rule(string id, string prefix = "", int? days = null, int? noncurrentDays = null, int? newer = null, bool? marker = null,
        List<ObjectTag>? tags = null, long? greaterThan = null, long? lessThan = null, bool enabled = true, DateTimeOffset? date = null, int? abortDays = null)
        => new()
        {
            Id = id,
            Enabled = enabled,
            Filter = new LifecycleFilterRecord(prefix, tags ?? [], greaterThan, lessThan, And: true),
            ExpirationDays = days,
            ExpirationDate = date,
            ExpiredObjectDeleteMarker = marker,
            NoncurrentDays = noncurrentDays,
            NewerNoncurrentVersions = newer,
            AbortDaysAfterInitiation = abortDays,
        };

    static ObjectRecord Version(string key, DateTimeOffset at, string? versionId, long size = 3, bool marker = false, List<ObjectTag>? tags = null) => new()
    {
        Key = key,
        Size = size,
        ETag = "\"e\"",
        LastModified = at,
        Segments = [],
        OwnerAccountId = InProcessS3.Account,
        VersionId = versionId,
        DeleteMarker = marker ? true : null,
        Tags = tags ?? [],
    };

    [Theory]
    [InlineData("2026-11-30T12:00:00Z", 1, "2026-12-02T00:00:00Z")]
    [InlineData("2026-11-30T00:00:00Z", 1, "2026-12-01T00:00:00Z")]
    [InlineData("2026-11-30T23:59:59.999Z", 30, "2026-12-31T00:00:00Z")]
    [InlineData("2026-12-31T00:00:01Z", 1, "2027-01-02T00:00:00Z")]
    public void An_action_falls_due_at_the_midnight_after_its_days(string start, int days, string due)
        => Assert.Equal(DateTimeOffset.Parse(due, System.Globalization.CultureInfo.InvariantCulture),
            Lifecycle.DueAfter(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), days));

    [Fact]
    public void A_rule_names_objects_by_prefix_every_tag_and_strict_size_bounds()
    {
        var rule = Rule("r", "logs/", tags: [new("a", "1"), new("b", "2")], greaterThan: 10, lessThan: 20);
        List<ObjectTag> both = [new("b", "2"), new("a", "1"), new("c", "3")];
        Assert.True(Lifecycle.Matches(rule, "logs/x", both, 11));
        Assert.False(Lifecycle.Matches(rule, "Logs/x", both, 11));
        Assert.False(Lifecycle.Matches(rule, "logs/x", [new("a", "1")], 11));
        Assert.False(Lifecycle.Matches(rule, "logs/x", [new("a", "1"), new("b", "3")], 11));
        Assert.False(Lifecycle.Matches(rule, "logs/x", both, 10));
        Assert.False(Lifecycle.Matches(rule, "logs/x", both, 20));
        Assert.True(Lifecycle.Matches(rule, "logs/x", both, 19));
        // The first version's top-level Prefix names keys alone.
        var legacy = new LifecycleRuleRecord { Id = "old", Enabled = true, LegacyPrefix = "tmp/", ExpirationDays = 1 };
        Assert.True(Lifecycle.Matches(legacy, "tmp/a", [], 0));
        Assert.False(Lifecycle.Matches(legacy, "tmpa", [], 0));
    }

    [Fact]
    public void The_earliest_enabled_rule_that_applies_sets_the_expiration()
    {
        var date = new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
        var current = Version("logs/a", Noon, null);
        LifecycleRuleRecord[] rules =
        [
            Rule("week", "logs/", days: 7),
            Rule("off", "", days: 1, enabled: false),
            Rule("dated", "", date: date),
            Rule("other", "data/", days: 1),
        ];
        Assert.Equal((date, "dated"), Lifecycle.CurrentExpiration(rules, current));
        Assert.Equal((new DateTimeOffset(2026, 12, 8, 0, 0, 0, TimeSpan.Zero), "week"), Lifecycle.CurrentExpiration(rules[..2], current));
        Assert.Null(Lifecycle.CurrentExpiration([rules[1], rules[3]], current));
        Assert.Equal("expiry-date=\"Tue, 08 Dec 2026 00:00:00 GMT\", rule-id=\"a%20rule%2F1\"",
            Lifecycle.ExpirationHeader(new DateTimeOffset(2026, 12, 8, 0, 0, 0, TimeSpan.Zero), "a rule/1"));
    }

    [Fact]
    public void Noncurrent_versions_go_their_days_after_being_replaced_keeping_the_newest()
    {
        // v4 current since day 4; v3 noncurrent since day 4, v2 since day 3, v1 since day 2.
        var day = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var current = Version("k", day.AddDays(3), "v4");
        List<ObjectRecord> stack = [Version("k", day.AddDays(2), "v3"), Version("k", day.AddDays(1), "v2"), Version("k", day, "v1")];
        LifecycleRuleRecord[] rules = [Rule("nc", noncurrentDays: 2, newer: 1)];
        // v1 became noncurrent on Dec 2 12:00: due Dec 5 00:00; v2 (Dec 3) due Dec 6; v3 is kept.
        Assert.Null(Lifecycle.Decide(rules, "k", current, stack, new DateTimeOffset(2026, 12, 4, 23, 59, 59, TimeSpan.Zero)));
        Assert.Equal(["v1"], Lifecycle.Decide(rules, "k", current, stack, new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero))!.RemoveVersionIds);
        var later = Lifecycle.Decide(rules, "k", current, stack, new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero))!;
        Assert.False(later.ExpireCurrent);
        Assert.Equal(["v1", "v2"], later.RemoveVersionIds);
        // Without NewerNoncurrentVersions every one goes, oldest first.
        Assert.Equal(["v1", "v2", "v3"], Lifecycle.Decide([Rule("all", noncurrentDays: 2)], "k", current, stack, new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero))!.RemoveVersionIds);
    }

    [Fact]
    public void A_delete_marker_goes_once_nothing_is_below_it()
    {
        var marker = Version("k", Noon, "m", size: 0, marker: true);
        var old = Version("k", Noon.AddDays(-1), "v1");
        var now = Noon.AddDays(10);
        LifecycleRuleRecord[] eodm = [Rule("m", marker: true)];
        Assert.Equal(["m"], Lifecycle.Decide(eodm, "k", null, [marker], now)!.RemoveVersionIds);
        // A marker hiding a version is not expired ...
        Assert.Null(Lifecycle.Decide(eodm, "k", null, [marker, old], now));
        // ... unless that version goes in the same pass (then the marker goes after it).
        Assert.Equal(["v1", "m"], Lifecycle.Decide([.. eodm, Rule("nc", noncurrentDays: 1)], "k", null, [marker, old], now)!.RemoveVersionIds);
        // An Expiration with Days removes expired markers once they are that old.
        Assert.Null(Lifecycle.Decide([Rule("d", days: 30)], "k", null, [marker], now));
        Assert.Equal(["m"], Lifecycle.Decide([Rule("d", days: 5)], "k", null, [marker], now)!.RemoveVersionIds);
        // A marker is never the current object to expire.
        Assert.Null(Lifecycle.Decide([Rule("d", days: 1, enabled: false), Rule("p", "other/", marker: true)], "k", null, [marker], now));
    }

    [Fact]
    public void Uploads_abort_their_days_after_initiation_under_the_prefix()
    {
        LifecycleRuleRecord[] rules = [Rule("up", "tmp/", abortDays: 2)];
        Assert.False(Lifecycle.AbortsUpload(rules, "tmp/a", Noon, new DateTimeOffset(2026, 12, 2, 23, 59, 59, TimeSpan.Zero)));
        Assert.True(Lifecycle.AbortsUpload(rules, "tmp/a", Noon, new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero)));
        Assert.False(Lifecycle.AbortsUpload(rules, "keep/a", Noon, Noon.AddYears(1)));
    }

    [Fact]
    public void The_scan_covers_each_rules_prefix_once()
    {
        Assert.Equal(["a/", "b"], Lifecycle.ScanPrefixes([Rule("1", "a/", days: 1), Rule("2", "a/b/", noncurrentDays: 1), Rule("3", "b", days: 1), Rule("4", "bc", days: 1)]));
        Assert.Equal([""], Lifecycle.ScanPrefixes([Rule("1", "a/", days: 1), Rule("2", "", marker: true)]));
        // Rules that act on no object (disabled, uploads only) scan nothing.
        Assert.Empty(Lifecycle.ScanPrefixes([Rule("1", "a/", days: 1, enabled: false), Rule("2", "", abortDays: 1)]));
    }

    static List<LifecycleRuleRecord> Validate(string rules)
        => LifecycleOperations.Validate(S3XmlReader.ReadBucketLifecycleConfiguration(XElement.Parse($"<LifecycleConfiguration>{rules}</LifecycleConfiguration>")));

    const string Expire = "<Expiration><Days>1</Days></Expiration>";

    [Theory]
    [InlineData("", "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")]
    [InlineData("<Rule><Status>On</Status><Filter/>" + Expire + "</Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status>" + Expire + "</Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status><Prefix>a</Prefix><Filter/>" + Expire + "</Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status><Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>" + Expire + "</Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Expiration></Expiration></Rule>", "MalformedXML", "not well-formed")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/></Rule>", "InvalidRequest", "At least one action needs to be specified in a rule")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Expiration><Days>0</Days></Expiration></Rule>", "InvalidArgument", "'Days' for Expiration action must be a positive integer")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration></Rule>", "InvalidArgument", "'Date' must be at midnight GMT")]
    [InlineData("<Rule><ID>a</ID><Status>Enabled</Status><Filter/>" + Expire + "</Rule><Rule><ID>a</ID><Status>Disabled</Status><Filter/>" + Expire + "</Rule>",
        "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>",
        "InvalidArgument", "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>",
        "InvalidArgument", "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be an integer between 1 and 100")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
        "InvalidArgument", "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")]
    [InlineData("<Rule><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
        "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags.")]
    [InlineData("<Rule><Status>Enabled</Status><Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>",
        "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Object Size.")]
    [InlineData("<Rule><Status>Enabled</Status><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>",
        "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags.")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Transition><Days>10</Days><StorageClass>STANDARD_IA</StorageClass></Transition></Rule>",
        "InvalidArgument", "'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'")]
    [InlineData("<Rule><Status>Enabled</Status><Filter/><Transition><Days>10</Days><StorageClass>REDUCED</StorageClass></Transition></Rule>", "MalformedXML", "not well-formed")]
    public void Configurations_S3_refuses_are_refused_as_S3_refuses_them(string rules, string code, string message)
    {
        var e = Assert.Throws<AwsException>(() => Validate(rules));
        Assert.Equal(code, e.Code);
        Assert.Equal(400, e.Status);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Rule_counts_and_ids_are_limited_and_a_missing_id_is_made()
    {
        var rule = "<Rule><Status>Enabled</Status><Filter/>" + Expire + "</Rule>";
        Assert.Equal(1000, Validate(string.Concat(Enumerable.Repeat(rule, 1000))).Select(r => r.Id).Distinct().Count());
        Assert.Equal("MalformedXML", Assert.Throws<AwsException>(() => Validate(string.Concat(Enumerable.Repeat(rule, 1001)))).Code);
        Assert.Equal(48, Validate(rule).Single().Id.Length);
        var e = Assert.Throws<AwsException>(() => Validate($"<Rule><ID>{new string('x', 256)}</ID><Status>Enabled</Status><Filter/>{Expire}</Rule>"));
        Assert.Equal(("InvalidArgument", "ID length should not exceed allowed limit of 255"), (e.Code, e.Message));
        Assert.Equal(255, Validate($"<Rule><ID>{new string('x', 255)}</ID><Status>Enabled</Status><Filter/>{Expire}</Rule>").Single().Id.Length);
    }

    [Fact]
    public async Task A_configuration_reads_back_in_the_form_it_was_written()
    {
        const string xml = "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<Rule><ID>tagged</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter>"
            + "<Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration><Transition><Days>40</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>"
            + "<Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Disabled</Status><Expiration><Days>3</Days></Expiration></Rule>"
            + "<Rule><ID>all</ID><Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            + "<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
            + "<AbortIncompleteMultipartUpload><DaysAfterInitiation>4</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
            + "</LifecycleConfiguration>";
        Assert.Equal("NoSuchLifecycleConfiguration", (await Assert.ThrowsAsync<AwsException>(() => _s3.SendAsync("GET", "/plain?lifecycle"))).Code);
        var put = await _s3.SendAsync("PUT", "/plain?lifecycle", xml);
        Assert.Equal("all_storage_classes_128K", put.Response.Headers["x-amz-transition-default-minimum-object-size"].ToString());
        var read = XElement.Parse(InProcessS3.ResponseText(await _s3.SendAsync("GET", "/plain?lifecycle")));
        var ns = XNamespace.Get(S3Service.XmlNamespace);
        var rules = read.Elements(ns + "Rule").ToList();
        Assert.Equal(["tagged", "legacy", "all"], rules.Select(r => r.Element(ns + "ID")!.Value));
        var and = rules[0].Element(ns + "Filter")!.Element(ns + "And")!;
        Assert.Equal(["Prefix", "Tag", "ObjectSizeGreaterThan"], and.Elements().Select(e => e.Name.LocalName));
        Assert.Equal("2030-01-01T00:00:00", rules[0].Element(ns + "Expiration")!.Element(ns + "Date")!.Value[..19]);
        Assert.Equal("GLACIER", rules[0].Element(ns + "Transition")!.Element(ns + "StorageClass")!.Value);
        Assert.Equal("old/", rules[1].Element(ns + "Prefix")!.Value);
        Assert.Null(rules[1].Element(ns + "Filter"));
        Assert.Equal("Disabled", rules[1].Element(ns + "Status")!.Value);
        Assert.Empty(rules[2].Element(ns + "Filter")!.Elements());
        Assert.Equal("3", rules[2].Element(ns + "NoncurrentVersionExpiration")!.Element(ns + "NewerNoncurrentVersions")!.Value);
        Assert.Equal(204, (await _s3.SendAsync("DELETE", "/plain?lifecycle")).Response.StatusCode);
        Assert.Equal("NoSuchLifecycleConfiguration", (await Assert.ThrowsAsync<AwsException>(() => _s3.SendAsync("GET", "/plain?lifecycle"))).Code);
    }

    LifecycleWorker Worker() => new(_s3.Environment, TimeSpan.FromHours(1), NullLogger<LifecycleWorker>.Instance);

    Task PutRulesAsync(string bucket, string rules)
        => _s3.SendAsync("PUT", $"/{bucket}?lifecycle", $"<LifecycleConfiguration>{rules}</LifecycleConfiguration>");

    bool BlobExists(string blobId) => File.Exists(_s3.Store.Blobs.PathOf(blobId));

    string BlobOf(string bucket, string key) => _s3.Store.GetObject(bucket, key)!.Segments.Single().BlobId;

    [Fact]
    public async Task A_pass_expires_due_objects_frees_their_blobs_and_says_so_in_events()
    {
        await _s3.SendAsync("PUT", "/plain?notification", "<NotificationConfiguration><EventBridgeConfiguration/></NotificationConfiguration>");
        await PutRulesAsync("plain", "<Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>");
        await _s3.SendAsync("PUT", "/plain/tmp/a", "aaa");
        await _s3.SendAsync("PUT", "/plain/tmp/b", "bbb");
        await _s3.SendAsync("PUT", "/plain/keep", "kkk");
        var head = await _s3.SendAsync("HEAD", "/plain/tmp/a");
        Assert.Equal("expiry-date=\"Wed, 02 Dec 2026 00:00:00 GMT\", rule-id=\"tmp\"", head.Response.Headers["x-amz-expiration"].ToString());
        Assert.False((await _s3.SendAsync("HEAD", "/plain/keep")).Response.Headers.ContainsKey("x-amz-expiration"));
        var (aBlob, bBlob, keepBlob) = (BlobOf("plain", "tmp/a"), BlobOf("plain", "tmp/b"), BlobOf("plain", "keep"));
        var before = _bus.Events.Count;

        _s3.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 1, 23, 59, 59, TimeSpan.Zero));
        Worker().RunOnce();
        Assert.NotNull(_s3.Store.GetObject("plain", "tmp/a"));
        // tmp/b is written again just before the pass: its day counts from then.
        _s3.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero));
        await _s3.SendAsync("PUT", "/plain/tmp/b", "b2");
        Worker().RunOnce();
        Assert.Null(_s3.Store.GetObject("plain", "tmp/a"));
        Assert.NotNull(_s3.Store.GetObject("plain", "tmp/b"));
        Assert.NotNull(_s3.Store.GetObject("plain", "keep"));
        // tmp/a's body is gone from disk (tmp/b's first one went with its overwrite).
        Assert.False(BlobExists(aBlob));
        Assert.False(BlobExists(bBlob));
        Assert.True(BlobExists(BlobOf("plain", "tmp/b")));
        Assert.True(BlobExists(keepBlob));
        var e = Assert.Single(_bus.Events.Skip(before), x => x.DetailType == ObjectEvents.ObjectDeletedType);
        Assert.Equal("Lifecycle Expiration", e.Detail["reason"]!.GetValue<string>());
        Assert.Equal("Permanently Deleted", e.Detail["deletion-type"]!.GetValue<string>());
        Assert.Equal("s3.amazonaws.com", e.Detail["requester"]!.GetValue<string>());
        Assert.Equal("tmp/a", e.Detail["object"]!["key"]!.GetValue<string>());
    }

    [Fact]
    public async Task In_a_versioned_bucket_expiry_leaves_a_marker_and_noncurrent_versions_go_later()
    {
        await _s3.SendAsync("PUT", "/versioned?versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
        await PutRulesAsync("versioned", "<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
            + "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>");
        await _s3.SendAsync("PUT", "/versioned/k", "v1");
        var blob = BlobOf("versioned", "k");
        _s3.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 2, 1, 0, 0, TimeSpan.Zero));
        Worker().RunOnce();
        var versions = _s3.Store.ListKeyVersions("versioned", "k");
        Assert.Equal([true, false], versions.Select(v => v.IsDeleteMarker));
        Assert.Equal(InProcessS3.Account, versions[0].OwnerAccountId);
        // v1 became noncurrent Dec 2 01:00: it goes at Dec 4 00:00, and the marker, then alone, with it.
        _s3.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 3, 23, 0, 0, TimeSpan.Zero));
        Worker().RunOnce();
        Assert.Equal(2, _s3.Store.ListKeyVersions("versioned", "k").Count);
        _s3.Clock.SetUtcNow(new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero));
        Worker().RunOnce();
        Assert.Empty(_s3.Store.ListKeyVersions("versioned", "k"));
        Assert.False(BlobExists(blob));
        // Nothing is left behind: the bucket is empty.
        Assert.Equal(204, (await _s3.SendAsync("DELETE", "/versioned")).Response.StatusCode);
    }

    [Fact]
    public async Task In_a_suspended_bucket_expiry_replaces_the_null_version_with_a_null_marker()
    {
        await _s3.SendAsync("PUT", "/versioned?versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
        await _s3.SendAsync("PUT", "/versioned/k", "v1");
        await _s3.SendAsync("PUT", "/versioned?versioning", "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>");
        await _s3.SendAsync("PUT", "/versioned/k", "null version");
        await PutRulesAsync("versioned", "<Rule><ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>");
        _s3.Clock.SetUtcNow(Noon.AddDays(2));
        Worker().RunOnce();
        var versions = _s3.Store.ListKeyVersions("versioned", "k");
        Assert.Equal([(true, (string?)null), (false, versions[1].VersionId)], versions.Select(v => (v.IsDeleteMarker, v.VersionId)));
        Assert.NotNull(versions[1].VersionId);
    }

    [Fact]
    public async Task Incomplete_uploads_under_the_prefix_are_aborted()
    {
        await PutRulesAsync("plain", "<Rule><ID>up</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>"
            + "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>");
        var tmp = XElement.Parse(InProcessS3.ResponseText(await _s3.SendAsync("POST", "/plain/tmp/a?uploads"))).Elements().Single(e => e.Name.LocalName == "UploadId").Value;
        await _s3.SendAsync("PUT", $"/plain/tmp/a?partNumber=1&uploadId={tmp}", "part");
        await _s3.SendAsync("POST", "/plain/keep?uploads");
        var part = _s3.Store.ListParts(tmp).Single().BlobId;
        _s3.Clock.SetUtcNow(Noon.AddDays(2));
        Worker().RunOnce();
        Assert.Equal(["keep"], _s3.Store.ListUploads("plain").Select(u => u.Key));
        Assert.False(BlobExists(part));
    }
}
