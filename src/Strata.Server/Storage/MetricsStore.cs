using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Strata.Server.Storage;

/// <summary>A metric series: the account it belongs to (each account sees only its own metrics, as in
/// CloudWatch), the namespace, metric name and dimensions (sorted by name: the same dimensions in
/// another order are the same series).</summary>
public sealed record MetricKey(string Account, string Namespace, string Name, IReadOnlyList<KeyValuePair<string, string>> Dimensions)
{
    public bool Equals(MetricKey? other) => other is not null && Account == other.Account && Namespace == other.Namespace && Name == other.Name
        && Dimensions.SequenceEqual(other.Dimensions);

    public override int GetHashCode()
    {
        var hash = HashCode.Combine(Account, Namespace, Name);
        foreach (var (k, v) in Dimensions) hash = HashCode.Combine(hash, k, v);
        return hash;
    }

    /// <summary>The same series whatever order its dimensions were named in.</summary>
    public static MetricKey Of(string account, string ns, string name, IEnumerable<KeyValuePair<string, string>> dimensions)
        => new(account, ns, name, dimensions.OrderBy(d => d.Key, StringComparer.Ordinal).ToList());
}

/// <summary>CloudWatch's statistics of one period (the autoscaler's one-minute view).</summary>
public sealed record MetricStatistics(DateTimeOffset Timestamp, long SampleCount, double Sum, double Minimum, double Maximum)
{
    public double Average => SampleCount == 0 ? 0 : Sum / SampleCount;
}

/// <summary>What one period of a series holds: count, sum, extremes, and the values' distribution
/// when they were published one by one (a statistic set has none, so it has no percentiles).</summary>
public sealed class MetricBucket
{
    public double SampleCount { get; private set; }
    public double Sum { get; private set; }
    public double Minimum { get; private set; } = double.PositiveInfinity;
    public double Maximum { get; private set; } = double.NegativeInfinity;
    /// <summary>Null while every value was the same (every percentile is then that value).</summary>
    public MetricSketch? Sketch { get; private set; }
    /// <summary>Some data came as a statistic set: percentiles cannot be known.</summary>
    public bool NoPercentiles { get; private set; }

    public void Add(double value, double count)
    {
        if (Sketch is null && SampleCount > 0 && value != Minimum)
        {
            // A second distinct value: the distribution now matters.
            Sketch = new MetricSketch();
            Sketch.Add(Minimum, SampleCount);
        }
        Sketch?.Add(value, count);
        SampleCount += count;
        Sum += value * count;
        if (value < Minimum) Minimum = value;
        if (value > Maximum) Maximum = value;
    }

    public void AddSet(double sampleCount, double sum, double minimum, double maximum)
    {
        SampleCount += sampleCount;
        Sum += sum;
        Minimum = Math.Min(Minimum, minimum);
        Maximum = Math.Max(Maximum, maximum);
        NoPercentiles = true;
        Sketch = null;
    }

    public void Merge(MetricBucket other)
    {
        if (other.SampleCount == 0 && !other.NoPercentiles) return;
        if (NoPercentiles || other.NoPercentiles)
        {
            AddSet(other.SampleCount, other.Sum, other.Minimum, other.Maximum);
            return;
        }
        if (Sketch is null && other.Sketch is null && (SampleCount == 0 || other.Minimum == Minimum))
        {
            Add(other.Minimum, other.SampleCount);
            return;
        }
        Sketch ??= Single(Minimum, SampleCount);
        Sketch.Merge(other.Sketch ?? Single(other.Minimum, other.SampleCount));
        SampleCount += other.SampleCount;
        Sum += other.Sum;
        Minimum = Math.Min(Minimum, other.Minimum);
        Maximum = Math.Max(Maximum, other.Maximum);

        static MetricSketch Single(double value, double count)
        {
            var s = new MetricSketch();
            if (count > 0) s.Add(value, count);
            return s;
        }
    }

