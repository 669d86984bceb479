namespace Strata.Server.Jobs.Containers;

/// <summary>
/// What a job's container runs, from its image's command in the image catalogue (which only the
/// installation's administrator writes: it stands for the image's ENTRYPOINT and CMD) and the
/// request's ContainerEntrypoint and ContainerArguments, as Docker combines them. An entry point
/// given in a request could be any program on the host, so it is taken in one form only, the one
/// AWS's script processors use (<c>["python3", "/opt/ml/processing/input/code/preprocess.py"]</c>):
/// the interpreter the catalogue's command starts with (named by its path or its file name; what
/// runs is always the catalogue's path), options, then a script inside <c>/opt/ml</c>, the job's
/// own directory. The interpreter is one the administrator chose; the script is the job's own
/// code, which runs only in the sandbox (see ProcessingJobRunner).
/// </summary>
public static class ContainerCommand
{
    /// <summary>Why an entry point is refused, or null when it has the one accepted form.</summary>
    public static string? EntrypointRefusal(IReadOnlyList<string> catalogueCommand, IReadOnlyList<string> entrypoint)
    {
        var interpreter = catalogueCommand.Count > 0 ? catalogueCommand[0] : "";
        var form = $"Strata takes a ContainerEntrypoint only as the interpreter of the image's catalogue command ({Path.GetFileName(interpreter)}), options, then a script inside /opt/ml";
        if (entrypoint.Count < 2) return form + ".";
        if (entrypoint[0] != interpreter && entrypoint[0] != Path.GetFileName(interpreter))
            return $"{form}: {entrypoint[0]} is not {interpreter}.";
        if (entrypoint.Skip(1).SkipLast(1).FirstOrDefault(o => !o.StartsWith('-')) is { } other)
            return $"{form}: {other} is not an option.";
        if (!InsideOptMl(entrypoint[^1]))
            return $"{form}: {entrypoint[^1]} is not a script inside /opt/ml.";
        return null;
    }

    /// <summary>The command: the catalogue's command with the arguments (they replace nothing: the
    /// catalogue's command is the image's entry point), or the accepted entry point with the
    /// interpreter's path from the catalogue and the arguments.</summary>
    public static List<string> Resolve(IReadOnlyList<string> catalogueCommand, IReadOnlyList<string>? entrypoint, IReadOnlyList<string>? arguments)
    {
        if (entrypoint is not { Count: > 0 }) return [.. catalogueCommand, .. arguments ?? []];
        if (EntrypointRefusal(catalogueCommand, entrypoint) is { } refusal) throw new JobException("ClientError: " + refusal);
        return [catalogueCommand[0], .. entrypoint.Skip(1), .. arguments ?? []];
    }

    /// <summary>An absolute path below /opt/ml with no empty, "." or ".." segment.</summary>
    static bool InsideOptMl(string path)
        => path.StartsWith("/opt/ml/", StringComparison.Ordinal) && path[1..].Split('/') is { Length: > 2 } segments
            && segments.All(s => s.Length > 0 && s is not "." and not "..");
}
