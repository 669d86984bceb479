using System.Text;
using Microsoft.Data.Sqlite;

namespace Strata.Server.Storage;

/// <summary>A log group as stored (CloudWatch Logs' terms; times in epoch milliseconds).</summary>
public sealed record LogGroupRow(long Id, string Account, string Name, long CreationTime, int? RetentionInDays, string? KmsKeyId, long StoredBytes,
    int MetricFilterCount = 0);

/// <summary>A log stream as stored. <see cref="Sequence"/> counts the batches put into it: the
/// upload sequence token AWS still returns, though it no longer checks it.</summary>
public sealed record LogStreamRow(long Id, long GroupId, string Name, long CreationTime, long? FirstEventTimestamp, long? LastEventTimestamp,
    long? LastIngestionTime, long Sequence, long StoredBytes);

/// <summary>One stored event. <see cref="Id"/> is its position in the store, which breaks ties
/// between events of the same timestamp so that reads and tokens are exact.</summary>
public sealed record LogEventRow(long Id, long StreamId, string StreamName, long Timestamp, long IngestionTime, string Message);

/// <summary>A metric filter as stored: its pattern's text and its one metric transformation
/// (CloudWatch Logs' terms; <see cref="CreationTime"/> in epoch milliseconds).</summary>
public sealed record LogMetricFilterRow(long GroupId, string GroupName, string Name, string Pattern, string MetricName, string MetricNamespace,
    string MetricValue, double? DefaultValue, string? Unit, IReadOnlyList<KeyValuePair<string, string>> Dimensions, long CreationTime);

/// <summary>What putting a metric filter did.</summary>
public enum MetricFilterPut { Created, Replaced, LimitExceeded, NoGroup }

/// <summary>Events a call stored in one group (the group's account, id and name with them), for
/// what acts on events as they arrive (metric filters).</summary>
public sealed record AppendedLogEvents(string Account, long GroupId, IReadOnlyList<(long Timestamp, string Message)> Events);

/// <summary>Told of events once they are stored.</summary>
public interface ILogEventsObserver
{
    void Appended(AppendedLogEvents appended);
}

/// <summary>A position between events: everything ordered by (timestamp, id).</summary>
public readonly record struct LogCursor(long Timestamp, long Id);

/// <summary>An event waiting to be written by <see cref="LogIngestion"/> into a group and stream
/// that are created on demand.</summary>
public readonly record struct PendingLogEvent(string Account, string Group, string Stream, long Timestamp, string Message);

/// <summary>
/// CloudWatch Logs' groups, streams and events on SQLite, in a database file of its own
/// (<c>logs.db</c>) so that heavy log writes never contend with the state database's single
/// writer. WAL mode; synchronous=NORMAL, because a log line lost to a power cut (never to a
/// process crash: WAL keeps committed transactions) is not worth an fsync per batch of the
/// container output Strata ingests continuously. Events are indexed by (stream, time) for
/// GetLogEvents and by (group, time) for FilterLogEvents and retention.
/// </summary>
public sealed class LogStore : IDisposable
{
    // Append only: each entry is one schema migration, applied once, in order.
    static readonly string[] Migrations =
    [
        """
        CREATE TABLE log_groups (
            id           INTEGER PRIMARY KEY,
            account      TEXT NOT NULL,
            name         TEXT NOT NULL,
            created      INTEGER NOT NULL,
            retention    INTEGER,
            kms_key_id   TEXT,
            stored_bytes INTEGER NOT NULL DEFAULT 0,
            UNIQUE (account, name)
        );
        CREATE TABLE log_group_tags (
            group_id INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
            key      TEXT NOT NULL,
            value    TEXT NOT NULL,
            PRIMARY KEY (group_id, key)
        ) WITHOUT ROWID;
        CREATE TABLE log_streams (
            id             INTEGER PRIMARY KEY,
            group_id       INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
            name           TEXT NOT NULL,
            created        INTEGER NOT NULL,
            first_event    INTEGER,
            last_event     INTEGER,
            last_ingestion INTEGER,
            sequence       INTEGER NOT NULL DEFAULT 0,
            stored_bytes   INTEGER NOT NULL DEFAULT 0,
            UNIQUE (group_id, name)
        );
        CREATE TABLE log_events (
            id        INTEGER PRIMARY KEY,
            stream_id INTEGER NOT NULL,
            group_id  INTEGER NOT NULL,
            ts        INTEGER NOT NULL,
            ingested  INTEGER NOT NULL,
            message   TEXT NOT NULL
        );
        CREATE INDEX log_events_by_stream ON log_events (stream_id, ts, id);
        CREATE INDEX log_events_by_group ON log_events (group_id, ts, id);
        """,
        // Metric filters: one metric transformation each (the model allows no more); dimensions
        // as a JSON object of dimension name to field.
        """
        CREATE TABLE log_metric_filters (
            group_id         INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
            name             TEXT NOT NULL,
            pattern          TEXT NOT NULL,
            metric_name      TEXT NOT NULL,
            metric_namespace TEXT NOT NULL,
            metric_value     TEXT NOT NULL,
            default_value    REAL,
            unit             TEXT,
            dimensions       TEXT NOT NULL,
            created          INTEGER NOT NULL,
            PRIMARY KEY (group_id, name)
        ) WITHOUT ROWID;
        """,
    ];

