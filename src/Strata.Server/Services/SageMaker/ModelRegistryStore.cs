using System.Globalization;
using System.Text.Json;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// The model registry in the state store: model package groups, the versioned packages in them and
/// unversioned packages, with their tags. A group and its packages are keyed by the group's name in
/// lower case, as its ARN names it, so that two names differing only in case are one group (their
/// ARNs would be the same). Versions are given here, in the transaction that writes the package,
/// so that two packages registered at once never get the same one. Every write of a package passes
/// through here, so this is where it becomes AWS's "SageMaker Model Package State Change" event.
/// </summary>
public sealed class ModelRegistryStore(IStateStore state)
{
    const string Groups = "sm-model-package-groups";
    const string Packages = "sm-model-packages";

    /// <summary>Where package state changes are put (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    static string GroupKey(string account, string group) => account + "/" + group.ToLowerInvariant();

    /// <summary>A versioned package's key: its group's, then its version with leading zeros, so
    /// that a scan of the group's prefix answers its versions in order.</summary>
    public static string VersionKey(string account, string group, int version)
        => GroupKey(account, group) + "/" + version.ToString("D9", CultureInfo.InvariantCulture);

    /// <summary>An unversioned package's key (no slash after the name: never in a group's prefix).</summary>
    public static string UnversionedKey(string account, string name) => account + "/" + name.ToLowerInvariant();

    static ModelPackageGroupRow ParseGroup(string json) => JsonSerializer.Deserialize(json, ModelRegistryJson.Default.ModelPackageGroupRow)!;

    static string Json(ModelPackageGroupRow row) => JsonSerializer.Serialize(row, ModelRegistryJson.Default.ModelPackageGroupRow);

    static ModelPackageRow ParsePackage(string json) => JsonSerializer.Deserialize(json, ModelRegistryJson.Default.ModelPackageRow)!;

    static string Json(ModelPackageRow row) => JsonSerializer.Serialize(row, ModelRegistryJson.Default.ModelPackageRow);

    // ---- groups ----

    public ModelPackageGroupRow? GetGroup(string account, string group) => state.Read(r => r.Get(Groups, GroupKey(account, group))) is { } json ? ParseGroup(json) : null;

    public List<ModelPackageGroupRow> ListGroups(string account)
        => state.Read(r => r.Scan(Groups, account + "/", null, int.MaxValue)).Select(kv => ParseGroup(kv.Value)).ToList();

    /// <summary>Inserts a group with its tags; false if one of that name (in any case) exists.</summary>
    public bool CreateGroup(string account, ModelPackageGroupRow group, List<TagRow> tags) => state.Write(w =>
    {
        var key = GroupKey(account, group.ModelPackageGroupName);
        if (w.Get(Groups, key) is not null) return false;
        w.Put(Groups, key, Json(group));
        if (tags.Count > 0) SageMakerStore.WriteTags(w, group.ModelPackageGroupArn, tags);
        return true;
    });

    /// <summary>Deletes a group and its tags. A group that still holds packages is refused, as AWS
    /// refuses it: its packages are deleted first, each on its own.</summary>
    public void DeleteGroup(string account, string group, string arn) => state.Write(w =>
    {
        var key = GroupKey(account, group);
        if (w.Get(Groups, key) is not { } json) throw new ModelPackageGroupNotFound(arn);
        var row = ParseGroup(json);
        if (w.Scan(Packages, key + "/", null, 1).Count > 0) throw new ModelPackageGroupNotEmpty(row.ModelPackageGroupArn);
        w.Delete(Groups, key);
        SageMakerStore.WriteTags(w, row.ModelPackageGroupArn, []);
        return true;
    });

    // ---- packages ----

    public ModelPackageRow? GetPackage(string key) => state.Read(r => r.Get(Packages, key)) is { } json ? ParsePackage(json) : null;

    /// <summary>Every package of an account: each group's versions in order, and the unversioned ones.</summary>
    public List<ModelPackageRow> ListPackages(string account)
        => state.Read(r => r.Scan(Packages, account + "/", null, int.MaxValue)).Select(kv => ParsePackage(kv.Value)).ToList();

    /// <summary>Registers the next version of <paramref name="group"/>: <paramref name="make"/>
    /// builds the package from the group and the version it gets. A request with the
    /// <paramref name="clientToken"/> of a version already made answers that version and makes
    /// none (SageMaker's idempotent retry). Throws <see cref="ModelPackageGroupNotFound"/>.</summary>
    public ModelPackageRow CreateVersion(string account, string group, string groupArn, string? clientToken, List<TagRow> tags,
        Func<ModelPackageGroupRow, int, ModelPackageRow> make)
    {
        var (package, created) = state.Write(w =>
        {
            var key = GroupKey(account, group);
            if (w.Get(Groups, key) is not { } json) throw new ModelPackageGroupNotFound(groupArn);
            if (clientToken is not null
                && w.Scan(Packages, key + "/", null, int.MaxValue).Select(kv => ParsePackage(kv.Value)).FirstOrDefault(p => p.ClientToken == clientToken) is { } made)
                return (made, false);
            var row = ParseGroup(json);
            var version = row.LatestVersion + 1;
            var package = make(row, version);
            w.Put(Groups, key, Json(row with { LatestVersion = version }));
            w.Put(Packages, VersionKey(account, group, version), Json(package));
            if (tags.Count > 0) SageMakerStore.WriteTags(w, package.ModelPackageArn, tags);
            return (package, true);
        });
        if (created) Events.Put(SageMakerEvents.ModelPackageStateChange(account, package));
        return package;
    }

    /// <summary>Inserts an unversioned package with its tags; a package of that name made with the
    /// same <see cref="ModelPackageRow.ClientToken"/> is answered instead; any other of that name
    /// is <see cref="ModelPackageAlreadyExists"/>.</summary>
    public ModelPackageRow CreateUnversioned(string account, ModelPackageRow package, List<TagRow> tags)
    {
        var (row, created) = state.Write(w =>
        {
            var key = UnversionedKey(account, package.ModelPackageName);
            if (w.Get(Packages, key) is { } json)
            {
                var existing = ParsePackage(json);
                return package.ClientToken is not null && existing.ClientToken == package.ClientToken
                    ? (existing, false)
                    : throw new ModelPackageAlreadyExists(existing.ModelPackageArn);
            }
            w.Put(Packages, key, Json(package));
            if (tags.Count > 0) SageMakerStore.WriteTags(w, package.ModelPackageArn, tags);
            return (package, true);
        });
        if (created) Events.Put(SageMakerEvents.ModelPackageStateChange(account, row));
        return row;
    }

    /// <summary>Changes a package in one transaction; null if it is gone. Every change is an event.</summary>
    public ModelPackageRow? UpdatePackage(string account, string key, Func<ModelPackageRow, ModelPackageRow> change)
    {
        var updated = state.Write(w =>
        {
            if (w.Get(Packages, key) is not { } json) return null;
            var after = change(ParsePackage(json));
            w.Put(Packages, key, Json(after));
            return after;
        });
        if (updated is not null) Events.Put(SageMakerEvents.ModelPackageStateChange(account, updated));
        return updated;
    }

    /// <summary>Deletes a package and its tags; false if there was none.</summary>
    public bool DeletePackage(string key) => state.Write(w =>
    {
        if (w.Get(Packages, key) is not { } json) return false;
        w.Delete(Packages, key);
        SageMakerStore.WriteTags(w, ParsePackage(json).ModelPackageArn, []);
        return true;
    });
}