    public MetricBucket Clone()
    {
        var copy = new MetricBucket();
        copy.Merge(this);
        return copy;
    }

    internal static MetricBucket Restore(double count, double sum, double min, double max, byte[]? sketch, bool noPercentiles) => new()
    {
        SampleCount = count,
        Sum = sum,
        Minimum = min,
        Maximum = max,
        Sketch = sketch is null ? null : MetricSketch.FromBytes(sketch),
        NoPercentiles = noPercentiles,
    };
}

/// <summary>
/// The platform's metrics, kept as CloudWatch keeps them: every value lands in 1-second buckets
/// (kept 3 hours; only for high-resolution data), 1-minute buckets (15 days), 5-minute buckets (63
/// days) and 1-hour buckets (455 days), each tier rolled up as the value arrives. The buckets live
/// in memory and are written to a SQLite file every few seconds and at shutdown, so a restart
/// keeps them; expired ones are dropped from both. CloudWatch (GetMetricData, alarms), the
/// autoscaler and <c>GET /_strata/metrics</c> (running totals since start) read them.
/// </summary>
public sealed class MetricsStore : IDisposable
{
    /// <summary>The storage tiers: bucket width and how long buckets of that width are kept.</summary>
    public static readonly (int Seconds, TimeSpan Retention)[] Tiers =
        [(1, TimeSpan.FromHours(3)), (60, TimeSpan.FromDays(15)), (300, TimeSpan.FromDays(63)), (3600, TimeSpan.FromDays(455))];

    /// <summary>A series with no data for this long leaves ListMetrics, as in CloudWatch.</summary>
    public static readonly TimeSpan ListedFor = TimeSpan.FromDays(14);

    /// <summary>How far from now a datum's timestamp may lie: two weeks back, two hours ahead (PutMetricData's window).</summary>
    public static readonly TimeSpan AcceptedPast = TimeSpan.FromDays(14), AcceptedFuture = TimeSpan.FromHours(2);

    /// <summary>Whether CloudWatch can store a value: not NaN or an infinity, no magnitude beyond
    /// 2^360 or (other than zero) below 2^-260.</summary>
    public static bool IsStorable(double value)
    {
        var magnitude = Math.Abs(value);
        return double.IsFinite(value) && magnitude <= Math.Pow(2, 360) && (magnitude == 0 || magnitude >= Math.Pow(2, -260));
    }

    readonly ConcurrentDictionary<MetricKey, Series> _series = new();
    readonly TimeProvider _clock;
    readonly string? _path;
    readonly Lock _flushLock = new();

    /// <param name="path">The metrics database; null keeps metrics in memory only (unit tests).</param>
    public MetricsStore(TimeProvider clock, string? path = null)
    {
        _clock = clock;
        _path = path;
        if (path is not null) Load();
    }

    public TimeProvider Clock => _clock;

    /// <summary>Records a value now, at 1-second resolution (Strata's own metrics).</summary>
    public void Record(string account, string ns, string name, string unit, double value, params (string Name, string Value)[] dimensions)
        => Handle(account, ns, name, unit, dimensions).Record(value);

    /// <summary>A series to record into repeatedly without looking it up each time (hot paths
    /// keep one per metric they emit).</summary>
    public MetricHandle Handle(string account, string ns, string name, string unit, params (string Name, string Value)[] dimensions)
    {
        var series = SeriesOf(MetricKey.Of(account, ns, name, dimensions.Select(d => new KeyValuePair<string, string>(d.Name, d.Value))));
        series.Unit = unit;
        return new MetricHandle(series, _clock);
    }

    Series SeriesOf(MetricKey key) => _series.GetOrAdd(key, k => new Series(k));

    public sealed class MetricHandle
    {
        readonly Series _series;
        readonly TimeProvider _clock;

        internal MetricHandle(Series series, TimeProvider clock) => (_series, _clock) = (series, clock);

