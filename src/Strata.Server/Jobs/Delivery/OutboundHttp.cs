using System.Net;
using System.Net.Security;

namespace Strata.Server.Jobs.Delivery;

/// <summary>The client Strata calls customers' endpoints with (EventBridge's API destinations, Step
/// Functions' HTTP Tasks): no redirects, no cookies, pooled connections renewed every two minutes,
/// and a self-signed certificate accepted from loopback endpoints only (a test's or a local
/// service's); any other HTTPS endpoint must present a certificate the machine trusts. Callers
/// bound each request themselves.</summary>
public static class OutboundHttp
{
    public static HttpClient Create(DecompressionMethods decompression) => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = decompression,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (sender, _, _, errors) => errors == SslPolicyErrors.None
                || (sender as SslStream)?.TargetHostName is "localhost" or "127.0.0.1" or "::1",
        },
    })
    { Timeout = Timeout.InfiniteTimeSpan };
}
