using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Hosting;
using Strata.Server.Services.AutoScaling;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// The scaler over whole minutes of AWS time, on a clock the test moves: each evaluation period
/// is one <see cref="FakeTimeProvider.Advance"/> and one evaluation, so cooldowns and
/// DisableScaleIn are shown to the period (300 s of scale-in cooldown hold, the next period
/// scales in) without waiting for anything.
/// </summary>
public sealed class ScalerTests : IDisposable
{
    const string Account = "000000000000", Endpoint = "ep", Resource = "endpoint/ep/variant/main";
    static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    readonly string _dir = Directory.CreateTempSubdirectory("strata-scaler-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly AutoScalingStore _store;
    readonly SageMakerStore _sageMaker;
    readonly MetricsStore _metrics;
    readonly Variant _variant;
    readonly Scaler _scaler;
    readonly ServiceEventRecorder _events = new();

    public ScalerTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new AutoScalingStore(_state);
        _sageMaker = new SageMakerStore(_state) { Events = _events };
        _metrics = new MetricsStore(_clock);
        _variant = new Variant(_sageMaker);
        _scaler = new Scaler(_store, _sageMaker, _variant, _metrics, _clock, Period, NullLogger<Scaler>.Instance) { Events = _events };
        _sageMaker.CreateEndpoint(Account, new EndpointRow
        {
            EndpointName = Endpoint,
            EndpointArn = $"arn:aws:sagemaker:us-east-1:{Account}:endpoint/{Endpoint}",
            EndpointConfigName = "c",
            EndpointStatus = "InService",
            CreationTime = _clock.GetUtcNow(),
            LastModifiedTime = _clock.GetUtcNow(),
        });
        _store.PutTarget(Account, new ScalableTargetRow
        {
            ServiceNamespace = "sagemaker",
            ResourceId = Resource,
            ScalableDimension = "sagemaker:variant:DesiredInstanceCount",
            MinCapacity = 1,
            MaxCapacity = 3,
            RoleARN = "arn:aws:iam::000000000000:role/r",
            CreationTime = _clock.GetUtcNow(),
            ScalableTargetARN = "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/t",
        });
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Hosting as the scaler sees it: a desired count, set at once; a change leaves the
    /// endpoint InService again, as hosting reports when new instances pass their checks.</summary>
    sealed class Variant(SageMakerStore sageMaker) : IVariantScaling
    {
        public int Count { get; private set; } = 1;
        public int? DesiredInstanceCount(string account, string endpoint, string variant) => Count;

        public Task SetDesiredInstanceCountAsync(string account, string endpoint, string variant, int count)
        {
            Count = count;
            sageMaker.UpdateEndpoint(account, endpoint, e => e with { EndpointStatus = "InService" });
            return Task.CompletedTask;
        }
    }

    void Track(double target, int? scaleInCooldown = null, bool? disableScaleIn = null) => _store.PutPolicy(Account, new ScalingPolicyRow
    {
        PolicyARN = "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:p",
        PolicyName = "invocations",
        ServiceNamespace = "sagemaker",
        ResourceId = Resource,
        ScalableDimension = "sagemaker:variant:DesiredInstanceCount",
        PolicyType = "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfigRow(target, new PredefinedMetricRow("SageMakerVariantInvocationsPerInstance", null),
            null, ScaleOutCooldown: 0, scaleInCooldown, disableScaleIn),
        CreationTime = _clock.GetUtcNow(),
    });

    void Invoke(int times)
    {
        for (var i = 0; i < times; i++)
            _metrics.Record(Account, "AWS/SageMaker", "InvocationsPerInstance", "Count", 1, ("EndpointName", Endpoint), ("VariantName", "main"));
    }

    /// <summary>One evaluation period passes.</summary>
    async Task<int> PeriodAsync(int invocations = 0)
    {
        Invoke(invocations);
        _clock.Advance(Period);
        await _scaler.EvaluateAllAsync(CancellationToken.None);
        return _variant.Count;
    }

    List<ScalingActivityRow> Activities => _store.ActivitiesOf(Account, Resource);

    [Fact]
    public async Task ScaleInWaitsOutItsCooldownThenFollowsTheMetric()
    {
        Track(10, scaleInCooldown: 300);
        Assert.Equal(1, await PeriodAsync(invocations: 50)); // the first reading only starts the series
        Assert.Equal(3, await PeriodAsync(invocations: 50)); // 50 a minute against 10: 5, capped at 3
        var scaledOut = Assert.Single(Activities);
        Assert.Contains("above", scaledOut.Cause);
        Assert.Equal("Successful", scaledOut.StatusCode);

        for (var minute = 1; minute <= 4; minute++)
            Assert.Equal(3, await PeriodAsync()); // idle, but within the 300 s cooldown
        Assert.Single(Activities);
        Assert.Equal(1, await PeriodAsync());      // 300 s after the last scaling
        Assert.Contains("below", Activities.OrderBy(a => a.StartTime).Last().Cause);
    }