        public void Record(double value) => _series.Add(_clock.GetUtcNow(), value, 1, highResolution: true);
    }

    /// <summary>PutMetricData's values: each with its count (Values/Counts), at the given time.</summary>
    public void Put(MetricKey key, string? unit, DateTimeOffset at, IEnumerable<(double Value, double Count)> values, bool highResolution)
    {
        var series = SeriesOf(key);
        if (unit is not null) series.Unit = unit;
        foreach (var (value, count) in values) series.Add(at, value, count, highResolution);
    }

    /// <summary>PutMetricData's statistic set.</summary>
    public void PutSet(MetricKey key, string? unit, DateTimeOffset at, double sampleCount, double sum, double minimum, double maximum, bool highResolution)
    {
        var series = SeriesOf(key);
        if (unit is not null) series.Unit = unit;
        series.AddSet(at, sampleCount, sum, minimum, maximum, highResolution);
    }

    /// <summary>A series known to the store: its key, unit and when it last received data.</summary>
    public sealed record SeriesInfo(MetricKey Key, string Unit, DateTimeOffset LastUpdate);

    /// <summary>Every series that received data within <see cref="ListedFor"/>.</summary>
    public IEnumerable<SeriesInfo> Catalogue()
    {
        var since = _clock.GetUtcNow() - ListedFor;
        foreach (var (key, s) in _series)
            if (s.LastUpdate >= since) yield return new SeriesInfo(key, s.Unit, s.LastUpdate);
    }

    public string? UnitOf(MetricKey key) => _series.TryGetValue(key, out var s) ? s.Unit : null;

    /// <summary>The series' data between two times in periods of <paramref name="period"/> seconds,
    /// read from the finest tier that still holds data from <paramref name="start"/> and whose width
    /// divides the period. Periods start at <paramref name="start"/> rounded down as CloudWatch rounds
    /// it (to the period below a minute, else to the tier's width); only periods with data appear.</summary>
    public List<(DateTimeOffset Timestamp, MetricBucket Bucket)> Read(MetricKey key, DateTimeOffset start, DateTimeOffset end, int period)
        => Read(key, start, end, period, b => b.Clone())!;

    /// <summary>As <see cref="Read(MetricKey, DateTimeOffset, DateTimeOffset, int)"/>, each period projected
    /// (its statistics computed) while the series is locked, so no bucket is copied to be read;
    /// periods projected to null are left out.</summary>
    public List<(DateTimeOffset Timestamp, T Value)> Read<T>(MetricKey key, DateTimeOffset start, DateTimeOffset end, int period, Func<MetricBucket, T?> project)
    {
        if (!_series.TryGetValue(key, out var series) || period <= 0 || end <= start) return [];
        var now = _clock.GetUtcNow();
        var from = start.ToUnixTimeSeconds();
        var to = end.ToUnixTimeSeconds();
        var age = now - start;
        for (var tier = 0; tier < Tiers.Length; tier++)
        {
            var (width, retention) = Tiers[tier];
            if (period % width != 0 || age > retention) continue;
            var align = period < 60 ? period : AlignmentFor(age);
            var first = Floor(from, Math.Max(align, width));
            var (any, periods) = series.Periods(tier, first, to, period, project);
            // Standard-resolution data has no 1-second buckets: a coarser tier answers instead.
            if (!any && tier == 0) continue;
            return periods.Select(p => (DateTimeOffset.FromUnixTimeSeconds(p.Ts), p.Value)).ToList();
        }
        return [];
    }

    /// <summary>How CloudWatch rounds a start time down, by its age: to the minute within 15 days,
    /// to 5 minutes within 63 days, to the hour beyond.</summary>
    static int AlignmentFor(TimeSpan age) => age <= TimeSpan.FromDays(15) ? 60 : age <= TimeSpan.FromDays(63) ? 300 : 3600;

    static long Floor(long seconds, long unit) => (long)Math.Floor(seconds / (double)unit) * unit;

