namespace Strata.Server;

/// <summary>
/// `strata reset --yes`: deletes a data directory's state (accounts and keys, buckets and
/// objects, models, endpoints, jobs, logs, metrics, event history, certificates) so that the next
/// `strata serve` starts afresh. The master key is kept unless asked otherwise: whoever holds
/// backups or exports wrapped under it still needs it. Refused while a server runs there (the dry run,
/// without --yes, answers anyway); the lock is held while deleting, so no server starts in the middle.
/// </summary>
public static class Reset
{
    public const string MasterKeyFile = "master.key";

    public static int Run(string dataDir, bool yes, bool discardMasterKey, TextWriter output, TextWriter error)
    {
        if (!Directory.Exists(dataDir))
        {
            output.WriteLine($"nothing to reset: {dataDir} does not exist");
            return 0;
        }
        using var held = DataDirectoryLock.TryAcquire(dataDir);
        var running = held is null ? DataDirectoryLock.Name(DataDirectoryLock.Holder(dataDir) ?? []) : null;
        if (running is not null && yes)
        {
            error.WriteLine($"strata: {running} is running on {dataDir}: stop it first, then reset");
            return 2;
        }
        var keep = new HashSet<string>(StringComparer.Ordinal) { DataDirectoryLock.FileName };
        if (!discardMasterKey) keep.Add(MasterKeyFile);
        var doomed = new DirectoryInfo(dataDir).EnumerateFileSystemInfos().Where(e => !keep.Contains(e.Name)).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        var hasMasterKey = File.Exists(Path.Combine(dataDir, MasterKeyFile));
        var masterKey = !hasMasterKey ? $"there is no {MasterKeyFile} in it"
            : discardMasterKey ? $"{MasterKeyFile} is deleted too: what was encrypted under it can never be read again"
            : $"{MasterKeyFile} is kept (--discard-master-key deletes it too)";
        if (!yes)
        {
            output.WriteLine(doomed.Count == 0
                ? $"strata reset --yes would delete nothing: {dataDir} holds no state"
                : $"strata reset --yes would delete everything in {dataDir} ({Status.Size(Status.DiskUsed(dataDir))}): accounts and their keys, buckets and objects, models, endpoints, jobs, logs, metrics, event history, certificates ({string.Join(", ", doomed.Select(e => e.Name))})");
            output.WriteLine($"  {masterKey}; nothing was deleted");
            // A dry run reads only names and sizes, so it answers while a server runs, and says what --yes needs.
            if (running is not null) output.WriteLine($"  {running} is running on it: stop it before `strata reset --yes`");
            // It did what it was asked, explain: a script (or the README's blocks) goes on.
            return 0;
        }
        var size = Status.DiskUsed(dataDir) - (discardMasterKey || !hasMasterKey ? 0 : new FileInfo(Path.Combine(dataDir, MasterKeyFile)).Length);
        foreach (var entry in doomed)
        {
            if (entry is DirectoryInfo dir && !entry.Attributes.HasFlag(FileAttributes.ReparsePoint)) dir.Delete(recursive: true);
            else entry.Delete();
        }
        output.WriteLine($"reset {dataDir}: deleted {doomed.Count} {(doomed.Count == 1 ? "entry" : "entries")} ({Status.Size(size)}); " +
            (!hasMasterKey ? $"there was no {MasterKeyFile}" : discardMasterKey ? $"deleted {MasterKeyFile}" : $"kept {MasterKeyFile}"));
        return 0;
    }
}
