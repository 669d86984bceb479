using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Strata.Server.Storage;

namespace Strata.Server.Hosting;

// Model Monitor's data capture on the real-time path. A request only decides whether it is
// sampled and, when it is, enqueues references to the bodies it already holds (no copy, no JSON,
// no I/O on the request's path); DataCaptureWriter turns what was enqueued into AWS's JSON lines
// and writes them, as the variant's execution role, once a minute of the injected clock, when a
// batch grows large, and at shutdown.

/// <summary>An endpoint configuration's <c>DataCaptureConfig</c>, as hosting runs it.</summary>
public sealed record CaptureSettings
{
    public bool EnableCapture { get; init; } = true;
    public int SamplingPercentage { get; init; }
    /// <summary>Where captures go: <c>s3://bucket/prefix</c>.</summary>
    public required string DestinationS3Uri { get; init; }
    public string? KmsKeyId { get; init; }
    public bool CaptureInput { get; init; }
    public bool CaptureOutput { get; init; }
    /// <summary>Content types kept as text with encoding CSV, and JSON; any other is base64 (AWS's
    /// default when CaptureContentTypeHeader names none).</summary>
    public IReadOnlyList<string> CsvContentTypes { get; init; } = [];
    public IReadOnlyList<string> JsonContentTypes { get; init; } = [];
}

/// <summary>Writes a batch of capture records where they belong, as <paramref name="roleArn"/>:
/// implemented by the control plane, which knows how a role is assumed and where S3 is.</summary>
public interface ICaptureStore
{
    /// <exception cref="CaptureWriteException">The object could not be written; the message says why.</exception>
    Task PutAsync(string? roleArn, string bucket, string key, ReadOnlyMemory<byte> content, string? kmsKeyId, CancellationToken ct);
}

/// <summary>A batch of captures could not be written (the role may not write there, the bucket is gone).</summary>
public sealed class CaptureWriteException(string message) : Exception(message);

/// <summary>One variant's capture: its settings, where its records go and as which role. The
/// router asks it once per successful invocation.</summary>
public sealed class VariantCapture(DataCaptureWriter writer, string account, string endpoint, string variant, CaptureSettings settings, string? roleArn)
{
    public string Account { get; } = account;
    public string EndpointName { get; } = endpoint;
    public string VariantName { get; } = variant;
    public CaptureSettings Settings { get; } = settings;
    public string? RoleArn { get; } = roleArn;

    /// <summary>Whether the output is asked for (the streaming call collects its parts only then).</summary>
    public bool WantsOutput => Settings.EnableCapture && Settings.CaptureOutput;

    /// <summary>Samples one invocation and, when it is sampled, enqueues what is captured: the
    /// input copied (it lies in the request's pooled array), the output kept as it is (the router
    /// never reuses it).</summary>
    public void Record(string? inferenceId, string? inputType, ArraySegment<byte> input, string? outputType, byte[]? output)
    {
        if (Sample()) Enqueue(inferenceId, inputType, input, outputType, output);
    }

    /// <summary>Whether this invocation is captured: decided before a stream is relayed, so an
    /// invocation that is not sampled never has its parts collected.</summary>
    public bool Sample() => Settings.EnableCapture && writer.Sampled(Settings.SamplingPercentage);

    /// <summary>Enqueues an invocation already sampled.</summary>
    public void Enqueue(string? inferenceId, string? inputType, ArraySegment<byte> input, string? outputType, byte[]? output)
    {
        writer.Enqueue(new CaptureEvent(this, writer.Now, inferenceId,
            Settings.CaptureInput ? inputType : null, Settings.CaptureInput ? input.ToArray() : null,
            Settings.CaptureOutput ? outputType : null, Settings.CaptureOutput ? output : null));
    }
}

/// <summary>One captured invocation, as the request left it.</summary>
public sealed record CaptureEvent(VariantCapture Variant, DateTimeOffset InferenceTime, string? InferenceId,
    string? InputContentType, byte[]? Input, string? OutputContentType, byte[]? Output);

