using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// S3's "Object Created" and "Object Deleted" events, through S3's own handlers in process: put
/// only for a bucket whose notification configuration enables EventBridge, one per object made
/// (PutObject, CopyObject, CompleteMultipartUpload) or removed (DeleteObject, DeleteObjects),
/// with the detail the S3 user guide shows; and the notification configuration itself.
/// </summary>
public sealed class ObjectEventsTests : IDisposable
{
    const string Account = InProcessS3.Account;

    readonly ServiceEventRecorder _bus = new();
    readonly InProcessS3 _s3;
    readonly S3Store _store;
    readonly FakeTimeProvider _clock;

    public ObjectEventsTests()
    {
        _s3 = new InProcessS3(_bus, "events", "quiet");
        _store = _s3.Store;
        _clock = _s3.Clock;
    }

    public void Dispose() => _s3.Dispose();

    Task<RequestContext> SendAsync(string method, string target, string body = "", params (string Name, string Value)[] headers)
        => _s3.SendAsync(method, target, body, headers);

    static string ResponseText(RequestContext ctx) => InProcessS3.ResponseText(ctx);

    const string EventBridgeOn = "<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><EventBridgeConfiguration/></NotificationConfiguration>";

    Task EnableAsync(string bucket) => SendAsync("PUT", $"/{bucket}?notification", EventBridgeOn);

    [Fact]
    public async Task NotificationConfigurationRoundTripsAndAnEmptyOneTurnsEventsOff()
    {
        Assert.DoesNotContain("EventBridgeConfiguration", ResponseText(await SendAsync("GET", "/events?notification")));
        await EnableAsync("events");
        var configured = XElement.Parse(ResponseText(await SendAsync("GET", "/events?notification")));
        Assert.Equal("NotificationConfiguration", configured.Name.LocalName);
        Assert.Equal(["EventBridgeConfiguration"], configured.Elements().Select(e => e.Name.LocalName));

        await SendAsync("PUT", "/events?notification", "<NotificationConfiguration/>");
        Assert.Empty(XElement.Parse(ResponseText(await SendAsync("GET", "/events?notification"))).Elements());
        await SendAsync("PUT", "/events/k", "after");
        Assert.Empty(_bus.Events);
    }

    [Fact]
    public async Task DestinationsStrataCannotDeliverToAreRefusedAsUnvalidated()
    {
        await EnableAsync("events");
        var body = """
            <NotificationConfiguration>
              <TopicConfiguration><Topic>arn:aws:sns:us-east-1:111122223333:uploads</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration>
              <QueueConfiguration><Queue>arn:aws:sqs:us-east-1:111122223333:uploads</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>
              <EventBridgeConfiguration/>
            </NotificationConfiguration>
            """;
        var e = await Assert.ThrowsAsync<AwsException>(() => SendAsync("PUT", "/events?notification", body));
        Assert.Equal(("InvalidArgument", 400, "Unable to validate the following destination configurations"), (e.Code, e.Status, e.Message));
        Assert.Equal(["ArgumentName1", "ArgumentValue1", "ArgumentName2", "ArgumentValue2"], e.Fields.Select(f => f.Key));
        Assert.Equal("arn:aws:sns:us-east-1:111122223333:uploads", e.Fields[0].Value);
        Assert.Equal("arn:aws:sqs:us-east-1:111122223333:uploads", e.Fields[2].Value);

        var malformed = await Assert.ThrowsAsync<AwsException>(() => SendAsync("PUT", "/events?notification",
            "<NotificationConfiguration><CloudFunctionConfiguration><CloudFunction>not-an-arn</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration></NotificationConfiguration>"));
        Assert.Equal(("InvalidArgument", "The ARN is not well formed"), (malformed.Code, malformed.Message));
        // Nothing of a refused configuration was kept: EventBridge stays on.
        Assert.Contains("EventBridgeConfiguration", ResponseText(await SendAsync("GET", "/events?notification")));
    }

