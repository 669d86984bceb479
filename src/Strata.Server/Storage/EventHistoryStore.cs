using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.Data.Sqlite;
using Strata.Server.Protocol;

namespace Strata.Server.Storage;

/// <summary>One stored management event, as LookupEvents answers it.</summary>
public sealed record StoredEvent(long Seq, DateTimeOffset EventTime, string EventId, string EventName, string EventSource, string? Username,
    string? AccessKeyId, bool ReadOnly, IReadOnlyList<AuditResource> Resources, string Json);

/// <summary>
/// CloudTrail's event history in a SQLite database of its own (the audit stage writes with every
/// request): one row per management event with the columns LookupEvents filters on, an index
/// per lookup attribute, resources in a table of their own, and the record itself compressed
/// (Brotli: a record is a few hundred bytes of repetitive JSON). Bounded by age (90 days, as
/// AWS keeps it) and by count.
/// </summary>
public sealed class EventHistoryStore : IDisposable
{
    static readonly string[] Migrations =
    [
        """
        CREATE TABLE events (
            seq           INTEGER PRIMARY KEY,
            account       TEXT NOT NULL,
            time          INTEGER NOT NULL,
            event_id      TEXT NOT NULL,
            event_name    TEXT NOT NULL,
            event_source  TEXT NOT NULL,
            username      TEXT,
            access_key_id TEXT,
            read_only     INTEGER NOT NULL,
            record        BLOB NOT NULL
        );
        CREATE INDEX events_by_time ON events (account, time, seq);
        CREATE INDEX events_by_name ON events (account, event_name, time, seq);
        CREATE INDEX events_by_user ON events (account, username, time, seq);
        CREATE INDEX events_by_source ON events (account, event_source, time, seq);
        CREATE INDEX events_by_key ON events (account, access_key_id, time, seq);
        CREATE INDEX events_by_id ON events (event_id);
        CREATE TABLE event_resources (
            seq  INTEGER NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
            type TEXT NOT NULL,
            name TEXT NOT NULL
        );
        CREATE INDEX resources_of_event ON event_resources (seq);
        CREATE INDEX resources_by_name ON event_resources (name, seq);
        CREATE INDEX resources_by_type ON event_resources (type, seq);
        """,
    ];

    /// <summary>How long AWS keeps event history.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(90);

    readonly string _connectionString;
    readonly SqliteConnection _writer;
    readonly Lock _writeLock = new();

    public EventHistoryStore(string path)
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

    /// <summary>Appends management events in one transaction.</summary>
    public void Append(IReadOnlyList<AuditRecord> records)
    {
        lock (_writeLock)
        {
            using var tx = _writer.BeginTransaction();
            using var insert = _writer.CreateCommand();
            insert.Transaction = tx;
            insert.CommandText = """
                INSERT INTO events (account, time, event_id, event_name, event_source, username, access_key_id, read_only, record)
                VALUES ($account, $time, $id, $name, $source, $user, $key, $ro, $record) RETURNING seq;
                """;
            var p = new[] { "$account", "$time", "$id", "$name", "$source", "$user", "$key", "$ro", "$record" }.Select(n => insert.Parameters.Add(n, SqliteType.Text)).ToArray();
            p[1].SqliteType = p[7].SqliteType = SqliteType.Integer;
            p[8].SqliteType = SqliteType.Blob;
            using var resource = _writer.CreateCommand();
            resource.Transaction = tx;
            resource.CommandText = "INSERT INTO event_resources (seq, type, name) VALUES ($seq, $type, $name);";
            var seqParameter = resource.Parameters.Add("$seq", SqliteType.Integer);
            var typeParameter = resource.Parameters.Add("$type", SqliteType.Text);
            var nameParameter = resource.Parameters.Add("$name", SqliteType.Text);
            foreach (var r in records)
            {
                p[0].Value = r.Account;
                p[1].Value = r.EventTime.ToUnixTimeMilliseconds();
                p[2].Value = r.EventId;
                p[3].Value = r.EventName;
                p[4].Value = r.EventSource;
                p[5].Value = (object?)r.Username ?? DBNull.Value;
                p[6].Value = (object?)r.AccessKeyId ?? DBNull.Value;
                p[7].Value = r.ReadOnly ? 1 : 0;
                p[8].Value = Compress(r.Json);
                var seq = (long)insert.ExecuteScalar()!;
                foreach (var res in r.Resources)
                {
                    seqParameter.Value = seq;
                    typeParameter.Value = res.Type;
                    nameParameter.Value = res.Name;
                    resource.ExecuteNonQuery();
                }
            }
            tx.Commit();
        }
    }

