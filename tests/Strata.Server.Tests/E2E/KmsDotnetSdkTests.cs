using System.Text;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;

namespace Strata.Server.Tests.E2E;

/// <summary>KMS through the AWS SDK for .NET (AWSSDK.KeyManagementService v4): ciphertexts and
/// wrapped data keys survive key rotation and a server restart; a disabled key refuses them.</summary>
public sealed class KmsDotnetSdkTests
{
    static AmazonKeyManagementServiceClient Client(StrataProcess server)
        => new(new BasicAWSCredentials(StrataProcess.AccessKeyId, StrataProcess.SecretAccessKey),
            new AmazonKeyManagementServiceConfig { ServiceURL = server.Endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });

    [Fact]
    public async Task CiphertextsSurviveRotationAndRestart()
    {
        var dir = Directory.CreateTempSubdirectory("strata-kms-").FullName;
        try
        {
            string keyId;
            MemoryStream before, after, wrapped;
            byte[] dataKey;
            var context = new Dictionary<string, string> { ["bucket"] = "models", ["key"] = "model.tar.gz" };
            await using (var first = await StrataProcess.StartAsync(dir))
            {
                using var kms = Client(first);
                keyId = (await kms.CreateKeyAsync(new CreateKeyRequest { Description = "dotnet" })).KeyMetadata.KeyId;
                before = (await kms.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream("before rotation"u8.ToArray()), EncryptionContext = context })).CiphertextBlob;
                await kms.EnableKeyRotationAsync(new EnableKeyRotationRequest { KeyId = keyId });
                await kms.RotateKeyOnDemandAsync(new RotateKeyOnDemandRequest { KeyId = keyId });
                after = (await kms.EncryptAsync(new EncryptRequest { KeyId = keyId, Plaintext = new MemoryStream("after rotation"u8.ToArray()), EncryptionContext = context })).CiphertextBlob;
                var dk = await kms.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = keyId, KeySpec = DataKeySpec.AES_256 });
                dataKey = dk.Plaintext.ToArray();
                wrapped = dk.CiphertextBlob;
                Assert.Equal(32, dataKey.Length);
            }

            await using var second = await StrataProcess.StartAsync(dir);
            using var again = Client(second);
            async Task<string> Decrypt(MemoryStream blob, Dictionary<string, string>? ctx = null)
                => Encoding.UTF8.GetString((await again.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(blob.ToArray()), EncryptionContext = ctx })).Plaintext.ToArray());
            Assert.Equal("before rotation", await Decrypt(before, context));
            Assert.Equal("after rotation", await Decrypt(after, context));
            Assert.Equal(dataKey, (await again.DecryptAsync(new DecryptRequest { CiphertextBlob = new MemoryStream(wrapped.ToArray()) })).Plaintext.ToArray());
            await Assert.ThrowsAsync<InvalidCiphertextException>(() => Decrypt(before));

            await again.DisableKeyAsync(new DisableKeyRequest { KeyId = keyId });
            await Assert.ThrowsAsync<DisabledException>(() => Decrypt(before, context));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task TheMasterKeyLivesOutsideTheDatabaseWithOwnerOnlyMode()
    {
        var dir = Directory.CreateTempSubdirectory("strata-kms-master-").FullName;
        try
        {
            await using (var server = await StrataProcess.StartAsync(dir))
            {
                using var kms = Client(server);
                await kms.CreateKeyAsync(new CreateKeyRequest());
            }
            var master = Path.Combine(dir, "master.key");
            Assert.Equal(32, new FileInfo(master).Length);
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(master));
            // The state database never holds the master key's bytes.
            var secret = File.ReadAllBytes(master);
            var database = File.ReadAllBytes(Path.Combine(dir, "state.db"));
            Assert.DoesNotContain(Convert.ToBase64String(secret), Encoding.ASCII.GetString(database));
            Assert.False(database.AsSpan().IndexOf(secret) >= 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
