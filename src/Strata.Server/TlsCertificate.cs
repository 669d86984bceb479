using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Strata.Server;

/// <summary>
/// The HTTPS listener's certificate: the user's own (PEM files), or a self-signed one made on
/// first start and kept in the data directory (so clients can trust it once, e.g. with
/// <c>AWS_CA_BUNDLE=~/.strata/tls/cert.pem</c>).
/// </summary>
public static class TlsCertificate
{
    public static X509Certificate2 Load(StrataOptions options)
    {
        if (options.TlsCertPath is not null)
            return X509Certificate2.CreateFromPemFile(options.TlsCertPath, options.TlsKeyPath);

        var dir = Path.Combine(options.DataDir, "tls");
        var certPath = Path.Combine(dir, "cert.pem");
        var keyPath = Path.Combine(dir, "key.pem");
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            Directory.CreateDirectory(dir);
            var (cert, key) = CreateSelfSigned(options.Host);
            File.WriteAllText(keyPath + ".tmp", key);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyPath + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(keyPath + ".tmp", keyPath, overwrite: true);
            File.WriteAllText(certPath + ".tmp", cert);
            File.Move(certPath + ".tmp", certPath, overwrite: true);
        }
        return X509Certificate2.CreateFromPemFile(certPath, keyPath);
    }

    static (string CertPem, string KeyPem) CreateSelfSigned(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Strata local CA and server", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddDnsName("*.localhost");
        san.AddDnsName("s3.localhost");
        san.AddDnsName("*.s3.localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        if (IPAddress.TryParse(host, out var ip) && !IPAddress.IsLoopback(ip) && !ip.Equals(IPAddress.Any)) san.AddIpAddress(ip);
        else if (!IPAddress.TryParse(host, out _)) san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        // Its own trust anchor: CA so that clients accept it from a CA bundle file.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var ski = new X509SubjectKeyIdentifierExtension(request.PublicKey, false);
        request.CertificateExtensions.Add(ski);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        var now = DateTimeOffset.UtcNow;
        using var cert = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));
        return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
