using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Strata.Server.Jobs.Training;

namespace Strata.Server.Tests.Unit;

public sealed class ScriptModeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-script-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The hyperparameters as the SageMaker Python SDK sends them: every value JSON-encoded.</summary>
    static readonly Dictionary<string, string> Sdk = new()
    {
        ["sagemaker_program"] = "\"train.py\"",
        ["sagemaker_submit_directory"] = "\"s3://code/job/source/sourcedir.tar.gz\"",
        ["sagemaker_container_log_level"] = "20",
        ["epochs"] = "10",
        ["optimizer"] = "\"adam\"",
        ["lr"] = "0.01",
        ["layers"] = "[64, 32]",
        ["plain"] = "not json",
    };

    [Fact]
    public void TheSdksHyperparametersNameTheScriptAndBecomeItsArguments()
    {
        var script = ScriptMode.Of(Sdk)!;
        Assert.Equal("train.py", script.Program);
        Assert.Equal("s3://code/job/source/sourcedir.tar.gz", script.SubmitDirectory);
        Assert.Equal(["--epochs", "10", "--layers", "[64, 32]", "--lr", "0.01", "--optimizer", "adam", "--plain", "not json"], ScriptMode.Arguments(Sdk));
        var env = script.Environment(Sdk, "/opt/ml/code");
        Assert.Equal("train", env["SM_MODULE_NAME"]);
        Assert.Equal("""["--epochs","10","--layers","[64, 32]","--lr","0.01","--optimizer","adam","--plain","not json"]""", env["SM_USER_ARGS"]);
        Assert.Equal("/opt/ml/code", env["PYTHONPATH"]);
        Assert.Equal("""{"epochs":10,"layers":[64,32],"lr":0.01,"optimizer":"adam","plain":"not json"}""", env["SM_HPS"]);
        Assert.Equal("adam", env["SM_HP_OPTIMIZER"]);
        Assert.Null(ScriptMode.Of(new Dictionary<string, string> { ["epochs"] = "10" }));
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../bin/sh")]
    [InlineData("\"\"")]
    public void AnEntryPointOutsideTheSourceIsRefused(string program)
        => Assert.StartsWith("ClientError", Assert.Throws<TrainingException>(() => ScriptMode.Of(new Dictionary<string, string>(Sdk) { ["sagemaker_program"] = program })).Message);

    [Fact]
    public void ASourceDirectoryMustBeInS3()
        => Assert.Contains("sourcedir.tar.gz", Assert.Throws<TrainingException>(() => ScriptMode.Of(new Dictionary<string, string>(Sdk) { ["sagemaker_submit_directory"] = "\"/opt/ml/code\"" })).Message);

    const string Source = "s3://code/job/source/sourcedir.tar.gz";

    static MemoryStream Tarball(Action<TarWriter> write)
    {
        var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
            write(tar);
        buffer.Position = 0;
        return buffer;
    }

    static void File(TarWriter tar, string name, string text)
        => tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });

    [Fact]
    public async Task TheSourceIsUnpackedWithoutItsLinks()
    {
        var code = Path.Combine(_dir, "code");
        await ScriptMode.ExtractAsync(Tarball(tar =>
        {
            File(tar, "train.py", "print('hi')");
            File(tar, "lib/util.py", "X = 1");
            tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "secrets") { LinkName = "/etc" });
        }), Source, 100, code, CancellationToken.None);
        Assert.Equal("print('hi')", System.IO.File.ReadAllText(Path.Combine(code, "train.py")));
        Assert.Equal("X = 1", System.IO.File.ReadAllText(Path.Combine(code, "lib", "util.py")));
        Assert.False(Path.Exists(Path.Combine(code, "secrets")));
    }

    [Fact]
    public async Task AnEntryThatLeavesTheCodeDirectoryFailsTheJob()
    {
        var e = await Assert.ThrowsAsync<TrainingException>(() => ScriptMode.ExtractAsync(Tarball(tar => File(tar, "../escaped.py", "x")), Source, 100, Path.Combine(_dir, "code"), CancellationToken.None));
        Assert.Contains("leaves /opt/ml/code", e.Message);
        Assert.False(Path.Exists(Path.Combine(_dir, "escaped.py")));
        var garbage = await Assert.ThrowsAsync<TrainingException>(() => ScriptMode.ExtractAsync(new MemoryStream(Encoding.UTF8.GetBytes("not a tarball")), Source, 13, Path.Combine(_dir, "code"), CancellationToken.None));
        Assert.Equal($"ClientError: the source tarball {Source} (13 bytes) is plain text, not a gzip-compressed tar archive (sourcedir.tar.gz)", garbage.Message);
    }
}
