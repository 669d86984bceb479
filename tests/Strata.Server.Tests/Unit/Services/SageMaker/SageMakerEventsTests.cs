using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Transform;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// SageMaker's state-change events as the stores put them: one "SageMaker Endpoint State Change"
/// per change of an endpoint's status, whoever writes it (the API's create, update and delete,
/// hosting's reports through <see cref="EndpointHosting"/>), and one "SageMaker Transform Job
/// State Change" per change of a job's status, each with the detail the SageMaker developer
/// guide shows.
/// </summary>
public sealed class SageMakerEventsTests : IDisposable
{
    const string Account = "111122223333";
    const string Arn = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/ep";

    readonly string _dir = Directory.CreateTempSubdirectory("strata-sm-events-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly ServiceEventRecorder _bus = new();
    readonly SageMakerStore _store;

    public SageMakerEventsTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new SageMakerStore(_state) { Events = _bus };
        _store.CreateEndpointConfig(Account, new EndpointConfigRow
        {
            EndpointConfigName = "cfg",
            EndpointConfigArn = "arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/cfg",
            ProductionVariants = [new VariantRow { VariantName = "main", ModelName = "m", InitialInstanceCount = 2, InstanceType = "ml.m5.large", InitialVariantWeight = 1f }],
            CreationTime = _clock.GetUtcNow(),
        });
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    void CreateEndpoint() => Assert.True(_store.CreateEndpoint(Account, new EndpointRow
    {
        EndpointName = "ep",
        EndpointArn = Arn,
        EndpointConfigName = "cfg",
        EndpointStatus = "Creating",
        CreationTime = _clock.GetUtcNow(),
        LastModifiedTime = _clock.GetUtcNow(),
    }, [new TagRow("team", "ml")]));

    static VariantStatus Variant(int instances) => new("main", "strata/onnx:latest", 1f, instances, instances, null);

    static string Status(ServiceEvent e) => e.Detail["EndpointStatus"]!.GetValue<string>();

    [Fact]
    public void CreationIsAnEventWithTheConfigurationsVariantsAndTheTags()
    {
        CreateEndpoint();
        var e = Assert.Single(_bus.Events);
        Assert.Equal(("aws.sagemaker", "SageMaker Endpoint State Change", Account), (e.Source, e.DetailType, e.Account));
        Assert.Equal([Arn], e.Resources);
        Assert.Equal(_clock.GetUtcNow(), e.Time);
        var d = e.Detail;
        Assert.Equal("ep", d["EndpointName"]!.GetValue<string>());
        Assert.Equal(Arn, d["EndpointArn"]!.GetValue<string>());
        Assert.Equal("cfg", d["EndpointConfigName"]!.GetValue<string>());
        Assert.Equal("CREATING", Status(e));
        // Epoch milliseconds, as the guide's example (1592411992203.0).
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), d["CreationTime"]!.GetValue<long>());
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), d["LastModifiedTime"]!.GetValue<long>());
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["team"] = "ml" }, d["Tags"]));
        var variant = Assert.Single(d["ProductionVariants"]!.AsArray())!;
        Assert.Equal("main", variant["VariantName"]!.GetValue<string>());
        Assert.Equal(2, variant["DesiredInstanceCount"]!.GetValue<int>());
        Assert.Equal(1f, variant["DesiredWeight"]!.GetValue<float>());
        Assert.Null(d["FailureReason"]);
    }

    [Fact]
    public void EveryStatusTransitionIsOneEventAndAnUnchangedStatusNone()
    {
        var hosting = new EndpointHosting(_store, _clock);
        CreateEndpoint();
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(hosting.InService(Account, "ep", null, [Variant(2)]));
        // Instances replaced or scaled by hosting: the status stays InService, so no event.
        hosting.VariantsChanged(Account, "ep", [Variant(3)]);
        _clock.Advance(TimeSpan.FromSeconds(5));
        _store.UpdateEndpoint(Account, "ep", e => e with { EndpointStatus = "Updating", LastModifiedTime = _clock.GetUtcNow() });
        hosting.UpdateFailed(Account, "ep", "the new model did not load", stillServing: true);
        _store.UpdateEndpoint(Account, "ep", e => e with { EndpointStatus = "Updating", LastModifiedTime = _clock.GetUtcNow() });
        hosting.DeploymentFailed(Account, "ep", "no instance passed its health check");
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(_store.DeleteEndpoint(Account, "ep", _clock.GetUtcNow()));
        Assert.False(_store.DeleteEndpoint(Account, "ep", _clock.GetUtcNow()));

        Assert.Equal(["CREATING", "IN_SERVICE", "UPDATING", "IN_SERVICE", "UPDATING", "FAILED", "DELETING"], _bus.Events.Select(Status));
        var inService = _bus.Events[1].Detail;
        var variant = Assert.Single(inService["ProductionVariants"]!.AsArray())!;
        Assert.Equal(2, variant["CurrentInstanceCount"]!.GetValue<int>());
        Assert.Equal(1f, variant["CurrentWeight"]!.GetValue<float>());
        Assert.Equal(_clock.Start.AddSeconds(5).ToUnixTimeMilliseconds(), inService["LastModifiedTime"]!.GetValue<long>());
        Assert.Equal("no instance passed its health check", _bus.Events[5].Detail["FailureReason"]!.GetValue<string>());
        var deleting = _bus.Events[6];
        Assert.Equal(_clock.GetUtcNow(), deleting.Time);
        Assert.Equal("ml", deleting.Detail["Tags"]!["team"]!.GetValue<string>());
        // The tags went with the endpoint.
        Assert.Empty(_store.GetTags(Arn));
    }

    [Fact]
    public void AnEndpointOfThatNameAlreadyThereIsNoEvent()
    {
        CreateEndpoint();
        Assert.False(_store.CreateEndpoint(Account, _store.GetEndpoint(Account, "ep")!));
        Assert.Single(_bus.Events);
    }

    [Theory]
    [InlineData("InService", "IN_SERVICE")]
    [InlineData("Creating", "CREATING")]
    [InlineData("SystemUpdating", "SYSTEM_UPDATING")]
    [InlineData("RollingBack", "ROLLING_BACK")]
    [InlineData("OutOfService", "OUT_OF_SERVICE")]
    [InlineData("UpdateRollbackFailed", "UPDATE_ROLLBACK_FAILED")]
    public void EndpointStatusesAreSpelledAsTheEventsSpellThem(string status, string spelled)
        => Assert.Equal(spelled, SageMakerEvents.EventStatus(status));

    TransformJobRow Job() => new()
    {
        TransformJobName = "tj",
        TransformJobArn = "arn:aws:sagemaker:us-east-1:111122223333:transform-job/tj",
        TransformJobStatus = "InProgress",
        ModelName = "m",
        MaxConcurrentTransforms = 2,
        MaxPayloadInMB = 6,
        BatchStrategy = "MultiRecord",
        Environment = new() { ["MODE"] = "fast" },
        TransformInput = new TransformInputRow(new TransformDataSourceRow(new TransformS3DataSourceRow("S3Prefix", "s3://in/data/")), "text/csv", "None", "Line"),
        TransformOutput = new TransformOutputRow("s3://out/results/", "text/csv", "Line", null),
        TransformResources = new TransformResourcesRow("ml.m5.large", 1, null),
        CreationTime = _clock.GetUtcNow(),
        LastModifiedTime = _clock.GetUtcNow(),
    };

    [Fact]
    public void TransformJobStatusChangesAreEventsLikeDescribeTransformJob()
    {
        var jobs = new TransformJobStore(_state) { Events = _bus };
        Assert.True(jobs.Create(Account, Job(), [new TagRow("run", "7")]));
        _clock.Advance(TimeSpan.FromSeconds(1));
        // The runner's progress and start time are not status changes.
        jobs.Update(Account, "tj", j => j with { TransformStartTime = _clock.GetUtcNow(), StrataProgress = new TransformProgress(3, 1, 10) });
        _clock.Advance(TimeSpan.FromSeconds(10));
        var end = _clock.GetUtcNow();
        jobs.Update(Account, "tj", j => j with { TransformJobStatus = "Completed", TransformEndTime = end, LastModifiedTime = end });

        Assert.Equal(["InProgress", "Completed"], _bus.Events.Select(e => e.Detail["TransformJobStatus"]!.GetValue<string>()));
        var completed = _bus.Events[1];
        Assert.Equal(("aws.sagemaker", "SageMaker Transform Job State Change"), (completed.Source, completed.DetailType));
        Assert.Equal(["arn:aws:sagemaker:us-east-1:111122223333:transform-job/tj"], completed.Resources);
        Assert.Equal(end, completed.Time);
        var d = completed.Detail;
        Assert.Equal("tj", d["TransformJobName"]!.GetValue<string>());
        Assert.Equal("m", d["ModelName"]!.GetValue<string>());
        Assert.Equal(2, d["MaxConcurrentTransforms"]!.GetValue<int>());
        Assert.Equal("MultiRecord", d["BatchStrategy"]!.GetValue<string>());
        Assert.Equal("fast", d["Environment"]!["MODE"]!.GetValue<string>());
        Assert.Equal("s3://in/data/", d["TransformInput"]!["DataSource"]!["S3DataSource"]!["S3Uri"]!.GetValue<string>());
        Assert.Equal("Line", d["TransformInput"]!["SplitType"]!.GetValue<string>());
        Assert.Equal("s3://out/results/", d["TransformOutput"]!["S3OutputPath"]!.GetValue<string>());
        Assert.Equal("ml.m5.large", d["TransformResources"]!["InstanceType"]!.GetValue<string>());
        Assert.Equal(_clock.Start.AddSeconds(1).ToUnixTimeMilliseconds(), d["TransformStartTime"]!.GetValue<long>());
        Assert.Equal(end.ToUnixTimeMilliseconds(), d["TransformEndTime"]!.GetValue<long>());
        Assert.Equal("7", d["Tags"]!["run"]!.GetValue<string>());
        Assert.Null(d["FailureReason"]);
        Assert.Null(d["StrataProgress"]);
    }

    [Fact]
    public void AFailedTransformJobSaysWhy()
    {
        var jobs = new TransformJobStore(_state) { Events = _bus };
        jobs.Create(Account, Job());
        jobs.Update(Account, "tj", j => j with { TransformJobStatus = "Failed", FailureReason = "the model answered 500", TransformEndTime = _clock.GetUtcNow() });
        var failed = _bus.Events[^1].Detail;
        Assert.Equal("Failed", failed["TransformJobStatus"]!.GetValue<string>());
        Assert.Equal("the model answered 500", failed["FailureReason"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject(), failed["Tags"]));
    }
}
