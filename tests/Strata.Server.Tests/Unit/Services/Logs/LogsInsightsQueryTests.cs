using Strata.Server.Services.Logs;

namespace Strata.Server.Tests.Unit;

/// <summary>The Logs Insights subset on its own: commands over a handful of events, and the
/// queries it refuses.</summary>
public sealed class LogsInsightsQueryTests
{
    static readonly long T0 = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    static readonly InsightsEvent[] Events =
    [
        new("111111111111:/app", "web-1", T0, T0, """{"status":200,"ms":10,"user":{"name":"ann"}}""", "p1"),
        new("111111111111:/app", "web-2", T0 + 60_000, T0, """{"status":500,"ms":30,"user":{"name":"bob"}}""", "p2"),
        new("111111111111:/app", "web-1", T0 + 360_000, T0, """{"status":200,"ms":50,"tags":["a","b"]}""", "p3"),
        new("111111111111:/app", "web-2", T0 + 420_000, T0, "ERROR | pipes | in text", "p4"),
    ];

    static List<Dictionary<string, string>> Run(string query, int limit = 1000)
        => InsightsQuery.Parse(query).Run(Events, limit).Rows.Select(r => r.ToDictionary(f => f.Field, f => f.Value)).ToList();

    [Fact]
    public void FieldsSortLimit()
    {
        var rows = Run("fields @timestamp, @logStream | sort @timestamp asc | limit 2");
        Assert.Equal(["web-1", "web-2"], rows.Select(r => r["@logStream"]));
        Assert.Equal("2026-12-01 10:00:00.000", rows[0]["@timestamp"]);
        Assert.Equal("p1", rows[0]["@ptr"]);
        Assert.Equal(["p4", "p3", "p2", "p1"], Run("fields @message").Select(r => r["@ptr"]));
    }

    [Fact]
    public void FilterExpressions()
    {
        Assert.Equal(["bob"], Run("filter status >= 500 | fields user.name").Select(r => r["user.name"]));
        Assert.Equal(["b"], Run("filter tags.1 = 'b' | fields tags.1").Select(r => r["tags.1"]));
        Assert.Equal(["p4"], Run("filter @message like /ERROR \\| pipes/").Select(r => r["@ptr"]));
        Assert.Equal(["p4"], Run("filter @message like \"| in text\"").Select(r => r["@ptr"]));
        Assert.Equal(["p2", "p1"], Run("filter user.name in [\"ann\", \"bob\"]").Select(r => r["@ptr"]));
        Assert.Equal(["p4", "p3"], Run("filter not ispresent(user.name)").Select(r => r["@ptr"]));
        Assert.Equal(["p3", "p1"], Run("filter status = 200 and (ms < 20 or ms > 40)").Select(r => r["@ptr"]));
        Assert.Equal(["p3", "p1"], Run("filter @logStream = \"web-1\"").Select(r => r["@ptr"]));
    }

    [Fact]
    public void Stats()
    {
        var bins = Run("stats count(*) as n, avg(ms) as mean, count(status) by bin(5m)");
        Assert.Equal(["2026-12-01 10:00:00.000", "2026-12-01 10:05:00.000"], bins.Select(r => r["bin(5m)"]));
        Assert.Equal(["2", "2"], bins.Select(r => r["n"]));
        Assert.Equal(["20", "50"], bins.Select(r => r["mean"]));
        Assert.Equal(["2", "1"], bins.Select(r => r["count(status)"]));
        var byStatus = Run("filter ispresent(status) | stats sum(ms) as total, max(ms) by status | sort total desc");
        Assert.Equal([("200", "60", "50"), ("500", "30", "30")], byStatus.Select(r => (r["status"], r["total"], r["max(ms)"])));
        Assert.Single(Run("stats count(*) as n by bin(1h) | filter n > 3"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("fields")]
    [InlineData("explode everything")]
    [InlineData("filter")]
    [InlineData("filter status >")]
    [InlineData("filter (status = 1")]
    [InlineData("filter @message like /unterminated")]
    [InlineData("filter @message like /(/")]
    [InlineData("stats median(ms)")]
    [InlineData("stats sum(*)")]
    [InlineData("stats count(*) by bin(5 minutes)")]
    [InlineData("sort ms sideways")]
    [InlineData("limit 0")]
    [InlineData("fields a |")]
    public void RefusedQueries(string query) => Assert.Throws<MalformedQuery>(() => InsightsQuery.Parse(query));
}
