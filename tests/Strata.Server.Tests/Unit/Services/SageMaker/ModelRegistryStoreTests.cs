using Microsoft.Extensions.Time.Testing;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// The model registry's store: versions count up from 1 per group and are never given twice (even
/// after a deletion, even to packages registered at once), a client token answers the version it
/// made, a group with packages cannot be deleted, names differing only in case are one group, and
/// each registration and change is one "SageMaker Model Package State Change" event.
/// </summary>
public sealed class ModelRegistryStoreTests : IDisposable
{
    const string Account = "111122223333";
    const string Prefix = "arn:aws:sagemaker:us-east-1:111122223333:";

    readonly string _dir = Directory.CreateTempSubdirectory("strata-registry-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly ServiceEventRecorder _bus = new();
    readonly ModelRegistryStore _store;
    readonly IamIdentityRow _me = new("arn:aws:iam::111122223333:root", Account);

    public ModelRegistryStoreTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new ModelRegistryStore(_state) { Events = _bus };
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    bool CreateGroup(string name, params TagRow[] tags) => _store.CreateGroup(Account, new ModelPackageGroupRow
    {
        ModelPackageGroupName = name,
        ModelPackageGroupArn = Prefix + "model-package-group/" + name.ToLowerInvariant(),
        CreationTime = _clock.GetUtcNow(),
        CreatedBy = _me,
    }, [.. tags]);

    ModelPackageRow Register(string group, string? token = null) => _store.CreateVersion(Account, group, Prefix + "model-package-group/" + group, token, [],
        (g, v) => new ModelPackageRow
        {
            ModelPackageName = g.ModelPackageGroupName,
            ModelPackageGroupName = g.ModelPackageGroupName,
            ModelPackageVersion = v,
            ModelPackageArn = $"{Prefix}model-package/{g.ModelPackageGroupName.ToLowerInvariant()}/{v}",
            CreationTime = _clock.GetUtcNow(),
            LastModifiedTime = _clock.GetUtcNow(),
            InferenceSpecification = new() { Containers = [new PackageContainerRow { Image = "strata-onnx:1", ModelDataUrl = "s3://b/model.tar.gz" }] },
            ModelApprovalStatus = "PendingManualApproval",
            CreatedBy = _me,
            ClientToken = token,
        });

    [Fact]
    public void VersionsCountUpFromOnePerGroupAndAreNeverGivenAgain()
    {
        Assert.True(CreateGroup("Churn"));
        Assert.True(CreateGroup("fraud"));
        Assert.Equal([1, 2], new[] { Register("Churn"), Register("churn") }.Select(p => p.ModelPackageVersion!.Value));
        Assert.Equal(1, Register("fraud").ModelPackageVersion);
        Assert.True(_store.DeletePackage(ModelRegistryStore.VersionKey(Account, "churn", 2)));
        Assert.False(_store.DeletePackage(ModelRegistryStore.VersionKey(Account, "churn", 2)));
        Assert.Equal(3, Register("CHURN").ModelPackageVersion);
        Assert.Equal($"{Prefix}model-package/churn/3", _store.GetPackage(ModelRegistryStore.VersionKey(Account, "Churn", 3))!.ModelPackageArn);
        Assert.Equal(["churn/1", "churn/3", "fraud/1"], _store.ListPackages(Account).Select(p => $"{p.ModelPackageArn.Split('/')[1]}/{p.ModelPackageVersion}"));
    }

    [Fact]
    public void PackagesRegisteredAtOnceGetDistinctVersions()
    {
        CreateGroup("busy");
        var versions = Enumerable.Range(0, 20).AsParallel().Select(_ => Register("busy").ModelPackageVersion!.Value).ToList();
        Assert.Equal(Enumerable.Range(1, 20), versions.Order());
        Assert.Equal(20, _store.GetGroup(Account, "busy")!.LatestVersion);
    }

    [Fact]
    public void AClientTokenAnswersTheVersionItMade()
    {
        CreateGroup("retry");
        var first = Register("retry", "token-1");
        var again = Register("retry", "token-1");
        Assert.Equal(first.ModelPackageArn, again.ModelPackageArn);
        Assert.Equal(2, Register("retry", "token-2").ModelPackageVersion);
        Assert.Equal(2, _bus.Events.Count);
    }

    [Fact]
    public void AGroupIsOneNameInAnyCaseAndCannotBeDeletedWhileItHasPackages()
    {
        Assert.True(CreateGroup("Churn", new TagRow("team", "ml")));
        Assert.False(CreateGroup("churn"));
        Assert.Equal("Churn", _store.GetGroup(Account, "CHURN")!.ModelPackageGroupName);
        var version = Register("churn");
        var arn = Prefix + "model-package-group/churn";
        var refused = Assert.Throws<ModelPackageGroupNotEmpty>(() => _store.DeleteGroup(Account, "churn", arn));
        Assert.Contains(arn, refused.Message);
        Assert.NotNull(_store.GetGroup(Account, "churn"));
        Assert.True(_store.DeletePackage(ModelRegistryStore.VersionKey(Account, "churn", version.ModelPackageVersion!.Value)));
        _store.DeleteGroup(Account, "churn", arn);
        Assert.Null(_store.GetGroup(Account, "churn"));
        Assert.Empty(_state.Read(r => SageMakerStore.ReadTags(r, arn)));
        Assert.Throws<ModelPackageGroupNotFound>(() => _store.DeleteGroup(Account, "churn", arn));
        Assert.Throws<ModelPackageGroupNotFound>(() => Register("churn"));
        // A group made again counts from 1 again.
        CreateGroup("churn");
        Assert.Equal(1, Register("churn").ModelPackageVersion);
    }

    [Fact]
    public void EveryRegistrationAndChangeIsAnEvent()
    {
        CreateGroup("approvals");
        var version = Register("approvals");
        _clock.Advance(TimeSpan.FromMinutes(5));
        var key = ModelRegistryStore.VersionKey(Account, "approvals", 1);
        _store.UpdatePackage(Account, key, p => p with { ModelApprovalStatus = "Approved", ApprovalDescription = "looks good", LastModifiedTime = _clock.GetUtcNow() });
        Assert.Null(_store.UpdatePackage(Account, ModelRegistryStore.VersionKey(Account, "approvals", 9), p => p));

        Assert.Equal(["PendingManualApproval", "Approved"], _bus.Events.Select(e => e.Detail["ModelApprovalStatus"]!.GetValue<string>()));
        var approved = _bus.Events[1];
        Assert.Equal(("aws.sagemaker", "SageMaker Model Package State Change", Account), (approved.Source, approved.DetailType, approved.Account));
        Assert.Equal([version.ModelPackageArn], approved.Resources);
        Assert.Equal(_clock.GetUtcNow(), approved.Time);
        var d = approved.Detail;
        Assert.Equal(("approvals", 1, version.ModelPackageArn), (d["ModelPackageGroupName"]!.GetValue<string>(), d["ModelPackageVersion"]!.GetValue<int>(), d["ModelPackageArn"]!.GetValue<string>()));
        // The guide's example has ISO 8601 timestamps for this event.
        Assert.Equal("2026-11-30T12:00:00Z", d["CreationTime"]!.GetValue<string>());
        Assert.Equal("2026-11-30T12:05:00Z", d["LastModifiedTime"]!.GetValue<string>());
        Assert.Equal(("Completed", "looks good"), (d["ModelPackageStatus"]!.GetValue<string>(), d["ApprovalDescription"]!.GetValue<string>()));
        Assert.Equal("strata-onnx:1", d["InferenceSpecification"]!["Containers"]![0]!["Image"]!.GetValue<string>());
        Assert.Null(d["ModelPackageName"]);
    }

    [Fact]
    public void AnUnversionedPackageIsItsOwnName()
    {
        ModelPackageRow Package(string token) => new()
        {
            ModelPackageName = "Scorer",
            ModelPackageArn = Prefix + "model-package/scorer",
            CreationTime = _clock.GetUtcNow(),
            LastModifiedTime = _clock.GetUtcNow(),
            InferenceSpecification = new() { Containers = [new PackageContainerRow { Image = "strata-onnx:1" }] },
            CreatedBy = _me,
            ClientToken = token,
        };
        var made = _store.CreateUnversioned(Account, Package("a"), [new TagRow("k", "v")]);
        Assert.Equal(made.ModelPackageArn, _store.CreateUnversioned(Account, Package("a"), []).ModelPackageArn);
        Assert.Throws<ModelPackageAlreadyExists>(() => _store.CreateUnversioned(Account, Package("b"), []));
        Assert.False(_store.GetPackage(ModelRegistryStore.UnversionedKey(Account, "SCORER"))!.Versioned);
        Assert.Equal([new TagRow("k", "v")], _state.Read(r => SageMakerStore.ReadTags(r, made.ModelPackageArn)));
        Assert.Equal("Scorer", Assert.Single(_bus.Events).Detail["ModelPackageName"]!.GetValue<string>());
    }
}