    readonly string _connectionString;
    readonly SqliteConnection _writer;
    readonly Lock _writeLock = new();

    public LogStore(string path)
    {
        _connectionString = SqliteFiles.ConnectionString(path);
        _writer = Open();
        lock (_writeLock) SqliteFiles.Migrate(_writer, Migrations);
    }

    SqliteConnection Open() => SqliteFiles.Open(_connectionString, durable: false);

    public void Dispose()
    {
        lock (_writeLock) _writer.Dispose();
    }

    // ---- groups ----

    /// <summary>Creates a group; false when the account already has one by that name.</summary>
    public bool CreateGroup(string account, string name, long creationTime, string? kmsKeyId, IReadOnlyDictionary<string, string>? tags)
        => Write(tx =>
        {
            var id = InsertGroup(tx, account, name, creationTime, kmsKeyId);
            if (id is null) return false;
            foreach (var (k, v) in tags ?? new Dictionary<string, string>()) SetTag(tx, id.Value, k, v);
            return true;
        });

    static long? InsertGroup(SqliteTransaction tx, string account, string name, long creationTime, string? kmsKeyId)
    {
        using var cmd = Command(tx, "INSERT INTO log_groups (account, name, created, kms_key_id) VALUES ($a, $n, $c, $k) ON CONFLICT DO NOTHING RETURNING id");
        cmd.Parameters.AddWithValue("$a", account);
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$c", creationTime);
        cmd.Parameters.AddWithValue("$k", (object?)kmsKeyId ?? DBNull.Value);
        return cmd.ExecuteScalar() is long id ? id : null;
    }

    public LogGroupRow? GetGroup(string account, string name)
        => Read(c => Groups(c, "WHERE account = $a AND name = $n", ("$a", account), ("$n", name)).FirstOrDefault());

    /// <summary>Deletes a group with its streams, events and tags; false when there is none.</summary>
    public bool DeleteGroup(string account, string name)
        => Write(tx =>
        {
            if (GroupId(tx, account, name) is not { } id) return false;
            Exec(tx.Connection!, tx, "DELETE FROM log_events WHERE group_id = $g; DELETE FROM log_groups WHERE id = $g;", ("$g", id));
            return true;
        });

    /// <summary>An account's groups by name, after <paramref name="after"/>: those starting with
    /// <paramref name="prefix"/>, or containing <paramref name="contains"/> (any case).</summary>
    public List<LogGroupRow> ListGroups(string account, string? prefix, string? contains, string? after, int limit)
        => Read(c =>
        {
            var where = new StringBuilder("WHERE account = $a");
            if (prefix is not null) where.Append(" AND substr(name, 1, length($p)) = $p");
            if (contains is not null) where.Append(" AND instr(lower(name), lower($s)) > 0");
            if (after is not null) where.Append(" AND name > $after");
            where.Append(" ORDER BY name LIMIT $limit");
            return Groups(c, where.ToString(), ("$a", account), ("$p", prefix), ("$s", contains), ("$after", after), ("$limit", limit));
        });

