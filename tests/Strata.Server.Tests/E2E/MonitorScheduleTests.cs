namespace Strata.Server.Tests.E2E;

/// <summary>Data-quality monitoring schedules (monitor_schedule_boto3.py) on a server whose clock the
/// script drives: captured drifting traffic, a baseline, a job definition and an hourly schedule;
/// past the hour the execution ends CompletedWithViolations with the drifted feature's
/// baseline_drift_check; NOW schedules, the bad paths.</summary>
public sealed class MonitorScheduleTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("monitor_schedule_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "monitor_schedule_boto3.py")).AssertPassed(testCase);

    /// <summary>Each operation once through Debian's boto3 1.26.</summary>
    [Fact]
    public async Task DebianBoto3EachOperation() => (await ClientSuite.RunAsync("/usr/bin/python3", "monitor_ops_boto3.py")).AssertPassed("test_each_operation_once");

    /// <summary>The model-quality job definition operations through Debian's boto3 1.26, and made
    /// and described with the aws CLI (same script, same server).</summary>
    [Fact]
    public async Task DebianBoto3AndCliModelQuality() => (await ClientSuite.RunAsync("/usr/bin/python3", "monitor_ops_boto3.py")).AssertPassed("test_model_quality_operations");
}

/// <summary>Model-quality monitoring schedules (monitor_quality_boto3.py) on a server whose clock the
/// script drives: captured predictions with InferenceIds, a baseline of predictions and labels, two
/// hourly schedules whose ground truth agrees or not; Completed vs CompletedWithViolations naming
/// mae, the metrics in aws/sagemaker/Endpoints/model-metrics; the bad inputs.</summary>
public sealed class ModelQualityMonitorTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("monitor_quality_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "monitor_quality_boto3.py")).AssertPassed(testCase);
}

/// <summary>Model-bias monitoring schedules (monitor_bias_boto3.py) on a server whose clock the script
/// drives: captured requests and predictions of an unbiased and a biased hour, ground truth, a
/// model-bias job definition with Clarify's analysis config and a baseline analysis.json; NOW
/// schedules over each window end Completed vs CompletedWithViolations naming DPPL and DI, the
/// metrics in aws/sagemaker/Endpoints/bias-metrics; a facet the requests lack fails saying so.
/// Debian's boto3 1.26 and the aws CLI make and read a model-bias job definition.</summary>
public sealed class ModelBiasMonitorTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("monitor_bias_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "monitor_bias_boto3.py")).AssertPassed(testCase);

    [Fact]
    public async Task DebianBoto3AndCliModelBias() => (await ClientSuite.RunAsync("/usr/bin/python3", "monitor_ops_boto3.py")).AssertPassed("test_model_bias_operations");
}

/// <summary>Feature attribution monitoring schedules (monitor_explainability_boto3.py) on a server
/// whose clock the script drives: captured requests of an income-driven and a gender-driven hour
/// explained with Kernel SHAP through the endpoint (exact for the linear model, checked against
/// wᵢ·(xᵢ − bᵢ)); the first window Completed against a baseline ranked as it is, the second
/// CompletedWithViolations with feature_attribution_drift_check; the global SHAP values in
/// aws/sagemaker/Endpoints/explainability-metrics; the analysis's own requests never captured.
/// Debian's boto3 1.26 and aws CLI v2 make and read a model-explainability job definition.</summary>
public sealed class ModelExplainabilityMonitorTests
{
    public static IEnumerable<object[]> Cases => ClientSuite.Cases("monitor_explainability_boto3.py");

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Boto3(string testCase) => (await ClientSuite.RunOnFakeClockAsync("python3", "monitor_explainability_boto3.py")).AssertPassed(testCase);

    [Fact]
    public async Task DebianBoto3AndCliModelExplainability() => (await ClientSuite.RunAsync("/usr/bin/python3", "monitor_ops_boto3.py")).AssertPassed("test_model_explainability_operations");
}
