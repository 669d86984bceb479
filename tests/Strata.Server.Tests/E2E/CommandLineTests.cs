using System.Text.RegularExpressions;

namespace Strata.Server.Tests.E2E;

/// <summary>The `strata` command as a user meets it: first start, `strata env`, the aws CLI
/// pointed at Strata by nothing but those exports.</summary>
public sealed partial class CommandLineTests
{
    static Task<(int ExitCode, string Output)> Strata(params string[] args)
        => ClientProcess.RunAsync("dotnet", [StrataProcess.ServerDll, .. args], new Dictionary<string, string>());

    [Fact]
    public async Task FirstStartCreatesAnAccountAndPrintsItsKeysOnce()
    {
        var dir = Directory.CreateTempSubdirectory("strata-first-").FullName;
        try
        {
            string keyId, secret;
            await using (var first = await StrataProcess.StartAsync(dir, fixedKeys: false))
            {
                var output = string.Join('\n', first.Output);
                Assert.Contains($"strata: listening on http://127.0.0.1:{first.Port}", output);
                Assert.Contains($"strata: listening on https://127.0.0.1:{first.TlsPort}", output);
                Assert.Contains("root credentials (printed on this first start only; `strata env` prints them whenever needed):", output);
                keyId = KeyLine().Match(output).Groups[1].Value;
                secret = SecretLine().Match(output).Groups[1].Value;
                Assert.Matches("^AKIA[A-Z2-7]{16}$", keyId);
                Assert.Equal(40, secret.Length);

                // eval "$(strata env)" then the aws CLI with no flags at all.
                var script = $"""
                    set -e
                    eval "$(dotnet '{StrataProcess.ServerDll}' env --data-dir '{dir}')"
                    aws s3 mb s3://env-bucket >/dev/null
                    echo via-env | aws s3 cp - s3://env-bucket/x --only-show-errors
                    aws s3 cp s3://env-bucket/x -
                    echo "$AWS_ACCESS_KEY_ID $AWS_ENDPOINT_URL $AWS_DEFAULT_REGION $AWS_REGION $AWS_CA_BUNDLE"
                    """;
                var clean = new Dictionary<string, string> { ["AWS_CONFIG_FILE"] = "/dev/null", ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null" };
                var (code, result) = await ClientProcess.RunAsync("bash", ["-c", script], clean);
                Assert.True(code == 0, result);
                Assert.Contains("via-env", result);
                Assert.Contains($"{keyId} http://127.0.0.1:{first.Port} us-east-1 us-east-1 {first.CertPath}", result);
            }
            await using var second = await StrataProcess.StartAsync(dir, fixedKeys: false);
            Assert.DoesNotContain(secret, string.Join('\n', second.Output));
            var (_, env) = await Strata("env", "--data-dir", dir);
            Assert.Contains($"export AWS_SECRET_ACCESS_KEY={secret}", env);
            Assert.Contains($"export AWS_ENDPOINT_URL=http://127.0.0.1:{second.Port}", env);
            Assert.Contains("export AWS_DISABLE_HOST_PREFIX_INJECTION=true", env);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task HelpAndBadOptions()
    {
        var (code, help) = await Strata("serve", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--port", "--tls-port", "--tls-cert", "--tls-key", "--data-dir", "--region", "--host" })
            Assert.Contains(option, help);
        var (bad, _) = await Strata("serve", "--port", "not-a-number");
        Assert.NotEqual(0, bad);
        var (half, message) = await Strata("serve", "--tls-cert", "/tmp/x.pem");
        Assert.NotEqual(0, half);
        Assert.Contains("--tls-key", message);
    }

    [GeneratedRegex(@"AWS_ACCESS_KEY_ID=(\S+)")]
    private static partial Regex KeyLine();

    [GeneratedRegex(@"AWS_SECRET_ACCESS_KEY=(\S+)")]
    private static partial Regex SecretLine();
}