    /// <summary>Sets (or, with null, removes) a group's retention; false when there is no group.</summary>
    public bool SetRetention(string account, string name, int? days)
        => Write(tx =>
        {
            using var cmd = Command(tx, "UPDATE log_groups SET retention = $r WHERE account = $a AND name = $n");
            cmd.Parameters.AddWithValue("$r", (object?)days ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$a", account);
            cmd.Parameters.AddWithValue("$n", name);
            return cmd.ExecuteNonQuery() > 0;
        });

    public Dictionary<string, string> Tags(long groupId)
        => Read(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT key, value FROM log_group_tags WHERE group_id = $g ORDER BY key";
            cmd.Parameters.AddWithValue("$g", groupId);
            using var r = cmd.ExecuteReader();
            var tags = new Dictionary<string, string>(StringComparer.Ordinal);
            while (r.Read()) tags[r.GetString(0)] = r.GetString(1);
            return tags;
        });

    /// <summary>Adds or replaces tags and removes others, in one transaction, unless the result
    /// would exceed <paramref name="maxTags"/> (then nothing changes and the answer is false).</summary>
    public bool ChangeTags(long groupId, IReadOnlyDictionary<string, string> set, IEnumerable<string> remove, int maxTags)
        => Write(tx =>
        {
            foreach (var key in remove) Exec(tx.Connection!, tx, "DELETE FROM log_group_tags WHERE group_id = $g AND key = $k", ("$g", groupId), ("$k", key));
            foreach (var (k, v) in set) SetTag(tx, groupId, k, v);
            // Too many: the transaction is disposed uncommitted, so nothing changes.
            return Convert.ToInt64(Scalar(tx.Connection!, tx, "SELECT count(*) FROM log_group_tags WHERE group_id = $g", ("$g", groupId))) <= maxTags;
        }, commitOnlyIf: ok => ok);

    static void SetTag(SqliteTransaction tx, long groupId, string key, string value)
        => Exec(tx.Connection!, tx, "INSERT INTO log_group_tags (group_id, key, value) VALUES ($g, $k, $v) ON CONFLICT (group_id, key) DO UPDATE SET value = $v",
            ("$g", groupId), ("$k", key), ("$v", value));

    // ---- streams ----

    /// <summary>Creates a stream; false when the group already has one by that name.</summary>
    public bool CreateStream(long groupId, string name, long creationTime)
        => Write(tx => InsertStream(tx, groupId, name, creationTime) is not null);

    static long? InsertStream(SqliteTransaction tx, long groupId, string name, long creationTime)
    {
        using var cmd = Command(tx, "INSERT INTO log_streams (group_id, name, created) VALUES ($g, $n, $c) ON CONFLICT DO NOTHING RETURNING id");
        cmd.Parameters.AddWithValue("$g", groupId);
        cmd.Parameters.AddWithValue("$n", name);
        cmd.Parameters.AddWithValue("$c", creationTime);
        return cmd.ExecuteScalar() is long id ? id : null;
    }

    public LogStreamRow? GetStream(long groupId, string name)
        => Read(c => Streams(c, "WHERE group_id = $g AND name = $n", ("$g", groupId), ("$n", name)).FirstOrDefault());

    public bool DeleteStream(long groupId, string name)
        => Write(tx =>
        {
            var id = Scalar(tx.Connection!, tx, "SELECT id FROM log_streams WHERE group_id = $g AND name = $n", ("$g", groupId), ("$n", name));
            if (id is not long streamId) return false;
            var bytes = Convert.ToInt64(Scalar(tx.Connection!, tx, "SELECT stored_bytes FROM log_streams WHERE id = $s", ("$s", streamId)));
            Exec(tx.Connection!, tx, "DELETE FROM log_events WHERE stream_id = $s; DELETE FROM log_streams WHERE id = $s; UPDATE log_groups SET stored_bytes = max(0, stored_bytes - $b) WHERE id = $g;",
                ("$s", streamId), ("$b", bytes), ("$g", groupId));
            return true;
        });

    /// <summary>A page of a group's streams: by name, or by last event time (streams without
    /// events first, as the oldest), either way round; <paramref name="offset"/> streams skipped.</summary>
    public List<LogStreamRow> ListStreams(long groupId, string? prefix, bool byLastEventTime, bool descending, int offset, int limit)
    {
        var dir = descending ? "DESC" : "ASC";
        var order = byLastEventTime ? $"ORDER BY coalesce(last_event, -1) {dir}, name {dir}" : $"ORDER BY name {dir}";
        var where = "WHERE group_id = $g" + (prefix is null ? "" : " AND substr(name, 1, length($p)) = $p");
        return Read(c => Streams(c, $"{where} {order} LIMIT $limit OFFSET $offset", ("$g", groupId), ("$p", prefix), ("$limit", limit), ("$offset", offset)));
    }

