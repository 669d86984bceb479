using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// Script mode, as the SageMaker Python SDK's framework estimators use it: the hyperparameters
/// <c>sagemaker_program</c> (the entry point) and <c>sagemaker_submit_directory</c> (an
/// <c>s3://…/sourcedir.tar.gz</c>) name a user's script, which runs in a framework image. The
/// SageMaker training toolkit in that image unpacks the source into <c>/opt/ml/code</c> and runs
/// the entry point with the other hyperparameters as <c>--name value</c> arguments; Strata does the
/// same with the interpreter the image catalogue names for the image. The SDK JSON-encodes every
/// hyperparameter value (<c>"\"train.py\""</c>, <c>"10"</c>); the toolkit decodes what decodes,
/// and so does this.
/// </summary>
public sealed record ScriptMode(string Program, string SubmitDirectory)
{
    public const string ProgramKey = "sagemaker_program";
    public const string SubmitDirectoryKey = "sagemaker_submit_directory";

    /// <summary>The job's script, when its hyperparameters name one.</summary>
    public static ScriptMode? Of(IReadOnlyDictionary<string, string> hyperparameters)
    {
        if (!hyperparameters.TryGetValue(ProgramKey, out var program)) return null;
        program = Text(program);
        // The toolkit runs the entry point from /opt/ml/code: a path that leaves it runs something else.
        if (program.Length == 0 || program.StartsWith('/') || program.Split('/', '\\').Contains(".."))
            throw new TrainingException($"ClientError: the entry point {program} ({ProgramKey}) must be a file of the source directory");
        var submit = hyperparameters.TryGetValue(SubmitDirectoryKey, out var dir) ? Text(dir) : "";
        if (!submit.StartsWith("s3://", StringComparison.Ordinal))
            throw new TrainingException($"ClientError: {SubmitDirectoryKey} must be the s3:// URI of the source tarball (sourcedir.tar.gz) of {program}; found '{submit}'");
        return new ScriptMode(program, submit);
    }

    /// <summary>A hyperparameter's value as the toolkit gives it to the script: JSON decoded when it is JSON.</summary>
    public static JsonNode? Decoded(string value)
    {
        try { return JsonNode.Parse(value); }
        catch (JsonException) { return JsonValue.Create(value); }
    }

    /// <summary>A decoded value as text: a JSON string's content, any other JSON as written.</summary>
    static string Text(string value) => Decoded(value) is JsonValue v && v.TryGetValue<string>(out var s) ? s : value;

    /// <summary>The user's hyperparameters (not the SDK's <c>sagemaker_*</c>), in key order, as
    /// the toolkit passes them: <c>--key value</c>.</summary>
    public static List<string> Arguments(IReadOnlyDictionary<string, string> hyperparameters)
    {
        var args = new List<string>();
        foreach (var (key, value) in hyperparameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (key.StartsWith("sagemaker_", StringComparison.Ordinal)) continue;
            args.Add("--" + key);
            args.Add(Text(value));
        }
        return args;
    }

    /// <summary>The toolkit's variables about the user's module, beside the <c>SM_*</c> of every
    /// job, whose hyperparameters they replace with the user's, decoded (<c>SM_HPS</c>, <c>SM_HP_*</c>).</summary>
    public Dictionary<string, string> Environment(IReadOnlyDictionary<string, string> hyperparameters, string codeDir)
    {
        var args = Arguments(hyperparameters);
        var user = hyperparameters.Where(kv => !kv.Key.StartsWith("sagemaker_", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var env = new Dictionary<string, string>
        {
            ["SM_HPS"] = new JsonObject(user.Select(kv => KeyValuePair.Create(kv.Key, Decoded(kv.Value)))).ToJsonString(),
            ["SM_USER_ENTRY_POINT"] = Program,
            ["SM_MODULE_NAME"] = Program.EndsWith(".py", StringComparison.Ordinal) ? Program[..^3] : Program,
            ["SM_MODULE_DIR"] = SubmitDirectory,
            ["SM_USER_ARGS"] = new JsonArray([.. args.Select(a => (JsonNode)a)]).ToJsonString(),
            ["PYTHONPATH"] = codeDir,
            ["PYTHONUNBUFFERED"] = "1",
        };
        foreach (var (k, v) in user) env["SM_HP_" + k.ToUpperInvariant().Replace('-', '_')] = Text(v);
        return env;
    }

    /// <summary>Unpacks a gzipped tarball (<paramref name="source"/>, <paramref name="size"/>
    /// bytes) into <paramref name="target"/>: its directories and regular files only (a link in a
    /// user's tarball would make the server write elsewhere), none outside the target.</summary>
    public static async Task ExtractAsync(Stream tarGz, string source, long size, string target, CancellationToken ct)
    {
        var root = Path.GetFullPath(target) + Path.DirectorySeparatorChar;
        try
        {
            await TarGzArchive.ReadAsync(tarGz, $"the source tarball {source}", size, "sourcedir.tar.gz", async (stream, token) =>
            {
                await using var tar = new TarReader(stream);
                while (await tar.GetNextEntryAsync(copyData: false, token) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.Directory)) continue;
                    var path = Path.GetFullPath(Path.Combine(root, entry.Name));
                    if (!path.StartsWith(root, StringComparison.Ordinal) && path + Path.DirectorySeparatorChar != root)
                        throw new TrainingException($"ClientError: the source tarball's entry {entry.Name} leaves /opt/ml/code");
                    if (entry.EntryType == TarEntryType.Directory) { Directory.CreateDirectory(path); continue; }
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await using var file = File.Create(path);
                    if (entry.DataStream is { } data) await data.CopyToAsync(file, token);
                }
            }, ct);
        }
        catch (InvalidArchiveException e) { throw new TrainingException("ClientError: " + e.Message); }
    }
}
