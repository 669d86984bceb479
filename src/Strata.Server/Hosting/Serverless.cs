namespace Strata.Server.Hosting;

/// <summary>
/// A serverless variant's concurrency and usage: at most MaxConcurrency requests at once (more
/// are throttled, as AWS throttles them), an instance for every <see cref="RequestsPerInstance"/>
/// requests in flight (started by the request that needs it: a cold start), none while idle
/// beyond what ProvisionedConcurrency keeps warm, and the compute used metered in GB-seconds.
/// Idle time is read from the injected clock, so scale-to-zero can be tested with a fake one.
/// </summary>
public sealed class Serverless(ServerlessSettings config, TimeProvider clock)
{
    /// <summary>Concurrent requests one instance (one worker process) takes.</summary>
    public const int RequestsPerInstance = 4;

    readonly Lock _lock = new();
    int _inFlight;
    long _requests;
    double _gbSeconds;
    int _coldStarts;
    long _lastActivity = clock.GetTimestamp();

    public ServerlessSettings Config { get; } = config;
    public int MaxConcurrency => Config.MaxConcurrency ?? 1;
    public double MemoryGB => (Config.MemorySizeInMB ?? 1024) / 1024.0;

    /// <summary>Instances kept warm whatever the traffic.</summary>
    public int ProvisionedInstances => (int)Math.Ceiling((Config.ProvisionedConcurrency ?? 0) / (double)RequestsPerInstance);

    /// <summary>Instances the requests now in flight need (at least the provisioned ones).</summary>
    public int NeededInstances { get { lock (_lock) return Math.Max(ProvisionedInstances, (int)Math.Ceiling(_inFlight / (double)RequestsPerInstance)); } }

    public int InFlight { get { lock (_lock) return _inFlight; } }

    /// <summary>Admits a request, or refuses it when MaxConcurrency requests are in flight.</summary>
    public bool TryEnter()
    {
        lock (_lock)
        {
            if (_inFlight >= MaxConcurrency) return false;
            _inFlight++;
            _lastActivity = clock.GetTimestamp();
            return true;
        }
    }

    /// <summary>A request is done: it used the variant's memory for <paramref name="elapsed"/>
    /// (metered unless it was a monitoring analysis's own, which a client is not billed for).</summary>
    public void Exit(TimeSpan elapsed, bool metered = true)
    {
        lock (_lock)
        {
            _inFlight--;
            if (metered)
            {
                _requests++;
                _gbSeconds += MemoryGB * elapsed.TotalSeconds;
            }
            _lastActivity = clock.GetTimestamp();
        }
    }

    public void ColdStarted() { lock (_lock) _coldStarts++; }

    /// <summary>How long no request has been in flight.</summary>
    public TimeSpan Idle { get { lock (_lock) return _inFlight > 0 ? TimeSpan.Zero : clock.GetElapsedTime(_lastActivity); } }

    public ServerlessUsage Usage { get { lock (_lock) return new ServerlessUsage(_requests, Math.Round(_gbSeconds, 6), _coldStarts); } }
}