    /// <summary>A group's streams by name, all of them or those named or those with a prefix.</summary>
    public List<LogStreamRow> StreamsOf(long groupId, IReadOnlyCollection<string>? names, string? prefix)
    {
        var all = Read(c => Streams(c, "WHERE group_id = $g" + (prefix is null ? "" : " AND substr(name, 1, length($p)) = $p") + " ORDER BY name",
            ("$g", groupId), ("$p", prefix)));
        return names is null ? all : all.Where(s => names.Contains(s.Name)).ToList();
    }

    // ---- events ----

    /// <summary>Appends events (already in chronological order) to a stream; returns the
    /// stream's new sequence number.</summary>
    public long Append(long groupId, long streamId, IReadOnlyList<(long Timestamp, string Message)> events, long ingestionTime)
        => Write(tx => AppendIn(tx, groupId, streamId, events, ingestionTime));

    static long AppendIn(SqliteTransaction tx, long groupId, long streamId, IReadOnlyList<(long Timestamp, string Message)> events, long ingestionTime)
    {
        using var insert = Command(tx, "INSERT INTO log_events (stream_id, group_id, ts, ingested, message) VALUES ($s, $g, $t, $i, $m)");
        var s = insert.Parameters.Add("$s", SqliteType.Integer);
        var g = insert.Parameters.Add("$g", SqliteType.Integer);
        var t = insert.Parameters.Add("$t", SqliteType.Integer);
        var i = insert.Parameters.Add("$i", SqliteType.Integer);
        var m = insert.Parameters.Add("$m", SqliteType.Text);
        s.Value = streamId;
        g.Value = groupId;
        i.Value = ingestionTime;
        long bytes = 0, min = long.MaxValue, max = long.MinValue;
        foreach (var (timestamp, message) in events)
        {
            t.Value = timestamp;
            m.Value = message;
            insert.ExecuteNonQuery();
            bytes += Encoding.UTF8.GetByteCount(message);
            min = Math.Min(min, timestamp);
            max = Math.Max(max, timestamp);
        }
        if (events.Count == 0) return Convert.ToInt64(Scalar(tx.Connection!, tx, "SELECT sequence FROM log_streams WHERE id = $s", ("$s", streamId)));
        Exec(tx.Connection!, tx, "UPDATE log_groups SET stored_bytes = stored_bytes + $b WHERE id = $g", ("$b", bytes), ("$g", groupId));
        return Convert.ToInt64(Scalar(tx.Connection!, tx, """
            UPDATE log_streams SET first_event = min(coalesce(first_event, $min), $min), last_event = max(coalesce(last_event, $max), $max),
                last_ingestion = $i, sequence = sequence + 1, stored_bytes = stored_bytes + $b
            WHERE id = $s RETURNING sequence
            """, ("$min", min), ("$max", max), ("$i", ingestionTime), ("$b", bytes), ("$s", streamId)));
    }

    /// <summary>Writes events of Strata's own components, creating their groups and streams on
    /// demand, all in one transaction; answers what went into each stream.</summary>
    public List<AppendedLogEvents> AppendOwn(IReadOnlyList<PendingLogEvent> batch, long ingestionTime)
        => Write(tx =>
        {
            var appended = new List<AppendedLogEvents>();
            foreach (var stream in batch.GroupBy(e => (e.Account, e.Group, e.Stream)))
            {
                var groupId = InsertGroup(tx, stream.Key.Account, stream.Key.Group, ingestionTime, null)
                    ?? GroupId(tx, stream.Key.Account, stream.Key.Group)!.Value;
                var streamId = InsertStream(tx, groupId, stream.Key.Stream, ingestionTime)
                    ?? (long)Scalar(tx.Connection!, tx, "SELECT id FROM log_streams WHERE group_id = $g AND name = $n", ("$g", groupId), ("$n", stream.Key.Stream))!;
                var events = stream.Select(e => (e.Timestamp, e.Message)).ToList();
                AppendIn(tx, groupId, streamId, events, ingestionTime);
                appended.Add(new AppendedLogEvents(stream.Key.Account, groupId, events));
            }
            return appended;
        });