/// <summary>
/// The background half of data capture: a bounded queue the router fills without waiting, drained
/// into one JSON-lines object per variant and hour under
/// <c>{DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/{mm}-{ss}-{fff}-{uuid}.jsonl</c>, the
/// layout Model Monitor reads. It flushes every minute of the clock, at once when
/// a large batch waits, and everything at shutdown. A queue that is full drops the
/// capture (never the request), as a batch the role may not write is dropped: both are logged
/// and counted, and the endpoint keeps serving, as SageMaker's does.
/// </summary>
/// <param name="random">Where sampling draws from (uniform in [0, 1)); a test gives a seeded one.</param>
/// <param name="capacity">The most records waiting; past it (or past <paramref name="maxBytes"/> of
/// bodies waiting) captures are dropped: memory stays bounded whatever the payloads' sizes.</param>
/// <param name="flushAt">Records waiting that start a flush before the minute is up. Large: each
/// object written costs a role assumption, a blob and a state-store commit, whatever its size, so
/// a loaded endpoint writes a few large objects rather than many small ones.</param>
/// <param name="flushBytes">Bytes of bodies waiting that start a flush before the minute is up.</param>
public sealed class DataCaptureWriter(ICaptureStore store, TimeProvider clock, ILogger<DataCaptureWriter> log, Func<double>? random = null,
    int capacity = 200_000, int flushAt = 20_000, long flushBytes = 16 << 20, long maxBytes = 256 << 20) : PeriodicService(clock, FlushPeriod, log)
{
    public static readonly TimeSpan FlushPeriod = TimeSpan.FromMinutes(1);

    readonly Func<double> _random = random ?? Random.Shared.NextDouble;
    readonly Channel<CaptureEvent> _queue = Channel.CreateBounded<CaptureEvent>(new BoundedChannelOptions(capacity)
    {
        // Wait: TryWrite then answers false when full (DropWrite would say true and drop it unseen).
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });
    readonly SemaphoreSlim _flushing = new(1, 1);
    int _waiting;
    long _waitingBytes;
    int _flushStarted;
    long _dropped;
    long _written;

    protected override string What => "Writing captured data";

    public DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>Captures dropped because the queue was full or their batch could not be written.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Captures written.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>A variant's capture, or null when the configuration captures nothing.</summary>
    public VariantCapture? For(string account, string endpoint, string variant, CaptureSettings? settings, string? roleArn)
        => settings is null ? null : new VariantCapture(this, account, endpoint, variant, settings, roleArn);

    /// <summary>True for <paramref name="percentage"/> % of calls (0 never, 100 always).</summary>
    public bool Sampled(int percentage) => percentage >= 100 || (percentage > 0 && _random() * 100 < percentage);

    internal void Enqueue(CaptureEvent e)
    {
        var size = (long)(e.Input?.Length ?? 0) + (e.Output?.Length ?? 0);
        if (Interlocked.Read(ref _waitingBytes) + size > maxBytes || !_queue.Writer.TryWrite(e))
        {
            if (Interlocked.Increment(ref _dropped) % 10_000 == 1)
                Log.LogWarning("The data capture queue is full ({Capacity} records): captures of {Endpoint} are dropped until it drains", capacity, e.Variant.EndpointName);
            return;
        }
        // A large batch is written now, by one flush at a time, off the request's thread.
        var bytes = Interlocked.Add(ref _waitingBytes, size);
        if ((Interlocked.Increment(ref _waiting) >= flushAt || bytes >= flushBytes) && Interlocked.CompareExchange(ref _flushStarted, 1, 0) == 0)
            _ = Task.Run(async () =>
            {
                try { await FlushAsync(CancellationToken.None); }
                catch (Exception ex) { Log.LogError(ex, "Writing captured data failed"); }
                finally { Volatile.Write(ref _flushStarted, 0); }
            });
    }

    protected override Task TickAsync(CancellationToken ct) => FlushAsync(ct);

    /// <summary>Writes every record waiting now: one object per variant and hour.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await _flushing.WaitAsync(ct);
        try
        {
            var batch = new List<CaptureEvent>();
            while (_queue.Reader.TryRead(out var e)) batch.Add(e);
            Interlocked.Add(ref _waiting, -batch.Count);
            Interlocked.Add(ref _waitingBytes, -batch.Sum(e => (long)(e.Input?.Length ?? 0) + (e.Output?.Length ?? 0)));
            if (batch.Count == 0) return;
            foreach (var group in batch.GroupBy(e => (e.Variant, Hour: CaptureLayout.Hour(e.InferenceTime))))
            {
                var records = group.ToList();
                var (bucket, key) = CaptureLayout.ObjectFor(group.Key.Variant, records[0].InferenceTime, Guid.NewGuid());
                var content = CaptureRecords.Write(records, Guid.NewGuid);
                try
                {
                    // Records taken off the queue are written to the end, even while the server stops.
                    await store.PutAsync(group.Key.Variant.RoleArn, bucket, key, content, group.Key.Variant.Settings.KmsKeyId, CancellationToken.None);
                    Interlocked.Add(ref _written, records.Count);
                }
                catch (CaptureWriteException e)
                {
                    Interlocked.Add(ref _dropped, records.Count);
                    Log.LogWarning("{Count} captured records of endpoint {Endpoint} variant {Variant} were dropped (s3://{Bucket}/{Key}): {Reason}",
                        records.Count, group.Key.Variant.EndpointName, group.Key.Variant.VariantName, bucket, key, e.Message);
                }
                catch (Exception e)
                {
                    // Anything else (a store fault) drops this group only, counted and logged; the other groups are still written.
                    Interlocked.Add(ref _dropped, records.Count);
                    Log.LogError(e, "{Count} captured records of endpoint {Endpoint} variant {Variant} could not be written (s3://{Bucket}/{Key})",
                        records.Count, group.Key.Variant.EndpointName, group.Key.Variant.VariantName, bucket, key);
                }
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>Nothing lost on a clean shutdown: the loop stops, then whatever waits is written.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }
}

/// <summary>Where captures go: AWS's key layout.</summary>
public static class CaptureLayout
{
    public static DateTimeOffset Hour(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero);

    /// <summary>The bucket and key of a capture file whose first record is of <paramref name="first"/>:
    /// <c>{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/{mm}-{ss}-{fff}-{uuid}.jsonl</c>.</summary>
    public static (string Bucket, string Key) ObjectFor(VariantCapture variant, DateTimeOffset first, Guid id)
    {
        var (bucket, prefix) = SplitDestination(variant.Settings.DestinationS3Uri);
        var t = first.ToUniversalTime();
        var key = string.Create(CultureInfo.InvariantCulture,
            $"{variant.EndpointName}/{variant.VariantName}/{t:yyyy}/{t:MM}/{t:dd}/{t:HH}/{t:mm}-{t:ss}-{t:fff}-{id:D}.jsonl");
        return (bucket, prefix.Length == 0 ? key : prefix + "/" + key);
    }

    /// <summary>The bucket and prefix (no trailing slash) of <c>s3://bucket/prefix</c>.</summary>
    public static (string Bucket, string Prefix) SplitDestination(string uri)
    {
        var path = uri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) ? uri[5..] : uri;
        var slash = path.IndexOf('/');
        return slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..].TrimEnd('/'));
    }
}

