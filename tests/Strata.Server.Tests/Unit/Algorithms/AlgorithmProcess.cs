using System.Diagnostics;

namespace Strata.Server.Tests.Unit;

/// <summary>What a run of strata-algorithms left: its exit code, its log, the failure file's reason, and where model.onnx goes.</summary>
sealed record AlgorithmRun(int ExitCode, string Stdout, string? Failure, string ModelPath);

/// <summary>strata-algorithms run as the training job runs it: a child process with SageMaker's
/// SM_* environment, its channels directories with a declared content type each.</summary>
static class AlgorithmProcess
{
    public static async Task<AlgorithmRun> TrainAsync(string root, string algorithm, string hyperparameters, params (string Name, string Dir, string ContentType)[] channels)
    {
        var modelDir = Path.Combine(root, "model");
        var outputDir = Path.Combine(root, "output");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll"));
        psi.ArgumentList.Add("train");
        psi.Environment["STRATA_ALGORITHM"] = algorithm;
        psi.Environment["SM_HPS"] = hyperparameters;
        psi.Environment["SM_CHANNELS"] = "[" + string.Join(",", channels.Select(c => $"\"{c.Name}\"")) + "]";
        foreach (var (name, dir, _) in channels) psi.Environment["SM_CHANNEL_" + name.ToUpperInvariant()] = dir;
        psi.Environment["SM_INPUT_DATA_CONFIG"] = "{" + string.Join(",", channels.Select(c => $"\"{c.Name}\":{{\"ContentType\":\"{c.ContentType}\"}}")) + "}";
        psi.Environment["SM_MODEL_DIR"] = modelDir;
        psi.Environment["SM_OUTPUT_DATA_DIR"] = Path.Combine(outputDir, "data");
        psi.Environment["SM_OUTPUT_DIR"] = outputDir;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var failure = Path.Combine(outputDir, "failure");
        return new AlgorithmRun(process.ExitCode, await stdout + await stderr, File.Exists(failure) ? File.ReadAllText(failure) : null, Path.Combine(modelDir, "model.onnx"));
    }
}
