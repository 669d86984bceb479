using Strata.Server.Protocol;
using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

/// <summary>S3 Object Lock's decisions: what protects a version, which retention changes are
/// allowed with and without bypassing GOVERNANCE, the settings a new version gets, the request
/// headers S3 refuses, lifecycle leaving protected versions alone, and the store keeping a
/// version its remover refuses.</summary>
public sealed class ObjectLockTests : IDisposable
{
    static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    readonly InProcessS3 _s3 = new(new ServiceEventRecorder(), "locked");

    public void Dispose() => _s3.Dispose();

    static ObjectRecord Version(string? mode = null, double days = 0, string? hold = null, string key = "k", string? versionId = null, DateTimeOffset? at = null) => new()
    {
        Key = key,
        Size = 1,
        ETag = "\"e\"",
        LastModified = at ?? Now,
        Segments = [],
        OwnerAccountId = InProcessS3.Account,
        VersionId = versionId,
        ObjectLockMode = mode,
        ObjectLockRetainUntilDate = mode is null ? null : Now.AddDays(days),
        ObjectLockLegalHold = hold,
    };

    [Theory]
    [InlineData(null, 0, null, false)]
    [InlineData("GOVERNANCE", 1, null, true)]
    [InlineData("COMPLIANCE", 1, null, true)]
    [InlineData("COMPLIANCE", -1, null, false)] // its retention has passed
    [InlineData("COMPLIANCE", 0, null, false)] // passes at the very instant
    [InlineData(null, 0, "ON", true)]
    [InlineData(null, 0, "OFF", false)]
    [InlineData("GOVERNANCE", -1, "ON", true)]
    public void A_version_is_protected_by_a_retention_in_force_or_a_legal_hold(string? mode, double days, string? hold, bool protectedNow)
        => Assert.Equal(protectedNow, ObjectLock.IsProtected(Version(mode, days, hold), Now));

    [Theory]
    [InlineData("GOVERNANCE", null, false, false)]
    [InlineData("GOVERNANCE", null, true, true)]
    [InlineData("COMPLIANCE", null, true, false)]
    [InlineData("GOVERNANCE", "ON", true, false)] // nothing bypasses a legal hold
    [InlineData(null, "OFF", false, true)]
    public void Only_governance_gives_way_and_only_to_a_bypass(string? mode, string? hold, bool bypass, bool removable)
        => Assert.Equal(removable, ObjectLock.MayRemove(Version(mode, 1, hold), Now, bypass));

    [Theory]
    [InlineData("COMPLIANCE", "COMPLIANCE", 5, false, true)] // extended
    [InlineData("COMPLIANCE", "COMPLIANCE", 2, false, true)] // the same date
    [InlineData("COMPLIANCE", "COMPLIANCE", 1, true, false)] // shortened: never
    [InlineData("COMPLIANCE", "GOVERNANCE", 5, true, false)] // weakened: never
    [InlineData("COMPLIANCE", null, 0, true, false)] // removed: never
    [InlineData("GOVERNANCE", "GOVERNANCE", 5, false, true)]
    [InlineData("GOVERNANCE", "COMPLIANCE", 5, false, true)] // made stricter
    [InlineData("GOVERNANCE", "GOVERNANCE", 1, false, false)]
    [InlineData("GOVERNANCE", "GOVERNANCE", 1, true, true)]
    [InlineData("GOVERNANCE", null, 0, false, false)]
    [InlineData("GOVERNANCE", null, 0, true, true)]
    public void A_retention_in_force_may_grow_but_not_shrink(string current, string? mode, double days, bool bypass, bool allowed)
        => Assert.Equal(allowed, ObjectLock.MayChangeRetention(Version(current, 2), mode, mode is null ? null : Now.AddDays(days), Now, bypass));

    [Fact]
    public void A_retention_that_has_passed_may_become_anything()
        => Assert.True(ObjectLock.MayChangeRetention(Version("COMPLIANCE", -1), null, null, Now, bypassGovernance: false));

    [Fact]
    public void A_new_version_gets_the_requested_settings_else_the_default_retention()
    {
        var days = new ObjectLockConfigurationRecord(ObjectLock.Governance, DefaultDays: 3);
        var years = new ObjectLockConfigurationRecord(ObjectLock.Compliance, DefaultYears: 1);
        Assert.Equal(new ObjectLock.Settings(ObjectLock.Governance, Now.AddDays(3), null), ObjectLock.ForNewVersion(days, ObjectLock.Settings.None, Now));
        Assert.Equal(new ObjectLock.Settings(ObjectLock.Compliance, Now.AddYears(1), ObjectLock.On),
            ObjectLock.ForNewVersion(years, new ObjectLock.Settings(null, null, ObjectLock.On), Now));
        var requested = new ObjectLock.Settings(ObjectLock.Governance, Now.AddDays(1), null);
        Assert.Equal(requested, ObjectLock.ForNewVersion(years, requested, Now));
        Assert.True(ObjectLock.ForNewVersion(new ObjectLockConfigurationRecord(), ObjectLock.Settings.None, Now).IsEmpty);
    }