/// <summary>AWS's capture record, one JSON object per line:
/// <c>{"captureData":{"endpointInput":{"observedContentType","mode":"INPUT","data","encoding"},
/// "endpointOutput":{…"mode":"OUTPUT"…}},"eventMetadata":{"eventId","inferenceId","inferenceTime"},"eventVersion":"0"}</c>.</summary>
public static class CaptureRecords
{
    static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Write(IEnumerable<CaptureEvent> events, Func<Guid> eventId)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var json = new Utf8JsonWriter(buffer, Options);
        foreach (var e in events)
        {
            json.Reset(buffer);
            var s = e.Variant.Settings;
            json.WriteStartObject();
            json.WriteStartObject("captureData");
            if (e.Input is not null) Data(json, "endpointInput", "INPUT", e.InputContentType, e.Input, s);
            if (e.Output is not null) Data(json, "endpointOutput", "OUTPUT", e.OutputContentType, e.Output, s);
            json.WriteEndObject();
            json.WriteStartObject("eventMetadata");
            json.WriteString("eventId", eventId().ToString("D"));
            if (e.InferenceId is not null) json.WriteString("inferenceId", e.InferenceId);
            json.WriteString("inferenceTime", e.InferenceTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            json.WriteEndObject();
            json.WriteString("eventVersion", "0");
            json.WriteEndObject();
            json.Flush();
            buffer.Write("\n"u8);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The encoding a content type is kept in: CSV or JSON when the configuration lists it
    /// (compared without parameters, case-insensitively), else BASE64.</summary>
    public static string EncodingOf(string? contentType, CaptureSettings settings)
    {
        var media = contentType?.Split(';', 2)[0].Trim() ?? "";
        if (settings.CsvContentTypes.Any(t => string.Equals(t, media, StringComparison.OrdinalIgnoreCase))) return "CSV";
        if (settings.JsonContentTypes.Any(t => string.Equals(t, media, StringComparison.OrdinalIgnoreCase))) return "JSON";
        return "BASE64";
    }

    static void Data(Utf8JsonWriter json, string member, string mode, string? contentType, byte[] data, CaptureSettings settings)
    {
        var encoding = EncodingOf(contentType, settings);
        // Text that is not UTF-8 cannot be kept as text: it is kept as it came, base64.
        if (encoding != "BASE64" && !System.Text.Unicode.Utf8.IsValid(data)) encoding = "BASE64";
        json.WriteStartObject(member);
        json.WriteString("observedContentType", contentType ?? "");
        json.WriteString("mode", mode);
        if (encoding == "BASE64") json.WriteBase64String("data", data);
        else json.WriteString("data", data);
        json.WriteString("encoding", encoding);
        json.WriteEndObject();
    }
}
