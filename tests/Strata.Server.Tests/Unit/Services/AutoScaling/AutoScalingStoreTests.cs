using Strata.Server.Services.AutoScaling;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>The rows Application Auto Scaling keeps are not its wire shapes: data directories
/// written before the generated layer load, and rows are still written as they were.</summary>
public sealed class AutoScalingStoreTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-aas-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // As the hand-written records wrote them (member order, epoch seconds, nulls left out).
    const string Target = """{"ServiceNamespace":"sagemaker","ResourceId":"endpoint/e/variant/main","ScalableDimension":"sagemaker:variant:DesiredInstanceCount","MinCapacity":1,"MaxCapacity":3,"RoleARN":"arn:aws:iam::000000000000:role/r","CreationTime":1764500000.123,"SuspendedState":{"DynamicScalingInSuspended":false,"DynamicScalingOutSuspended":true,"ScheduledScalingSuspended":false},"ScalableTargetARN":"arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/abc"}""";
    const string Policy = """{"PolicyARN":"arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:x:resource/sagemaker/endpoint/e/variant/main:policyName/p","PolicyName":"p","ServiceNamespace":"sagemaker","ResourceId":"endpoint/e/variant/main","ScalableDimension":"sagemaker:variant:DesiredInstanceCount","PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":600.5,"CustomizedMetricSpecification":{"MetricName":"ModelLatency","Namespace":"AWS/SageMaker","Dimensions":[{"Name":"EndpointName","Value":"e"}],"Statistic":"Average"},"ScaleOutCooldown":0,"ScaleInCooldown":300,"DisableScaleIn":false},"Alarms":[],"CreationTime":1764500001}""";
    const string Activity = """{"ActivityId":"a1","ServiceNamespace":"sagemaker","ResourceId":"endpoint/e/variant/main","ScalableDimension":"sagemaker:variant:DesiredInstanceCount","Description":"Setting desired instance count to 2.","Cause":"At 2025-11-30T10:53:20Z policy p: up","StartTime":1764500000,"EndTime":1764500002.5,"StatusCode":"Successful","StatusMessage":"done"}""";

    [Fact]
    public void RowsWrittenBeforeTheGeneratedLayerLoadAndAreWrittenTheSameWay()
    {
        using var state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        state.Write(w =>
        {
            w.Put("aas-targets", "000000000000/endpoint/e/variant/main", Target);
            w.Put("aas-policies", "000000000000/endpoint/e/variant/main/p", Policy);
            w.Put("aas-activities", "000000000000/endpoint/e/variant/main/9223370272354775807-a1", Activity);
            return 0;
        });
        var store = new AutoScalingStore(state);

        var target = store.GetTarget("000000000000", "endpoint/e/variant/main")!;
        Assert.Equal((1, 3, true), (target.MinCapacity, target.MaxCapacity, target.SuspendedState!.DynamicScalingOutSuspended));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1764500000123), target.CreationTime);
        var policy = Assert.Single(store.PoliciesOf("000000000000", "endpoint/e/variant/main"));
        Assert.Equal(600.5, policy.TargetTrackingScalingPolicyConfiguration!.TargetValue);
        Assert.Equal("e", policy.TargetTrackingScalingPolicyConfiguration!.CustomizedMetricSpecification!.Dimensions![0].Value);
        var activity = Assert.Single(store.ActivitiesOf("000000000000", null));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1764500002500), activity.EndTime);

        store.PutTarget("000000000000", target);
        store.PutPolicy("000000000000", policy);
        Assert.Equal(Target, state.Read(r => r.Get("aas-targets", "000000000000/endpoint/e/variant/main")));
        Assert.Equal(Policy, state.Read(r => r.Get("aas-policies", "000000000000/endpoint/e/variant/main/p")));
    }
}
