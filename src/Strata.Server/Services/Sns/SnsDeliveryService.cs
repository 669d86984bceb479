using System.Net;
using System.Net.Security;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Strata.Server.Jobs.Delivery;

namespace Strata.Server.Services.Sns;

/// <summary>
/// Delivers what Publish and Subscribe queued (<see cref="SnsDelivery"/> rows) through the shared
/// <see cref="DeliveryLoop{T}"/>: each due delivery on its own task, so one slow or failing
/// endpoint never holds up another, nor Publish (which only writes rows). A failed attempt is
/// rescheduled by the delivery's retry policy, durably; rows outlive a restart, so what was
/// pending when the server stopped is delivered when it starts again (at least once, as AWS
/// promises).
/// </summary>
public sealed class SnsDeliveryService(SnsStore store, TimeProvider clock, ILogger<SnsDeliveryService> log, Uri? smtp)
    : DeliveryLoop<SnsDelivery>(clock, log)
{
    /// <summary>AWS waits 15 s for an HTTP endpoint to answer.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(15);

    readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        // A self-signed certificate is accepted from loopback endpoints only (a test's or a
        // local service's); any other HTTPS endpoint must present a certificate the machine trusts.
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (sender, _, _, errors) => errors == SslPolicyErrors.None || IsLoopback(sender),
        },
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    static bool IsLoopback(object sender)
    {
        var host = (sender as SslStream)?.TargetHostName;
        return host is "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    protected override string What => "SNS deliveries";

    protected override IReadOnlyList<SnsDelivery> Next(int limit) => store.NextDeliveries(limit);

    protected override string IdOf(SnsDelivery row) => row.Id;

    protected override DateTimeOffset DueOf(SnsDelivery row) => row.DueAt;

    protected override async Task AttemptAsync(SnsDelivery d, CancellationToken stopping)
    {
        var outcome = await SendAsync(d, stopping);
        if (stopping.IsCancellationRequested) return;
        SnsDelivery? next = null;
        if (outcome == Outcome.Retry && DeliveryPolicies.RetryDelay(d.DeliveryPolicy, d.Attempts + 1) is { } delay)
            next = d with { Attempts = d.Attempts + 1, DueAt = Clock.GetUtcNow() + delay };
        else if (outcome != Outcome.Delivered)
            Log.LogWarning("SNS gave up delivering message {MessageId} to {Protocol} endpoint {Endpoint} after {Attempts} attempts",
                d.MessageId, d.Protocol, d.Endpoint, d.Attempts + 1);
        Log.LogDebug("SNS delivery {Id} attempt {Attempt}: {Outcome}; next attempt {Next:O}", d.Id, d.Attempts + 1, outcome, next?.DueAt);
        store.Reschedule(d, next);
    }

    enum Outcome { Delivered, Retry, Rejected }

    async Task<Outcome> SendAsync(SnsDelivery d, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(AttemptTimeout, Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        try
        {
            return d.Protocol is "email" or "email-json" ? await SendEmailAsync(d, linked.Token) : await PostAsync(d, linked.Token);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or SmtpCommandException or SmtpProtocolException
            or System.Net.Sockets.SocketException or SslHandshakeException or AuthenticationException && !stopping.IsCancellationRequested)
        {
            Log.LogInformation("SNS delivery of {MessageId} to {Endpoint} failed (attempt {Attempt}): {Error}", d.MessageId, d.Endpoint, d.Attempts + 1, e.InnerException is { } inner ? e.Message + " " + inner.Message : e.Message);
            return Outcome.Retry;
        }
    }

    async Task<Outcome> PostAsync(SnsDelivery d, CancellationToken cancel)
    {
        for (var connection = 1; ; connection++)
        {
            try
            {
                using var request = Request(d);
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
                var status = (int)response.StatusCode;
                // 2xx delivers; other 4xx (but throttling) will not get better by asking again.
                return status is >= 200 and < 300 ? Outcome.Delivered
                    : status is >= 400 and < 500 and not 429 ? Outcome.Rejected
                    : Outcome.Retry;
            }
            catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded && connection == 1)
            {
                // The endpoint closed the connection without a byte of answer (a small server
                // dropping a connection under load): asked again at once on a new one, rather
                // than made to wait for the retry policy's first delay.
            }
        }
    }

    static HttpRequestMessage Request(SnsDelivery d)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, d.Endpoint) { Content = new StringContent(d.Body, Encoding.UTF8, "text/plain") };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/plain") { CharSet = "UTF-8" };
        request.Headers.TryAddWithoutValidation("x-amz-sns-message-type", d.MessageType);
        request.Headers.TryAddWithoutValidation("x-amz-sns-message-id", d.MessageId);
        request.Headers.TryAddWithoutValidation("x-amz-sns-topic-arn", d.TopicArn);
        if (d.SubscriptionArn is not null) request.Headers.TryAddWithoutValidation("x-amz-sns-subscription-arn", d.SubscriptionArn);
        if (d.Raw) request.Headers.TryAddWithoutValidation("x-amz-sns-rawdelivery", "true");
        request.Headers.UserAgent.ParseAdd("Amazon Simple Notification Service Agent");
        // One connection per delivery: an endpoint that closes idle connections at will (most
        // small servers) must never see a delivery fail on a pooled connection it already closed.
        request.Headers.ConnectionClose = true;
        return request;
    }

    async Task<Outcome> SendEmailAsync(SnsDelivery d, CancellationToken cancel)
    {
        if (smtp is null)
        {
            Log.LogWarning("SNS cannot send email to {Endpoint}: no --smtp-url", d.Endpoint);
            return Outcome.Rejected;
        }
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("AWS Notifications", "no-reply@sns.strata.local"));
        message.To.Add(MailboxAddress.Parse(d.Endpoint));
        message.Subject = d.Subject ?? "AWS Notification Message";
        message.Body = new TextPart("plain") { Text = d.Body };
        message.Headers.Add("x-amz-sns-message-id", d.MessageId);
        using var client = new SmtpClient();
        await client.ConnectAsync(smtp.Host, smtp.Port, smtp.Scheme == "smtps" ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.None, cancel);
        if (!string.IsNullOrEmpty(smtp.UserInfo))
        {
            var parts = smtp.UserInfo.Split(':', 2);
            await client.AuthenticateAsync(Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "", cancel);
        }
        await client.SendAsync(message, cancel);
        await client.DisconnectAsync(true, cancel);
        return Outcome.Delivered;
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
