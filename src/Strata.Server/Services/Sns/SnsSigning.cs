using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Strata.Server.Services.Sns;

/// <summary>
/// Signs what SNS delivers over HTTP(S), as AWS does: an RSA key with a self-signed X.509
/// certificate, made once in the data directory (owner-only) and served at
/// <see cref="CertificatePath"/> (the messages' <c>SigningCertURL</c>). The string to sign is
/// AWS's canonical one ("Key\nValue\n" for the message type's fields in AWS's order);
/// SignatureVersion 1 signs it with SHA1withRSA, 2 with SHA256withRSA.
/// </summary>
public sealed class SnsSigning
{
    readonly RSA _key;

    public string CertificatePem { get; }

    /// <summary>The path under Strata's own routes that serves the certificate.</summary>
    public string CertificatePath { get; }

    SnsSigning(RSA key, string certificatePem)
    {
        _key = key;
        CertificatePem = certificatePem;
        var thumb = Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes(certificatePem)))[..32].ToLowerInvariant();
        CertificatePath = $"/_strata/sns/SimpleNotificationService-{thumb}.pem";
    }

    public static SnsSigning Load(string dataDir)
    {
        var keyPath = Path.Combine(dataDir, "sns-signing.key");
        var certPath = Path.Combine(dataDir, "sns-signing.pem");
        if (!File.Exists(keyPath) || !File.Exists(certPath))
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=sns.strata.local", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            // The machine's clock, not the injected one: subscribers judge the validity against their own.
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10));
            // Certificate first, key last: the key's file is what says "both are there".
            WriteAtomically(certPath, cert.ExportCertificatePem(), ownerOnly: false);
            WriteAtomically(keyPath, rsa.ExportPkcs8PrivateKeyPem(), ownerOnly: true);
        }
        var key = RSA.Create();
        key.ImportFromPem(File.ReadAllText(keyPath));
        return new SnsSigning(key, File.ReadAllText(certPath));
    }

    static void WriteAtomically(string path, string text, bool ownerOnly)
    {
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            if (ownerOnly && !OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            file.Write(Encoding.ASCII.GetBytes(text));
            file.Flush(true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>AWS's string to sign: the fields present, in the order AWS documents per type.</summary>
    public static string StringToSign(IReadOnlyDictionary<string, string> fields)
    {
        string[] order = fields["Type"] == "Notification"
            ? ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
            : ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"];
        var text = new StringBuilder();
        foreach (var name in order)
            if (fields.TryGetValue(name, out var value)) text.Append(name).Append('\n').Append(value).Append('\n');
        return text.ToString();
    }

    public string Sign(IReadOnlyDictionary<string, string> fields, string signatureVersion)
        => Convert.ToBase64String(_key.SignData(Encoding.UTF8.GetBytes(StringToSign(fields)),
            signatureVersion == "1" ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
}