    [Fact]
    public async Task DisableScaleInHoldsCapacityUntilThePolicyAllowsIt()
    {
        Track(10, scaleInCooldown: 0, disableScaleIn: true);
        await PeriodAsync(invocations: 30);
        Assert.Equal(3, await PeriodAsync(invocations: 30));
        for (var minute = 1; minute <= 10; minute++)
            Assert.Equal(3, await PeriodAsync());
        Assert.Single(Activities);

        Track(10, scaleInCooldown: 0, disableScaleIn: false);
        Assert.Equal(1, await PeriodAsync());
        Assert.Equal(2, Activities.Count);
    }

    [Fact]
    public async Task ScaleOutCooldownLimitsRepeatedScaleOuts()
    {
        _store.PutTarget(Account, _store.GetTarget(Account, Resource)! with { MaxCapacity = 10 });
        _store.PutPolicy(Account, new ScalingPolicyRow
        {
            PolicyARN = "arn:p",
            PolicyName = "invocations",
            ServiceNamespace = "sagemaker",
            ResourceId = Resource,
            ScalableDimension = "sagemaker:variant:DesiredInstanceCount",
            PolicyType = "TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration = new TargetTrackingConfigRow(10, null, null, ScaleOutCooldown: 120, ScaleInCooldown: 600, DisableScaleIn: null),
            CreationTime = _clock.GetUtcNow(),
        });
        await PeriodAsync(invocations: 20);
        Assert.Equal(2, await PeriodAsync(invocations: 20));  // 20 a minute on 1 instance: 2
        Assert.Equal(2, await PeriodAsync(invocations: 25));  // would be 5, but 60 s into the 120 s scale-out cooldown
        Assert.Equal(5, await PeriodAsync(invocations: 25));  // 120 s: 25 a minute per instance on 2 against 10 each
    }

    [Fact]
    public async Task AScaleOutToTheMaximumIsTheScaledToMaxEventAndOthersAreNone()
    {
        _store.PutTarget(Account, _store.GetTarget(Account, Resource)! with { MaxCapacity = 4 });
        Track(10, scaleInCooldown: 0);
        _events.Clear();
        await PeriodAsync(invocations: 20);
        Assert.Equal(2, await PeriodAsync(invocations: 20));  // scaled out, below the maximum: no event
        Assert.Empty(_events.OfType(ScalingEvents.ActivityStateChangeType));
        var start = _clock.GetUtcNow();
        Assert.Equal(4, await PeriodAsync(invocations: 90));  // 90 a minute against 10 on 2 instances: 18, capped at 4
        var e = Assert.Single(_events.OfType(ScalingEvents.ActivityStateChangeType));
        Assert.Equal(("aws.application-autoscaling", Account), (e.Source, e.Account));
        Assert.Empty(e.Resources);
        var d = e.Detail;
        Assert.Equal(start.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture), d["startTime"]!.GetValue<string>());
        Assert.NotNull(d["endTime"]);
        Assert.Equal((4, 2, 1, 4), (d["newDesiredCapacity"]!.GetValue<int>(), d["oldDesiredCapacity"]!.GetValue<int>(), d["minCapacity"]!.GetValue<int>(), d["maxCapacity"]!.GetValue<int>()));
        Assert.Equal((Resource, "sagemaker:variant:DesiredInstanceCount", "sagemaker"),
            (d["resourceId"]!.GetValue<string>(), d["scalableDimension"]!.GetValue<string>(), d["serviceNamespace"]!.GetValue<string>()));
        Assert.Equal(("Successful", true, "scale-out"), (d["statusCode"]!.GetValue<string>(), d["scaledToMax"]!.GetValue<bool>(), d["direction"]!.GetValue<string>()));

        Assert.Equal(1, await PeriodAsync());                  // a scale-in: no event
        Assert.Single(_events.OfType(ScalingEvents.ActivityStateChangeType));
        // Each scaling takes the endpoint through Updating and back, as the endpoint's events say.
        Assert.Equal(["UPDATING", "IN_SERVICE", "UPDATING", "IN_SERVICE", "UPDATING", "IN_SERVICE"],
            _events.OfType("SageMaker Endpoint State Change").Select(x => x.Detail["EndpointStatus"]!.GetValue<string>()));
    }
}