    /// <summary>A stream's events with <paramref name="start"/> ≤ timestamp &lt; <paramref name="end"/>:
    /// forward, the first <paramref name="limit"/> after <paramref name="cursor"/>; backward, the last
    /// <paramref name="limit"/> before it. Always oldest first.</summary>
    public List<LogEventRow> ReadStream(LogStreamRow stream, long? start, long? end, LogCursor? cursor, bool forward, int limit)
    {
        var where = new StringBuilder("WHERE stream_id = $s");
        if (start is not null) where.Append(" AND ts >= $start");
        if (end is not null) where.Append(" AND ts < $end");
        if (cursor is not null) where.Append(forward ? " AND (ts, id) > ($cts, $cid)" : " AND (ts, id) < ($cts, $cid)");
        where.Append(forward ? " ORDER BY ts, id" : " ORDER BY ts DESC, id DESC").Append(" LIMIT $limit");
        var rows = Read(c => Events(c, "SELECT id, stream_id, ts, ingested, message FROM log_events " + where, _ => stream.Name,
            ("$s", stream.Id), ("$start", start), ("$end", end), ("$cts", cursor?.Timestamp), ("$cid", cursor?.Id), ("$limit", limit)));
        if (!forward) rows.Reverse();
        return rows;
    }

    /// <summary>A group's events in (timestamp, id) order after <paramref name="cursor"/>, with
    /// <paramref name="start"/> ≤ timestamp ≤ <paramref name="end"/>, in the given streams (all: null).</summary>
    public List<LogEventRow> ReadGroup(long groupId, IReadOnlyDictionary<long, string> streams, bool allStreams, long? start, long? end, LogCursor? cursor, int limit)
    {
        var where = new StringBuilder("WHERE group_id = $g");
        if (start is not null) where.Append(" AND ts >= $start");
        if (end is not null) where.Append(" AND ts <= $end");
        if (cursor is not null) where.Append(" AND (ts, id) > ($cts, $cid)");
        if (!allStreams) where.Append(" AND stream_id IN (").AppendJoin(',', streams.Keys).Append(')');
        where.Append(" ORDER BY ts, id LIMIT $limit");
        return Read(c => Events(c, "SELECT id, stream_id, ts, ingested, message FROM log_events " + where,
            id => streams.TryGetValue(id, out var name) ? name : "",
            ("$g", groupId), ("$start", start), ("$end", end), ("$cts", cursor?.Timestamp), ("$cid", cursor?.Id), ("$limit", limit)));
    }

    /// <summary>A group's events stored after the one with id <paramref name="afterId"/>, in the
    /// order they were stored (a tail that misses nothing, whatever the events' timestamps).</summary>
    public List<LogEventRow> ReadGroupStored(long groupId, IReadOnlyDictionary<long, string> streams, long afterId, int limit)
        => Read(c => Events(c, "SELECT id, stream_id, ts, ingested, message FROM log_events WHERE id > $after AND group_id = $g ORDER BY id LIMIT $limit",
            id => streams.TryGetValue(id, out var name) ? name : "", ("$after", afterId), ("$g", groupId), ("$limit", limit)));

    /// <summary>The id of the group's newest stored event (0: none).</summary>
    public long LastStoredId(long groupId)
        => Read(c => Scalar(c, null, "SELECT max(id) FROM log_events WHERE group_id = $g", ("$g", groupId)) is long id ? id : 0);

    /// <summary>Deletes the events older than their group's retention at <paramref name="nowMs"/>;
    /// returns how many.</summary>
    public int ApplyRetention(long nowMs)
    {
        var groups = Read(c => Groups(c, "WHERE retention IS NOT NULL"));
        var deleted = 0;
        foreach (var group in groups)
        {
            var cutoff = nowMs - group.RetentionInDays!.Value * 86_400_000L;
            deleted += Write(tx =>
            {
                using var sizes = Command(tx, "SELECT stream_id, sum(length(CAST(message AS BLOB))) FROM log_events WHERE group_id = $g AND ts < $cut GROUP BY stream_id");
                sizes.Parameters.AddWithValue("$g", group.Id);
                sizes.Parameters.AddWithValue("$cut", cutoff);
                var perStream = new List<(long Stream, long Bytes)>();
                using (var r = sizes.ExecuteReader())
                    while (r.Read()) perStream.Add((r.GetInt64(0), r.GetInt64(1)));
                if (perStream.Count == 0) return 0;
                foreach (var (stream, bytes) in perStream)
                    Exec(tx.Connection!, tx, "UPDATE log_streams SET stored_bytes = max(0, stored_bytes - $b) WHERE id = $s", ("$b", bytes), ("$s", stream));
                Exec(tx.Connection!, tx, "UPDATE log_groups SET stored_bytes = max(0, stored_bytes - $b) WHERE id = $g", ("$b", perStream.Sum(p => p.Bytes)), ("$g", group.Id));
                using var delete = Command(tx, "DELETE FROM log_events WHERE group_id = $g AND ts < $cut");
                delete.Parameters.AddWithValue("$g", group.Id);
                delete.Parameters.AddWithValue("$cut", cutoff);
                return delete.ExecuteNonQuery();
            });
        }
        return deleted;
    }