    [Theory]
    [InlineData("GOVERNANCE", null, null, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")]
    [InlineData(null, "2026-12-01T00:00:00Z", null, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")]
    [InlineData("governance", "2026-12-01T00:00:00Z", null, "Unknown wormMode directive.")]
    [InlineData(null, null, "on", "Legal Hold must be either of 'ON' or 'OFF'")]
    [InlineData("COMPLIANCE", "2026-11-30T12:00:00Z", null, "The retain until date must be in the future!")]
    [InlineData("COMPLIANCE", "tomorrow", null, "The retain until date must be provided in ISO 8601 format")]
    public void Headers_S3_refuses(string? mode, string? until, string? hold, string message)
    {
        var headers = new Dictionary<string, string?>
        {
            ["x-amz-object-lock-mode"] = mode,
            ["x-amz-object-lock-retain-until-date"] = until,
            ["x-amz-object-lock-legal-hold"] = hold,
        };
        var e = Assert.Throws<AwsException>(() => ObjectLock.FromHeaders(h => headers.GetValueOrDefault(h), Now));
        Assert.Equal(("InvalidArgument", 400, message), (e.Code, e.Status, e.Message));
    }

    [Fact]
    public void Headers_read_as_settings()
    {
        var headers = new Dictionary<string, string?>
        {
            ["x-amz-object-lock-mode"] = "COMPLIANCE",
            ["x-amz-object-lock-retain-until-date"] = "2026-12-01T00:00:00.000Z",
            ["x-amz-object-lock-legal-hold"] = "OFF",
        };
        Assert.Equal(new ObjectLock.Settings("COMPLIANCE", new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), "OFF"),
            ObjectLock.FromHeaders(h => headers.GetValueOrDefault(h), Now));
        Assert.True(ObjectLock.FromHeaders(_ => null, Now).IsEmpty);
    }

    [Fact]
    public void Lifecycle_never_removes_a_protected_noncurrent_version()
    {
        var rule = new LifecycleRuleRecord { Id = "r", Enabled = true, NoncurrentDays = 1 };
        var current = Version(at: Now.AddDays(-10), versionId: "c");
        var stack = new List<ObjectRecord>
        {
            Version("GOVERNANCE", 5, versionId: "retained", at: Now.AddDays(-20)),
            Version(hold: "ON", versionId: "held", at: Now.AddDays(-30)),
            Version("COMPLIANCE", -1, versionId: "passed", at: Now.AddDays(-40)),
            Version(versionId: "free", at: Now.AddDays(-50)),
        };
        var action = Lifecycle.Decide([rule], "k", current, stack, Now);
        Assert.Equal(["free", "passed"], action!.RemoveVersionIds);
    }

    [Fact]
    public void A_write_that_names_no_retention_gets_the_buckets_default_in_the_store()
    {
        // Strata's own writers (trail logs, job outputs) call the store, not PutObject's handler.
        var store = _s3.Store;
        store.UpdateBucket("locked", b => b with { Versioning = VersioningStatus.Enabled, ObjectLock = new ObjectLockConfigurationRecord("COMPLIANCE", DefaultDays: 30) });
        var written = store.PutObject("locked", Version(key: "log.json.gz"));
        Assert.Equal(("COMPLIANCE", Now.AddDays(30)), (written.ObjectLockMode, written.ObjectLockRetainUntilDate));
        var named = store.PutObject("locked", Version("GOVERNANCE", 1, key: "named"));
        Assert.Equal(("GOVERNANCE", Now.AddDays(1)), (named.ObjectLockMode, named.ObjectLockRetainUntilDate));
        var refused = store.DeleteObject("locked", "log.json.gz", written.VersionId, Now, InProcessS3.Account, v => ObjectLock.MayRemove(v, Now, true));
        Assert.True(refused.Locked);
    }

    [Fact]
    public void The_store_keeps_a_version_its_remover_refuses()
    {
        var store = _s3.Store;
        store.UpdateBucket("locked", b => b with { Versioning = VersioningStatus.Enabled, ObjectLock = new ObjectLockConfigurationRecord() });
        var locked = store.PutObject("locked", Version("COMPLIANCE", 1));
        store.PutObject("locked", Version());
        var refused = store.DeleteObject("locked", "k", locked.VersionId, Now, InProcessS3.Account, v => ObjectLock.MayRemove(v, Now, false));
        Assert.Equal((false, true), (refused.Changed, refused.Locked));
        var kept = store.GetVersion("locked", "k", locked.VersionId!);
        Assert.Equal("COMPLIANCE", kept?.ObjectLockMode);
        // Later the same remover lets it go.
        var later = Now.AddDays(2);
        var removed = store.DeleteObject("locked", "k", locked.VersionId, later, InProcessS3.Account, v => ObjectLock.MayRemove(v, later, false));
        Assert.Equal((true, false), (removed.Changed, removed.Locked));
        Assert.Null(store.GetVersion("locked", "k", locked.VersionId!));
    }
}
