using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Strata.Server.Tests.E2E;

/// <summary>SNS through boto3 1.43 and Debian's 1.26, on a server whose clock the test drives
/// (retries on AWS's schedule without waiting for it), with HTTP, HTTPS and SMTP endpoints that
/// the script runs.</summary>
public sealed class SnsBoto3Tests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("sns_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "sns_boto3.py")).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DebianBoto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("/usr/bin/python3", "sns_boto3.py")).AssertPassed(testCase);
}

/// <summary>SNS through the aws CLI v1.45 and v2.9.</summary>
public sealed class SnsCliTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("sns_cli.sh");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV1(string testCase) => (await ClientSuite.RunAsync("bash", "sns_cli.sh", ("AWS_CLI", "aws"))).AssertPassed(testCase);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AwsCliV2(string testCase) => (await ClientSuite.RunAsync("bash", "sns_cli.sh", ("AWS_CLI", "/usr/bin/aws"))).AssertPassed(testCase);
}

/// <summary>
/// A delivery that was in flight when the server was killed is delivered after it starts again
/// on the same data directory: Publish queued it durably, and only success removes it.
/// </summary>
public sealed class SnsRestartTests
{
    [Fact]
    public async Task APendingDeliveryIsDeliveredAfterARestart()
    {
        var dir = Directory.CreateTempSubdirectory("strata-sns-restart-").FullName;
        using var subscriber = new Subscriber();
        try
        {
            var first = await StrataProcess.StartAsync(dir);
            var (code, output) = await Python(first, $$"""
                import boto3, os, time
                sns = boto3.client("sns", endpoint_url=os.environ["STRATA_ENDPOINT"], region_name="us-east-1")
                topic = sns.create_topic(Name="restart")["TopicArn"]
                sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="{{subscriber.Url}}")
                for _ in range(200):
                    if sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"] != "PendingConfirmation":
                        break
                    time.sleep(0.05)
                else:
                    raise SystemExit("the subscription was never confirmed")
                print(sns.publish(TopicArn=topic, Message="survives")["MessageId"])
                """);
            Assert.True(code == 0, output);
            var messageId = output.Trim().Split('\n')[^1];
            // The notification reaches the endpoint, which does not answer; the server dies meanwhile.
            var held = await subscriber.Notifications.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(messageId, held.GetProperty("MessageId").GetString());
            first.Kill();
            subscriber.Hold = false;

            await using var second = await StrataProcess.StartAsync(dir);
            var again = await subscriber.Notifications.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(messageId, again.GetProperty("MessageId").GetString());
            Assert.Equal("survives", again.GetProperty("Message").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static Task<(int, string)> Python(StrataProcess server, string code)
        => ClientProcess.RunAsync("python3", ["-c", code], server.ClientEnvironment(), TimeSpan.FromMinutes(2));

    /// <summary>An HTTP endpoint: confirms subscriptions through their SubscribeURL, records
    /// notifications, and while <see cref="Hold"/> never answers them.</summary>
    sealed class Subscriber : IDisposable
    {
        readonly HttpListener _listener = new();
        readonly HttpClient _http = new();
        readonly CancellationTokenSource _stop = new();

        public string Url { get; }
        public volatile bool Hold = true;
        public System.Threading.Channels.Channel<JsonElement> Notifications { get; } = System.Threading.Channels.Channel.CreateUnbounded<JsonElement>();

        public Subscriber()
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/sns/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(LoopAsync);
        }

        async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                _ = Task.Run(() => HandleAsync(context));
            }
        }

        async Task HandleAsync(HttpListenerContext context)
        {
            try
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var message = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
                if (message.GetProperty("Type").GetString() == "SubscriptionConfirmation")
                {
                    context.Response.Close();
                    (await _http.GetAsync(message.GetProperty("SubscribeURL").GetString())).EnsureSuccessStatusCode();
                    return;
                }
                var hold = Hold;
                await Notifications.Writer.WriteAsync(message);
                if (hold) await Task.Delay(Timeout.Infinite, _stop.Token);
                context.Response.Close();
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException or IOException) { }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Close();
            _http.Dispose();
        }

        static int FreePort()
        {
            using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }
    }
}