    /// <summary>Deletes events older than <paramref name="before"/>, and the oldest beyond
    /// <paramref name="maxEvents"/>; returns how many went.</summary>
    public int Trim(DateTimeOffset before, long maxEvents)
    {
        lock (_writeLock)
        {
            using var command = _writer.CreateCommand();
            command.CommandText = """
                DELETE FROM events WHERE time < $before;
                DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - $max;
                """;
            command.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$max", maxEvents);
            return command.ExecuteNonQuery();
        }
    }

    /// <summary>The lookup attributes and the column (or resource query) each one filters.</summary>
    static string? Condition(string attribute) => attribute switch
    {
        "EventId" => "event_id = $value",
        "EventName" => "event_name = $value",
        "Username" => "username = $value",
        "EventSource" => "event_source = $value",
        "AccessKeyId" => "access_key_id = $value",
        "ReadOnly" => "read_only = $value",
        "ResourceName" => "seq IN (SELECT seq FROM event_resources WHERE name = $value)",
        "ResourceType" => "seq IN (SELECT seq FROM event_resources WHERE type = $value)",
        _ => null,
    };

    public static bool IsLookupAttribute(string attribute) => Condition(attribute) is not null;

    /// <summary>An account's events between two times, newest first, after the position
    /// <paramref name="after"/> (the last one of the previous page), filtered by at most one attribute.</summary>
    public List<StoredEvent> Lookup(string account, (string Attribute, string Value)? filter, DateTimeOffset start, DateTimeOffset end, (long Time, long Seq)? after, int limit)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        var where = new StringBuilder("account = $account AND time >= $start AND time <= $end");
        if (after is not null) where.Append(" AND (time < $afterTime OR (time = $afterTime AND seq < $afterSeq))");
        if (filter is { } f) where.Append(" AND ").Append(Condition(f.Attribute));
        command.CommandText = $"SELECT seq, time, event_id, event_name, event_source, username, access_key_id, read_only, record FROM events WHERE {where} ORDER BY time DESC, seq DESC LIMIT $limit;";
        command.Parameters.AddWithValue("$account", account);
        command.Parameters.AddWithValue("$start", start.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$end", end.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$limit", limit);
        if (after is { } a)
        {
            command.Parameters.AddWithValue("$afterTime", a.Time);
            command.Parameters.AddWithValue("$afterSeq", a.Seq);
        }
        if (filter is { } g)
            command.Parameters.AddWithValue("$value", g.Attribute == "ReadOnly" ? (g.Value.Equals("true", StringComparison.OrdinalIgnoreCase) ? 1 : 0) : g.Value);
        var rows = new List<(long Seq, long Time, string Id, string Name, string Source, string? User, string? Key, bool Ro, byte[] Record)>();
        using (var reader = command.ExecuteReader())
            while (reader.Read())
                rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetInt64(7) != 0, (byte[])reader[8]));
        var resources = new Dictionary<long, List<AuditResource>>();
        if (rows.Count > 0)
        {
            using var query = connection.CreateCommand();
            query.CommandText = $"SELECT seq, type, name FROM event_resources WHERE seq IN ({string.Join(',', rows.Select(r => r.Seq.ToString(CultureInfo.InvariantCulture)))});";
            using var reader = query.ExecuteReader();
            while (reader.Read())
            {
                if (!resources.TryGetValue(reader.GetInt64(0), out var list)) resources[reader.GetInt64(0)] = list = [];
                list.Add(new AuditResource(reader.GetString(1), reader.GetString(2)));
            }
        }
        return rows.Select(r => new StoredEvent(r.Seq, DateTimeOffset.FromUnixTimeMilliseconds(r.Time), r.Id, r.Name, r.Source, r.User, r.Key, r.Ro,
            resources.TryGetValue(r.Seq, out var list) ? list : [], Decompress(r.Record))).ToList();
    }

    static byte[] Compress(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(bytes.Length)];
        return BrotliEncoder.TryCompress(bytes, buffer, out var written, quality: 2, window: 22) ? buffer[..written] : throw new InvalidOperationException("Brotli failed");
    }

    static string Decompress(byte[] data)
    {
        using var input = new MemoryStream(data);
        using var brotli = new BrotliStream(input, CompressionMode.Decompress);
        using var reader = new StreamReader(brotli, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