    /// <summary>One-minute statistics of a series between two times (oldest first).</summary>
    public List<MetricStatistics> Query(string account, string ns, string name, IReadOnlyList<KeyValuePair<string, string>> dimensions, DateTimeOffset from, DateTimeOffset to)
        => Read(MetricKey.Of(account, ns, name, dimensions), from, to.AddSeconds(1), 60)
            .Select(p => new MetricStatistics(p.Timestamp, (long)p.Bucket.SampleCount, p.Bucket.Sum, p.Bucket.Minimum, p.Bucket.Maximum)).ToList();

    public IEnumerable<MetricKey> Keys => _series.Keys;

    /// <summary>Everything a series has recorded since start (count and sum): two readings a period
    /// apart give its rate over exactly that period, whatever the buckets.</summary>
    public (long Count, double Sum) Totals(string account, string ns, string name, IReadOnlyList<KeyValuePair<string, string>> dimensions)
        => _series.TryGetValue(MetricKey.Of(account, ns, name, dimensions), out var s) ? s.Totals : (0, 0);

    // ---- persistence ----

    void Load()
    {
        using var db = Open();
        var byId = new Dictionary<long, Series>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT id, account, namespace, name, dimensions, unit, last_update FROM series";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var dims = JsonSerializer.Deserialize(r.GetString(4), MetricsJson.Default.ListListString) ?? [];
                var key = new MetricKey(r.GetString(1), r.GetString(2), r.GetString(3), dims.Select(d => new KeyValuePair<string, string>(d[0], d[1])).ToList());
                var series = new Series(key) { Id = r.GetInt64(0), Unit = r.GetString(5), LastUpdate = DateTimeOffset.FromUnixTimeSeconds(r.GetInt64(6)) };
                _series[key] = series;
                byId[series.Id] = series;
            }
        }
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT series, tier, ts, count, sum, min, max, sketch, no_percentiles FROM buckets";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var tier = r.GetInt32(1);
                var ts = r.GetInt64(2);
                if (tier >= Tiers.Length || ts < now - (long)Tiers[tier].Retention.TotalSeconds || !byId.TryGetValue(r.GetInt64(0), out var series)) continue;
                series.Restore(tier, ts, MetricBucket.Restore(r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetDouble(6),
                    r.IsDBNull(7) ? null : (byte[])r[7], r.GetInt64(8) != 0));
            }
        }
    }

    SqliteConnection Open()
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, account TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                dimensions TEXT NOT NULL, unit TEXT NOT NULL, last_update INTEGER NOT NULL, UNIQUE(account, namespace, name, dimensions));
            CREATE TABLE IF NOT EXISTS buckets(series INTEGER NOT NULL, tier INTEGER NOT NULL, ts INTEGER NOT NULL, count REAL NOT NULL,
                sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, sketch BLOB, no_percentiles INTEGER NOT NULL,
                PRIMARY KEY(series, tier, ts)) WITHOUT ROWID;
            """;
        cmd.ExecuteNonQuery();
        return db;
    }

    /// <summary>Writes the buckets changed since the last flush and drops expired ones, on disk and
    /// in memory. Called every few seconds by <see cref="MetricsFlusher"/> and at shutdown.</summary>
    public void Flush()
    {
        if (_path is null) return;
        lock (_flushLock)
        {
            var now = _clock.GetUtcNow().ToUnixTimeSeconds();
            using var db = Open();
            using var tx = db.BeginTransaction();
            using var upsertSeries = db.CreateCommand();
            upsertSeries.Transaction = tx;
            upsertSeries.CommandText = """
                INSERT INTO series(account, namespace, name, dimensions, unit, last_update) VALUES ($account, $ns, $name, $dims, $unit, $last)
                ON CONFLICT(account, namespace, name, dimensions) DO UPDATE SET unit = excluded.unit, last_update = excluded.last_update RETURNING id
                """;
            using var upsertBucket = db.CreateCommand();
            upsertBucket.Transaction = tx;
            upsertBucket.CommandText = """
                INSERT OR REPLACE INTO buckets(series, tier, ts, count, sum, min, max, sketch, no_percentiles)
                VALUES ($series, $tier, $ts, $count, $sum, $min, $max, $sketch, $np)
                """;
            foreach (var series in _series.Values)
            {
                var (changed, dirty) = series.TakeDirty(now);
                if (!changed) continue;
                upsertSeries.Parameters.Clear();
                upsertSeries.Parameters.AddWithValue("$account", series.Key.Account);
                upsertSeries.Parameters.AddWithValue("$ns", series.Key.Namespace);
                upsertSeries.Parameters.AddWithValue("$name", series.Key.Name);
                upsertSeries.Parameters.AddWithValue("$dims", JsonSerializer.Serialize(series.Key.Dimensions.Select(d => new List<string> { d.Key, d.Value }).ToList(), MetricsJson.Default.ListListString));
                upsertSeries.Parameters.AddWithValue("$unit", series.Unit);
                upsertSeries.Parameters.AddWithValue("$last", series.LastUpdate.ToUnixTimeSeconds());
                series.Id = (long)upsertSeries.ExecuteScalar()!;
                foreach (var (tier, ts, b) in dirty)
                {
                    upsertBucket.Parameters.Clear();
                    upsertBucket.Parameters.AddWithValue("$series", series.Id);
                    upsertBucket.Parameters.AddWithValue("$tier", tier);
                    upsertBucket.Parameters.AddWithValue("$ts", ts);
                    upsertBucket.Parameters.AddWithValue("$count", b.SampleCount);
                    upsertBucket.Parameters.AddWithValue("$sum", b.Sum);
                    upsertBucket.Parameters.AddWithValue("$min", b.Minimum);
                    upsertBucket.Parameters.AddWithValue("$max", b.Maximum);
                    upsertBucket.Parameters.AddWithValue("$sketch", b.Sketch is { } s ? s.ToBytes() : DBNull.Value);
                    upsertBucket.Parameters.AddWithValue("$np", b.NoPercentiles ? 1 : 0);
                    upsertBucket.ExecuteNonQuery();
                }
            }
            using var expire = db.CreateCommand();
            expire.Transaction = tx;
            expire.CommandText = "DELETE FROM buckets WHERE tier = $tier AND ts < $before";
            for (var tier = 0; tier < Tiers.Length; tier++)
            {
                expire.Parameters.Clear();
                expire.Parameters.AddWithValue("$tier", tier);
                expire.Parameters.AddWithValue("$before", now - (long)Tiers[tier].Retention.TotalSeconds);
                expire.ExecuteNonQuery();
            }
            using var forget = db.CreateCommand();
            forget.Transaction = tx;
            forget.CommandText = "DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM buckets WHERE buckets.series = series.id)";
            forget.ExecuteNonQuery();
            tx.Commit();
        }
    }

    public void Dispose() => Flush();

    // ---- Prometheus ----

    /// <summary>Prometheus text exposition: per series a _count and _sum since start, of the
    /// series <paramref name="include"/> keeps (all by default).</summary>
    public string Prometheus(Func<MetricKey, bool>? include = null)
    {
        var sb = new StringBuilder();
        foreach (var group in _series.Where(kv => kv.Value.Totals.Count > 0 && (include is null || include(kv.Key))).GroupBy(kv => MetricName(kv.Key)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("# TYPE ").Append(group.Key).Append(" summary\n");
            foreach (var (key, series) in group.OrderBy(kv => string.Join(",", kv.Key.Dimensions.Select(d => d.Value)), StringComparer.Ordinal))
            {
                // The account last: the same endpoint name may exist in two accounts.
                var labels = string.Join(",", key.Dimensions.Select(d => (Label(d.Key), d.Value)).Append(("account", key.Account))
                    .Select(l => $"{l.Item1}=\"{l.Item2.Replace("\\", "\\\\").Replace("\"", "\\\"")}\""));
                var (count, sum) = series.Totals;
                sb.Append(group.Key).Append("_count{").Append(labels).Append("} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                sb.Append(group.Key).Append("_sum{").Append(labels).Append("} ").Append(sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
        }
        return sb.ToString();
    }

    static string MetricName(MetricKey key)
        => $"{key.Namespace.ToLowerInvariant().Replace('/', ' ').Replace('-', ' ').Trim().Replace(' ', '_')}_{SnakeCase(key.Name)}";

    static string Label(string dimension) => SnakeCase(dimension);

    /// <summary>CPUUtilization → cpu_utilization, Invocation4XXErrors → invocation_4xx_errors.</summary>
    static string SnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var previous = i > 0 ? name[i - 1] : ' ';
            var next = i + 1 < name.Length ? name[i + 1] : ' ';
            var boundary = i > 0 && previous != ' ' && (
                (char.IsUpper(c) && (char.IsLower(previous) || (char.IsUpper(previous) && char.IsLower(next))))
                || (char.IsDigit(c) && char.IsLetter(previous)));
            if (boundary) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>One series' tiers. A lock per series: writers of different series never meet, and
    /// each tier remembers its newest bucket, so a hot path's value costs no lookup.</summary>
    internal sealed class Series(MetricKey key)
    {
        readonly Lock _lock = new();
        readonly Tier[] _tiers = Tiers.Select(t => new Tier(t.Seconds, (long)t.Retention.TotalSeconds)).ToArray();
        long _count;
        double _sum;
        bool _catalogueChanged = true;

        public MetricKey Key { get; } = key;
        public long Id { get; set; }
        public string Unit { get; set; } = "None";
        public DateTimeOffset LastUpdate { get; set; }

        public (long Count, double Sum) Totals { get { lock (_lock) return (_count, _sum); } }

        public void Add(DateTimeOffset at, double value, double count, bool highResolution)
        {
            var seconds = at.ToUnixTimeSeconds();
            lock (_lock)
            {
                _count += (long)count;
                _sum += value * count;
                Touch(at);
                for (var t = highResolution ? 0 : 1; t < _tiers.Length; t++) _tiers[t].BucketAt(seconds).Add(value, count);
            }
        }

        public void AddSet(DateTimeOffset at, double sampleCount, double sum, double min, double max, bool highResolution)
        {
            var seconds = at.ToUnixTimeSeconds();
            lock (_lock)
            {
                _count += (long)sampleCount;
                _sum += sum;
                Touch(at);
                for (var t = highResolution ? 0 : 1; t < _tiers.Length; t++) _tiers[t].BucketAt(seconds).AddSet(sampleCount, sum, min, max);
            }
        }

        void Touch(DateTimeOffset at)
        {
            if (at > LastUpdate)
            {
                LastUpdate = at;
                _catalogueChanged = true;
            }
        }

        public void Restore(int tier, long ts, MetricBucket bucket)
        {
            lock (_lock) _tiers[tier].Buckets[ts] = bucket;
        }

        /// <summary>The buckets of one tier from <paramref name="first"/> (inclusive) to <paramref name="to"/>
        /// (exclusive) in periods of <paramref name="period"/> seconds from <paramref name="first"/>, each
        /// period projected under the lock (a period of one bucket is projected as it is, without a copy).</summary>
        public (bool Any, List<(long Ts, T Value)> Periods) Periods<T>(int tier, long first, long to, int period, Func<MetricBucket, T?> project)
        {
            var result = new List<(long, T)>();
            lock (_lock)
            {
                var buckets = _tiers[tier].Buckets;
                var keys = buckets.Keys;
                var values = buckets.Values;
                // The first bucket at or after `first`, by binary search over the sorted keys.
                int lo = 0, hi = keys.Count;
                while (lo < hi)
                {
                    var mid = (lo + hi) / 2;
                    if (keys[mid] < first) lo = mid + 1;
                    else hi = mid;
                }
                var any = false;
                var current = long.MinValue;
                MetricBucket? single = null, merged = null;
                for (var i = lo; i < keys.Count && keys[i] < to; i++)
                {
                    any = true;
                    var p = first + (keys[i] - first) / period * period;
                    if (p != current)
                    {
                        Emit();
                        (current, single, merged) = (p, values[i], null);
                    }
                    else
                    {
                        if (merged is null)
                        {
                            merged = new MetricBucket();
                            merged.Merge(single!);
                        }
                        merged.Merge(values[i]);
                    }
                }
                Emit();
                return (any, result);

                void Emit()
                {
                    if (current != long.MinValue && project(merged ?? single!) is { } value) result.Add((current, value));
                }
            }
        }

        /// <summary>What changed since the last flush (copies), and the expired buckets dropped.</summary>
        public (bool Changed, List<(int Tier, long Ts, MetricBucket Bucket)> Dirty) TakeDirty(long now)
        {
            lock (_lock)
            {
                var dirty = new List<(int, long, MetricBucket)>();
                for (var t = 0; t < _tiers.Length; t++)
                {
                    var tier = _tiers[t];
                    tier.Expire(now);
                    foreach (var ts in tier.Dirty)
                        if (tier.Buckets.TryGetValue(ts, out var b)) dirty.Add((t, ts, b.Clone()));
                    tier.Flushed();
                }
                var changed = _catalogueChanged || dirty.Count > 0;
                _catalogueChanged = false;
                return (changed, dirty);
            }
        }
    }

    sealed class Tier(int width, long retention)
    {
        /// <summary>Sorted by time; values nearly always arrive at the end, and the oldest leave first.</summary>
        public readonly SortedList<long, MetricBucket> Buckets = [];
        public readonly HashSet<long> Dirty = [];
        long _lastTs = long.MinValue;
        MetricBucket? _last;

        public MetricBucket BucketAt(long seconds)
        {
            var ts = Floor(seconds, width);
            if (ts == _lastTs && _last is not null) return _last;
            if (!Buckets.TryGetValue(ts, out var bucket))
            {
                Buckets[ts] = bucket = new MetricBucket();
                Expire(seconds);
            }
            Dirty.Add(ts);
            if (ts >= _lastTs) (_lastTs, _last) = (ts, bucket);
            return bucket;
        }

        /// <summary>After a flush: the next value marks its bucket dirty again, even the newest one.</summary>
        public void Flushed()
        {
            Dirty.Clear();
            (_lastTs, _last) = (long.MinValue, null);
        }

        public void Expire(long now)
        {
            var before = now - retention;
            while (Buckets.Count > 0 && Buckets.Keys[0] is var oldest && oldest < before)
            {
                Buckets.RemoveAt(0);
                Dirty.Remove(oldest);
                if (oldest == _lastTs) (_lastTs, _last) = (long.MinValue, null);
            }
        }
    }
}

/// <summary>Writes the metrics to disk every few seconds on the injected clock, and once more at shutdown.</summary>
public sealed class MetricsFlusher(MetricsStore metrics, TimeProvider clock, ILogger<MetricsFlusher> log) : PeriodicService(clock, TimeSpan.FromSeconds(10), log)
{
    protected override string What => "Writing the metrics";

    protected override Task TickAsync(CancellationToken ct)
    {
        metrics.Flush();
        return Task.CompletedTask;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try { metrics.Flush(); }
        catch (Exception e) when (e is SqliteException or IOException) { log.LogWarning(e, "Metrics could not be written at shutdown"); }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<List<string>>))]
sealed partial class MetricsJson : System.Text.Json.Serialization.JsonSerializerContext;