    [Fact]
    public async Task ObjectsCreatedAreEventsWithTheDocumentedDetail()
    {
        await EnableAsync("events");
        var put = await SendAsync("PUT", "/events/photos/a.jpg", "hello");
        var e = Assert.Single(_bus.Events);
        Assert.Equal(("aws.s3", "Object Created", Account), (e.Source, e.DetailType, e.Account));
        Assert.Equal(["arn:aws:s3:::events"], e.Resources);
        Assert.Equal(_clock.GetUtcNow(), e.Time);
        var d = e.Detail;
        Assert.Equal("0", d["version"]!.GetValue<string>());
        Assert.Equal("events", d["bucket"]!["name"]!.GetValue<string>());
        Assert.Equal("photos/a.jpg", d["object"]!["key"]!.GetValue<string>());
        Assert.Equal(5, d["object"]!["size"]!.GetValue<long>());
        // The ETag without its quotes, as the guide's example has it.
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData("hello"u8)), d["object"]!["etag"]!.GetValue<string>());
        Assert.Null(d["object"]!["version-id"]);
        Assert.Equal(put.RequestId, d["request-id"]!.GetValue<string>());
        Assert.Equal(Account, d["requester"]!.GetValue<string>());
        Assert.Equal("203.0.113.7", d["source-ip-address"]!.GetValue<string>());
        Assert.Equal("PutObject", d["reason"]!.GetValue<string>());
        Assert.Null(d["deletion-type"]);

        await SendAsync("PUT", "/events/photos/b.jpg", "", ("x-amz-copy-source", "/events/photos/a.jpg"));
        var copied = _bus.Events[^1].Detail;
        Assert.Equal(("photos/b.jpg", "CopyObject"), (copied["object"]!["key"]!.GetValue<string>(), copied["reason"]!.GetValue<string>()));
        Assert.Equal(5, copied["object"]!["size"]!.GetValue<long>());
        // A later event of the same kind sorts after the earlier one by its sequencer.
        Assert.True(string.CompareOrdinal(d["object"]!["sequencer"]!.GetValue<string>(), copied["object"]!["sequencer"]!.GetValue<string>()) < 0);
    }

    [Fact]
    public async Task ACompletedMultipartUploadIsOneEvent()
    {
        await EnableAsync("events");
        var created = XElement.Parse(ResponseText(await SendAsync("POST", "/events/big.bin?uploads")));
        var uploadId = created.Elements().Single(e => e.Name.LocalName == "UploadId").Value;
        var part = await SendAsync("PUT", $"/events/big.bin?partNumber=1&uploadId={uploadId}", "part one");
        var etag = part.Response.Headers.ETag.ToString();
        Assert.Empty(_bus.Events);
        await SendAsync("POST", $"/events/big.bin?uploadId={uploadId}",
            $"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>");

        var d = Assert.Single(_bus.Events).Detail;
        Assert.Equal("CompleteMultipartUpload", d["reason"]!.GetValue<string>());
        Assert.Equal(8, d["object"]!["size"]!.GetValue<long>());
        Assert.EndsWith("-1", d["object"]!["etag"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeletedObjectsAreEventsAndKeysThatNamedNothingAreNot()
    {
        await EnableAsync("events");
        await SendAsync("PUT", "/events/a", "1");
        await SendAsync("PUT", "/events/b", "2");
        await SendAsync("PUT", "/events/c", "3");
        _bus.Clear();
        _clock.Advance(TimeSpan.FromSeconds(1));

        var delete = await SendAsync("DELETE", "/events/a");
        await SendAsync("DELETE", "/events/a");
        var e = Assert.Single(_bus.Events);
        Assert.Equal(("aws.s3", "Object Deleted"), (e.Source, e.DetailType));
        Assert.Equal(_clock.GetUtcNow(), e.Time);
        var d = e.Detail;
        Assert.Equal("a", d["object"]!["key"]!.GetValue<string>());
        Assert.NotNull(d["object"]!["sequencer"]);
        Assert.Null(d["object"]!["size"]);
        Assert.Equal(("DeleteObject", "Permanently Deleted"), (d["reason"]!.GetValue<string>(), d["deletion-type"]!.GetValue<string>()));
        Assert.Equal(delete.RequestId, d["request-id"]!.GetValue<string>());

        var xml = "<Delete><Object><Key>b</Key></Object><Object><Key>missing</Key></Object><Object><Key>c</Key></Object></Delete>";
        await SendAsync("POST", "/events?delete", xml, ("Content-MD5", Convert.ToBase64String(MD5.HashData(Encoding.UTF8.GetBytes(xml)))));
        Assert.Equal(["a", "b", "c"], _bus.Events.Select(x => x.Detail["object"]!["key"]!.GetValue<string>()));
        Assert.All(_bus.Events.Skip(1), x => Assert.Equal("DeleteObject", x.Detail["reason"]!.GetValue<string>()));
    }

    [Fact]
    public async Task InAVersionedBucketEventsNameTheVersionAndWhetherAMarkerWasMade()
    {
        await EnableAsync("events");
        await SendAsync("PUT", "/events?versioning", "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
        var put = await SendAsync("PUT", "/events/v", "1");
        var version = put.Response.Headers["x-amz-version-id"].ToString();
        Assert.Equal(version, _bus.Events[^1].Detail["object"]!["version-id"]!.GetValue<string>());

        var marker = (await SendAsync("DELETE", "/events/v")).Response.Headers["x-amz-version-id"].ToString();
        var d = _bus.Events[^1].Detail;
        Assert.Equal(("Delete Marker Created", marker), (d["deletion-type"]!.GetValue<string>(), d["object"]!["version-id"]!.GetValue<string>()));

        // Naming a version removes it for good, a marker as any other.
        await SendAsync("DELETE", $"/events/v?versionId={marker}");
        d = _bus.Events[^1].Detail;
        Assert.Equal(("Permanently Deleted", marker), (d["deletion-type"]!.GetValue<string>(), d["object"]!["version-id"]!.GetValue<string>()));
        var xml = $"<Delete><Object><Key>v</Key><VersionId>{version}</VersionId></Object></Delete>";
        await SendAsync("POST", "/events?delete", xml, ("Content-MD5", Convert.ToBase64String(MD5.HashData(Encoding.UTF8.GetBytes(xml)))));
        d = _bus.Events[^1].Detail;
        Assert.Equal(("Permanently Deleted", version), (d["deletion-type"]!.GetValue<string>(), d["object"]!["version-id"]!.GetValue<string>()));
        Assert.Equal(4, _bus.Events.Count(x => x.Detail["object"]!["key"]!.GetValue<string>() == "v"));
    }

    [Fact]
    public async Task ABucketWithoutEventBridgeSendsNothing()
    {
        await SendAsync("PUT", "/quiet/k", "x");
        await SendAsync("PUT", "/quiet/k2", "", ("x-amz-copy-source", "/quiet/k"));
        await SendAsync("DELETE", "/quiet/k");
        Assert.Empty(_bus.Events);
    }
}