    // ---- metric filters ----

    /// <summary>Creates or replaces a group's metric filter (a replaced one keeps its creation
    /// time), unless it would be the group's <paramref name="maxPerGroup"/>+1st.</summary>
    public MetricFilterPut PutMetricFilter(LogMetricFilterRow filter, int maxPerGroup)
        => Write(tx =>
        {
            // The group may have gone since the caller looked it up.
            if (Scalar(tx.Connection!, tx, "SELECT 1 FROM log_groups WHERE id = $g", ("$g", filter.GroupId)) is null) return MetricFilterPut.NoGroup;
            var exists = Scalar(tx.Connection!, tx, "SELECT 1 FROM log_metric_filters WHERE group_id = $g AND name = $n", ("$g", filter.GroupId), ("$n", filter.Name)) is not null;
            if (!exists && Convert.ToInt64(Scalar(tx.Connection!, tx, "SELECT count(*) FROM log_metric_filters WHERE group_id = $g", ("$g", filter.GroupId))) >= maxPerGroup)
                return MetricFilterPut.LimitExceeded;
            var dimensions = new System.Text.Json.Nodes.JsonObject(filter.Dimensions.Select(d => KeyValuePair.Create(d.Key, (System.Text.Json.Nodes.JsonNode?)d.Value)));
            Exec(tx.Connection!, tx, """
                INSERT INTO log_metric_filters (group_id, name, pattern, metric_name, metric_namespace, metric_value, default_value, unit, dimensions, created)
                VALUES ($g, $n, $p, $mn, $ns, $v, $d, $u, $dims, $c)
                ON CONFLICT (group_id, name) DO UPDATE SET pattern = $p, metric_name = $mn, metric_namespace = $ns, metric_value = $v,
                    default_value = $d, unit = $u, dimensions = $dims
                """, ("$g", filter.GroupId), ("$n", filter.Name), ("$p", filter.Pattern), ("$mn", filter.MetricName), ("$ns", filter.MetricNamespace),
                ("$v", filter.MetricValue), ("$d", filter.DefaultValue), ("$u", filter.Unit), ("$dims", dimensions.ToJsonString()), ("$c", filter.CreationTime));
            return exists ? MetricFilterPut.Replaced : MetricFilterPut.Created;
        });

    /// <summary>Deletes a group's metric filter; false when it has none by that name.</summary>
    public bool DeleteMetricFilter(long groupId, string name)
        => Write(tx =>
        {
            using var cmd = Command(tx, "DELETE FROM log_metric_filters WHERE group_id = $g AND name = $n");
            cmd.Parameters.AddWithValue("$g", groupId);
            cmd.Parameters.AddWithValue("$n", name);
            return cmd.ExecuteNonQuery() > 0;
        });

    /// <summary>A group's metric filters by name.</summary>
    public List<LogMetricFilterRow> MetricFiltersOf(long groupId)
        => Read(c => MetricFilters(c, "WHERE f.group_id = $g ORDER BY f.name", ("$g", groupId)));

    /// <summary>An account's metric filters in (group name, filter name) order after
    /// <paramref name="after"/>: of one group (and with a name prefix), or of all its groups; of one
    /// metric, when <paramref name="metric"/> says which.</summary>
    public List<LogMetricFilterRow> ListMetricFilters(string account, long? groupId, string? namePrefix, (string Namespace, string Name)? metric,
        (string Group, string Filter)? after, int limit)
        => Read(c =>
        {
            var where = new StringBuilder("WHERE g.account = $a");
            if (groupId is not null) where.Append(" AND f.group_id = $g");
            if (namePrefix is not null) where.Append(" AND substr(f.name, 1, length($p)) = $p");
            if (metric is not null) where.Append(" AND f.metric_namespace = $ns AND f.metric_name = $mn");
            if (after is not null) where.Append(" AND (g.name, f.name) > ($ag, $af)");
            where.Append(" ORDER BY g.name, f.name LIMIT $limit");
            return MetricFilters(c, where.ToString(), ("$a", account), ("$g", groupId), ("$p", namePrefix), ("$ns", metric?.Namespace), ("$mn", metric?.Name),
                ("$ag", after?.Group), ("$af", after?.Filter), ("$limit", limit));
        });

