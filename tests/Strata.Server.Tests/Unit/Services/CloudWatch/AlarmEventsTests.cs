using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;
using Strata.Server.Services.CloudWatch;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// "CloudWatch Alarm State Change" from the one place alarms change state (evaluation,
/// SetAlarmState, a composite alarm following its children): one event per change, none when
/// the state stays, with the detail the CloudWatch user guide shows (state, previousState,
/// configuration), for metric, metric-math and composite alarms.
/// </summary>
public sealed class AlarmEventsTests : IDisposable
{
    const string Account = "111122223333";

    readonly string _dir = Directory.CreateTempSubdirectory("strata-alarm-events-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly MetricsStore _metrics;
    readonly ServiceEventRecorder _bus = new();
    readonly CloudWatchService _cloudWatch;

    public AlarmEventsTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _metrics = new MetricsStore(_clock);
        _cloudWatch = new CloudWatchService(_metrics, _state, _clock) { Events = _bus };
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Calls an operation of the API as the pipeline would, after it read the input.</summary>
    async Task CallAsync(string operation, object input)
    {
        var http = new DefaultHttpContext();
        http.Response.Body = new MemoryStream();
        var ctx = new RequestContext(http, "req", "us-east-1", false)
        {
            Service = new("cloudwatch", "monitoring", AwsProtocol.Json10, NamedOperations.None, QueryCompatible: true),
            Principal = Principal.Root(Account, "AKIAEXAMPLE"),
            OperationName = operation,
            Input = input,
        };
        await _cloudWatch.Operations.Single(o => o.Name == operation).Handler(ctx);
    }

    Task SetStateAsync(string alarm, string value, string reason) => CallAsync("SetAlarmState", new SetAlarmStateInput { AlarmName = alarm, StateValue = value, StateReason = reason });

    void PutCpuAlarm(string name = "cpu") => _cloudWatch.PutMetricAlarm(Account, new PutMetricAlarmInput
    {
        AlarmName = name,
        AlarmDescription = "CPU too high",
        Namespace = "AWS/SageMaker",
        MetricName = "CPUUtilization",
        Dimensions = [new Dimension { Name = "EndpointName", Value = "ep" }, new Dimension { Name = "VariantName", Value = "main" }],
        Statistic = "Average",
        Period = 60,
        EvaluationPeriods = 1,
        Threshold = 50,
        ComparisonOperator = "GreaterThanThreshold",
    });

    static JsonNode Detail(ServiceEvent e) => e.Detail;

    [Fact]
    public async Task AnEvaluatedMetricAlarmPutsItsStateChangeWithTheDocumentedDetail()
    {
        PutCpuAlarm();
        _clock.Advance(TimeSpan.FromSeconds(30));
        _metrics.Record(Account, "AWS/SageMaker", "CPUUtilization", "Percent", 99, ("EndpointName", "ep"), ("VariantName", "main"));
        await _cloudWatch.EvaluateAlarmsAsync(CancellationToken.None);
        // Evaluated again with the same data: still ALARM, so no second event.
        await _cloudWatch.EvaluateAlarmsAsync(CancellationToken.None);

        var e = Assert.Single(_bus.Events);
        Assert.Equal(("aws.cloudwatch", "CloudWatch Alarm State Change", Account), (e.Source, e.DetailType, e.Account));
        Assert.Equal(["arn:aws:cloudwatch:us-east-1:111122223333:alarm:cpu"], e.Resources);
        Assert.Equal(_clock.GetUtcNow(), e.Time);
        var d = Detail(e);
        Assert.Equal("cpu", d["alarmName"]!.GetValue<string>());
        Assert.Equal("ALARM", d["state"]!["value"]!.GetValue<string>());
        Assert.StartsWith("Threshold Crossed: 1 out of the last 1 datapoints [99.0", d["state"]!["reason"]!.GetValue<string>());
        // reasonData is the JSON text the alarm keeps, as in the guide's example.
        using (var reasonData = JsonDocument.Parse(d["state"]!["reasonData"]!.GetValue<string>()))
            Assert.Equal(50, reasonData.RootElement.GetProperty("threshold").GetDouble());
        Assert.Equal("2026-11-30T12:00:30.000+0000", d["state"]!["timestamp"]!.GetValue<string>());
        Assert.Equal("INSUFFICIENT_DATA", d["previousState"]!["value"]!.GetValue<string>());
        Assert.Equal("Unchecked: Initial alarm creation", d["previousState"]!["reason"]!.GetValue<string>());
        Assert.Equal("2026-11-30T12:00:00.000+0000", d["previousState"]!["timestamp"]!.GetValue<string>());

        var configuration = d["configuration"]!;
        Assert.Equal("CPU too high", configuration["description"]!.GetValue<string>());
        var query = Assert.Single(configuration["metrics"]!.AsArray())!;
        Assert.True(Guid.TryParse(query["id"]!.GetValue<string>(), out _));
        Assert.True(query["returnData"]!.GetValue<bool>());
        Assert.Equal(60, query["metricStat"]!["period"]!.GetValue<int>());
        Assert.Equal("Average", query["metricStat"]!["stat"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject
        {
            ["dimensions"] = new JsonObject { ["EndpointName"] = "ep", ["VariantName"] = "main" },
            ["name"] = "CPUUtilization",
            ["namespace"] = "AWS/SageMaker",
        }, query["metricStat"]!["metric"]));
    }

    [Fact]
    public async Task SetAlarmStatePutsOneEventPerChangeAndTheQueryIdStays()
    {
        PutCpuAlarm();
        await SetStateAsync("cpu", "OK", "testing");
        await SetStateAsync("cpu", "OK", "still testing");
        _clock.Advance(TimeSpan.FromSeconds(1));
        await SetStateAsync("cpu", "ALARM", "testing again");

        Assert.Equal(2, _bus.Events.Count);
        var (first, second) = (Detail(_bus.Events[0]), Detail(_bus.Events[1]));
        Assert.Equal(("INSUFFICIENT_DATA", "OK"), (first["previousState"]!["value"]!.GetValue<string>(), first["state"]!["value"]!.GetValue<string>()));
        Assert.Equal("testing", first["state"]!["reason"]!.GetValue<string>());
        Assert.Null(first["state"]!["reasonData"]);
        // The previous state is the state the alarm was last set to, with its own reason and time.
        Assert.Equal("OK", second["previousState"]!["value"]!.GetValue<string>());
        Assert.Equal("still testing", second["previousState"]!["reason"]!.GetValue<string>());
        Assert.Equal("ALARM", second["state"]!["value"]!.GetValue<string>());
        Assert.Equal("2026-11-30T12:00:01.000+0000", second["state"]!["timestamp"]!.GetValue<string>());
        Assert.Equal(first["configuration"]!["metrics"]![0]!["id"]!.GetValue<string>(), second["configuration"]!["metrics"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AMetricMathAlarmListsItsQueries()
    {
        _cloudWatch.PutMetricAlarm(Account, new PutMetricAlarmInput
        {
            AlarmName = "errors",
            EvaluationPeriods = 1,
            Threshold = 5,
            ComparisonOperator = "GreaterThanThreshold",
            Metrics =
            [
                new MetricDataQuery { Id = "e1", Expression = "m1 + m2", Label = "All errors", ReturnData = true },
                new MetricDataQuery
                {
                    Id = "m1", ReturnData = false,
                    MetricStat = new MetricStat { Metric = new Metric { Namespace = "AWS/SageMaker", MetricName = "Invocation4XXErrors", Dimensions = [new Dimension { Name = "EndpointName", Value = "ep" }] }, Period = 60, Stat = "Sum" },
                },
                new MetricDataQuery
                {
                    Id = "m2", ReturnData = false,
                    MetricStat = new MetricStat { Metric = new Metric { Namespace = "AWS/SageMaker", MetricName = "Invocation5XXErrors", Dimensions = [new Dimension { Name = "EndpointName", Value = "ep" }] }, Period = 60, Stat = "Sum" },
                },
            ],
        });
        await SetStateAsync("errors", "ALARM", "testing");

        var metrics = Detail(Assert.Single(_bus.Events))["configuration"]!["metrics"]!.AsArray();
        Assert.Equal(["e1", "m1", "m2"], metrics.Select(m => m!["id"]!.GetValue<string>()));
        Assert.Equal("m1 + m2", metrics[0]!["expression"]!.GetValue<string>());
        Assert.Equal("All errors", metrics[0]!["label"]!.GetValue<string>());
        Assert.True(metrics[0]!["returnData"]!.GetValue<bool>());
        Assert.False(metrics[1]!["returnData"]!.GetValue<bool>());
        Assert.Equal("Invocation4XXErrors", metrics[1]!["metricStat"]!["metric"]!["name"]!.GetValue<string>());
        Assert.Equal("ep", metrics[2]!["metricStat"]!["metric"]!["dimensions"]!["EndpointName"]!.GetValue<string>());
        Assert.Equal("Sum", metrics[2]!["metricStat"]!["stat"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACompositeAlarmFollowingItsChildrenPutsItsRuleAndTheTriggeringChild()
    {
        PutCpuAlarm("cpu");
        PutCpuAlarm("memory");
        await SetStateAsync("memory", "OK", "fine");
        await CallAsync("PutCompositeAlarm", new PutCompositeAlarmInput
        {
            AlarmName = "endpoint-health",
            AlarmDescription = "Either is bad",
            AlarmRule = "ALARM(cpu) OR ALARM(memory)",
            ActionsSuppressor = "memory",
            ActionsSuppressorWaitPeriod = 60,
            ActionsSuppressorExtensionPeriod = 120,
        });
        _bus.Clear();
        _clock.Advance(TimeSpan.FromSeconds(1));
        await SetStateAsync("cpu", "ALARM", "hot");

        var composite = _bus.Events.Single(e => e.Resources[0].EndsWith(":alarm:endpoint-health", StringComparison.Ordinal));
        var d = Detail(composite);
        Assert.Equal("endpoint-health", d["alarmName"]!.GetValue<string>());
        Assert.Equal(("OK", "ALARM"), (d["previousState"]!["value"]!.GetValue<string>(), d["state"]!["value"]!.GetValue<string>()));
        Assert.StartsWith("arn:aws:cloudwatch:us-east-1:111122223333:alarm:cpu transitioned to ALARM at ", d["state"]!["reason"]!.GetValue<string>());
        using (var reasonData = JsonDocument.Parse(d["state"]!["reasonData"]!.GetValue<string>()))
            Assert.Equal("arn:aws:cloudwatch:us-east-1:111122223333:alarm:cpu", reasonData.RootElement.GetProperty("triggeringAlarms")[0].GetProperty("arn").GetString());
        // The suppressor (memory, OK) has not gone into ALARM: the actions wait for it.
        Assert.Equal("WaitPeriod", d["state"]!["actionsSuppressedBy"]!.GetValue<string>());
        Assert.NotNull(d["state"]!["actionsSuppressedReason"]);
        Assert.True(JsonNode.DeepEquals(new JsonObject
        {
            ["description"] = "Either is bad",
            ["alarmRule"] = "ALARM(cpu) OR ALARM(memory)",
            ["actionsSuppressor"] = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:memory",
            ["actionsSuppressorWaitPeriod"] = 60,
            ["actionsSuppressorExtensionPeriod"] = 120,
        }, d["configuration"]));
        // The child's own change is an event too, before its parent's.
        Assert.Equal("cpu", Detail(_bus.Events[0])["alarmName"]!.GetValue<string>());
    }
}
