using Strata.Server.Storage;

namespace Strata.Server.Hosting;

/// <summary>One reading of an instance: CPU in percent of one core (so 0 to cores × 100, as
/// SageMaker reports it), resident memory and the used share of its storage volume, in percent;
/// Disk is null when the volume cannot be read. Gpu and GpuMemory (each GPU's percent, summed over
/// the instance's GPUs) are null for an instance without GPUs or whose GPUs cannot be read.</summary>
public readonly record struct UtilizationSample(double Cpu, double Memory, double? Disk, double? Gpu = null, double? GpuMemory = null);

/// <summary>
/// SageMaker's instance metrics, CPUUtilization, MemoryUtilization and DiskUtilization (Percent),
/// and GPUUtilization and GPUMemoryUtilization for instances with GPUs,
/// for the instances of one endpoint or one job, sampled every <see cref="Period"/> on a timer made
/// from the injected clock. The first sample is taken at once and, when sampling stops, a last one,
/// so a job shorter than a period still publishes its datapoints. The instances are asked for on
/// every sample, so replacements and scaling are followed without telling the sampler.
/// </summary>
public sealed class InstanceUtilization : IDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    readonly MetricsStore _metrics;
    readonly TimeProvider _clock;
    readonly string _account;
    readonly string _namespace;
    readonly Func<DateTimeOffset, IEnumerable<(UtilizationSample? Sample, (string Name, string Value)[] Dimensions)>> _read;
    // A tick and the last sample may meet on two threads; after Stop no tick records.
    readonly Lock _lock = new();
    readonly ILogger _log;
    readonly ITimer _timer;
    bool _stopped;

    /// <param name="read">Reads every instance at the given time, with the dimensions its metrics
    /// get; an instance that cannot be read (it exited) answers null and is left out.</param>
    public InstanceUtilization(MetricsStore metrics, TimeProvider clock, string account, string ns,
        Func<DateTimeOffset, IEnumerable<(UtilizationSample? Sample, (string Name, string Value)[] Dimensions)>> read, ILogger log)
    {
        _log = log;
        _metrics = metrics;
        _clock = clock;
        _account = account;
        _namespace = ns;
        _read = read;
        // Made last: its first tick may run on another thread before the constructor returns.
        _timer = clock.CreateTimer(_ => Sample(), null, TimeSpan.Zero, Period);
    }

    void Sample()
    {
        lock (_lock)
        {
            if (_stopped) return;
            // A timer callback that throws would end the server: a failed sample is only missed.
            try { Record(); }
            catch (Exception e) { _log.LogWarning(e, "Sampling the utilization of instances ({Namespace}) failed; the next period tries again", _namespace); }
        }
    }

    void Record()
    {
        foreach (var (sample, dimensions) in _read(_clock.GetUtcNow()))
        {
            if (sample is not { } s) continue;
            _metrics.Record(_account, _namespace, "CPUUtilization", "Percent", s.Cpu, dimensions);
            _metrics.Record(_account, _namespace, "MemoryUtilization", "Percent", s.Memory, dimensions);
            if (s.Disk is { } disk) _metrics.Record(_account, _namespace, "DiskUtilization", "Percent", disk, dimensions);
            if (s.Gpu is { } gpu) _metrics.Record(_account, _namespace, "GPUUtilization", "Percent", gpu, dimensions);
            if (s.GpuMemory is { } gpuMemory) _metrics.Record(_account, _namespace, "GPUMemoryUtilization", "Percent", gpuMemory, dimensions);
        }
    }

    /// <summary>Stops sampling after one last sample; call it while the instances still run (the
    /// end of a job: before it is seen to end, so its last datapoint is there when a client looks).
    /// Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopped) return;
            _stopped = true;
            _timer.Dispose();
            Record();
        }
    }
}