    static List<LogMetricFilterRow> MetricFilters(SqliteConnection c, string where, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT f.group_id, g.name, f.name, f.pattern, f.metric_name, f.metric_namespace, f.metric_value, f.default_value, f.unit, f.dimensions, f.created
            FROM log_metric_filters f JOIN log_groups g ON g.id = f.group_id
            """ + " " + where;
        Bind(cmd, args);
        using var r = cmd.ExecuteReader();
        var list = new List<LogMetricFilterRow>();
        while (r.Read())
        {
            var dimensions = System.Text.Json.Nodes.JsonNode.Parse(r.GetString(9))!.AsObject()
                .Select(d => KeyValuePair.Create(d.Key, d.Value!.GetValue<string>())).ToList();
            list.Add(new LogMetricFilterRow(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
                r.IsDBNull(7) ? null : r.GetDouble(7), r.IsDBNull(8) ? null : r.GetString(8), dimensions, r.GetInt64(10)));
        }
        return list;
    }

    // ---- plumbing ----

    static long? GroupId(SqliteTransaction tx, string account, string name)
        => Scalar(tx.Connection!, tx, "SELECT id FROM log_groups WHERE account = $a AND name = $n", ("$a", account), ("$n", name)) as long?;

    T Read<T>(Func<SqliteConnection, T> work)
    {
        using var connection = Open();
        return work(connection);
    }

    T Write<T>(Func<SqliteTransaction, T> work, Func<T, bool>? commitOnlyIf = null)
    {
        lock (_writeLock)
        {
            using var tx = _writer.BeginTransaction();
            var result = work(tx);
            if (commitOnlyIf is null || commitOnlyIf(result)) tx.Commit();
            return result;
        }
    }

    static List<LogGroupRow> Groups(SqliteConnection c, string where, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, account, name, created, retention, kms_key_id, stored_bytes, "
            + "(SELECT count(*) FROM log_metric_filters f WHERE f.group_id = log_groups.id) FROM log_groups " + where;
        Bind(cmd, args);
        using var r = cmd.ExecuteReader();
        var list = new List<LogGroupRow>();
        while (r.Read())
            list.Add(new LogGroupRow(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetInt32(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.GetInt64(6), r.GetInt32(7)));
        return list;
    }

    static List<LogStreamRow> Streams(SqliteConnection c, string where, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, group_id, name, created, first_event, last_event, last_ingestion, sequence, stored_bytes FROM log_streams " + where;
        Bind(cmd, args);
        using var r = cmd.ExecuteReader();
        var list = new List<LogStreamRow>();
        while (r.Read())
            list.Add(new LogStreamRow(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetInt64(4),
                r.IsDBNull(5) ? null : r.GetInt64(5), r.IsDBNull(6) ? null : r.GetInt64(6), r.GetInt64(7), r.GetInt64(8)));
        return list;
    }

    static List<LogEventRow> Events(SqliteConnection c, string sql, Func<long, string> streamName, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        Bind(cmd, args);
        using var r = cmd.ExecuteReader();
        var list = new List<LogEventRow>();
        while (r.Read())
        {
            var stream = r.GetInt64(1);
            list.Add(new LogEventRow(r.GetInt64(0), stream, streamName(stream), r.GetInt64(2), r.GetInt64(3), r.GetString(4)));
        }
        return list;
    }

    static void Bind(SqliteCommand cmd, (string Name, object? Value)[] args)
    {
        // Parameters a statement does not use are ignored by SQLite's binding.
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
    }

    static SqliteCommand Command(SqliteTransaction tx, string sql)
    {
        var cmd = tx.Connection!.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    static void Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        Bind(cmd, args);
        cmd.ExecuteNonQuery();
    }

    static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        Bind(cmd, args);
        return cmd.ExecuteScalar();
    }
}
