using Strata.Server.Services.Logs;

namespace Strata.Server.Tests.Unit;

/// <summary>The filter-pattern language on its own: each kind of pattern against messages that
/// must and must not match, and the patterns AWS refuses, with AWS's messages.</summary>
public sealed class LogsFilterPatternTests
{
    static bool Match(string pattern, string message) => FilterPattern.Parse(pattern).Matches(message);

    [Theory]
    [InlineData("", "anything", true)]
    [InlineData("ERROR", "[ERROR] it broke", true)]
    [InlineData("ERROR", "[error] it broke", false)]
    [InlineData("ERROR broke", "ERROR it broke", true)]
    [InlineData("ERROR broke", "ERROR it failed", false)]
    [InlineData("\"it broke\"", "ERROR it broke", true)]
    [InlineData("\"it broke\"", "ERROR broke it", false)]
    [InlineData("?WARN ?ERROR", "WARN low disk", true)]
    [InlineData("?WARN ?ERROR", "INFO fine", false)]
    [InlineData("ERROR -timeout", "ERROR timeout", false)]
    [InlineData("ERROR -timeout", "ERROR refused", true)]
    [InlineData("ERROR -\"time out\"", "ERROR time out", false)]
    [InlineData("%[0-9]{3} ms%", "took 120 ms", true)]
    [InlineData("%[0-9]{3} ms%", "took 12 ms", false)]
    public void Terms(string pattern, string message, bool expected) => Assert.Equal(expected, Match(pattern, message));

    const string Event = """{"eventType":"UpdateTrail","n":5,"f":1.5,"ok":true,"no":false,"nil":null,"user":{"name":"alice","roles":["admin","dev"]},"items":[{"id":7},{"id":9}]}""";

    [Theory]
    [InlineData("{ $.eventType = \"UpdateTrail\" }", true)]
    [InlineData("{ $.eventType = UpdateTrail }", true)]
    [InlineData("{$.eventType=\"UpdateTrail\"}", true)]
    [InlineData("{ $.eventType = \"updatetrail\" }", false)]
    [InlineData("{ $.eventType != \"UpdateTrail\" }", false)]
    [InlineData("{ $.eventType = \"Update*\" }", true)]
    [InlineData("{ $.eventType = \"*Trail\" }", true)]
    [InlineData("{ $.eventType = \"U*T*l\" }", true)]
    [InlineData("{ $.eventType = \"Create*\" }", false)]
    [InlineData("{ $.n = 5 }", true)]
    [InlineData("{ $.n != 5 }", false)]
    [InlineData("{ $.n > 4 }", true)]
    [InlineData("{ $.n >= 5 }", true)]
    [InlineData("{ $.n < 5 }", false)]
    [InlineData("{ $.n <= 5 }", true)]
    [InlineData("{ $.f > 1.25 }", true)]
    [InlineData("{ $.n > -1 }", true)]
    [InlineData("{ $.eventType > 1 }", false)]
    [InlineData("{ $.nil IS NULL }", true)]
    [InlineData("{ $.n IS NULL }", false)]
    [InlineData("{ $.missing IS NULL }", false)]
    [InlineData("{ $.missing NOT EXISTS }", true)]
    [InlineData("{ $.nil NOT EXISTS }", false)]
    [InlineData("{ $.ok IS TRUE }", true)]
    [InlineData("{ $.ok IS FALSE }", false)]
    [InlineData("{ $.no IS FALSE }", true)]
    [InlineData("{ $.user.name = \"alice\" }", true)]
    [InlineData("{ $.user.roles[1] = \"dev\" }", true)]
    [InlineData("{ $.user.roles[2] = \"dev\" }", false)]
    [InlineData("{ $.items[1].id = 9 }", true)]
    [InlineData("{ $.items[*].id = 9 }", true)]
    [InlineData("{ $.items[0].id = 9 }", false)]
    [InlineData("{ $.n = 5 && $.ok IS TRUE }", true)]
    [InlineData("{ $.n = 5 && $.ok IS FALSE }", false)]
    [InlineData("{ $.n = 6 || $.ok IS TRUE }", true)]
    [InlineData("{ ($.n = 6 || $.n = 5) && ($.user.name = \"bob\" || $.user.name = \"alice\") }", true)]
    [InlineData("{ ($.n = 6 || $.n = 5) && $.user.name = \"bob\" }", false)]
    [InlineData("{ $.n = 6 || $.n = 5 && $.user.name = \"bob\" }", false)]
    public void Json(string pattern, bool expected) => Assert.Equal(expected, Match(pattern, Event));

    [Fact]
    public void JsonPatternsNeedJsonMessages()
    {
        Assert.False(Match("{ $.a NOT EXISTS }", "plain text"));
        Assert.False(Match("{ $.a NOT EXISTS }", "{ not json"));
        Assert.True(Match("{ $[0].a = 1 }", """[{"a":1}]"""));
    }

    const string Access = "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326";

    [Theory]
    [InlineData("[ip, identity, user, timestamp, request, status_code, bytes]", true)]
    [InlineData("[ip, identity, user, timestamp, request, status_code]", false)]
    [InlineData("[ip, identity, user, timestamp, request, status_code = 200, bytes]", true)]
    [InlineData("[ip, identity, user, timestamp, request, status_code = 2*, bytes > 2000]", true)]
    [InlineData("[ip, identity, user, timestamp, request, status_code = 4*, bytes]", false)]
    [InlineData("[ip, identity, user, timestamp, request, status_code != 200, bytes]", false)]
    [InlineData("[..., status_code = 200, bytes < 3000]", true)]
    [InlineData("[ip = 127.0.0.1, ...]", true)]
    [InlineData("[ip, ..., bytes = 2326]", true)]
    [InlineData("[ip, ..., user = frank, ..., bytes]", true)]
    [InlineData("[..., request = \"GET *\", ...]", true)]
    [InlineData("[ip, identity, user, timestamp = \"10/Oct/2000*\", ...]", true)]
    [InlineData("[ip, identity, user, timestamp, request, status_code = 404 || status_code = 200, bytes]", true)]
    [InlineData("[ip, identity, user, timestamp, request, status_code = 404 || status_code = 410, bytes]", false)]
    [InlineData("[ip, identity, user, timestamp, request, status_code = 200 && bytes > 3000, bytes]", false)]
    public void SpaceDelimited(string pattern, bool expected) => Assert.Equal(expected, Match(pattern, Access));

    [Theory]
    [InlineData("{ $.a = 1", "If a filter pattern starts with '{' it must end with '}'")]
    [InlineData("[a, b", "If a filter pattern starts with '[' it must end with ']'")]
    [InlineData("{ $.a = }", "Invalid filter pattern")]
    [InlineData("{ a = 1 }", "Invalid filter pattern")]
    [InlineData("{ $.a > \"x\" }", "Invalid filter pattern")]
    [InlineData("{ $.a IS MAYBE }", "Invalid filter pattern")]
    [InlineData("{ ($.a = 1 }", "Invalid filter pattern")]
    [InlineData("{ $.a = 1 && }", "Invalid filter pattern")]
    [InlineData("{ $.a[x] = 1 }", "Invalid filter pattern")]
    [InlineData("[ ]", "Invalid filter pattern")]
    [InlineData("[a,, b]", "Invalid filter pattern")]
    [InlineData("user@example.com", "Invalid character(s) in term 'user@example.com'")]
    [InlineData("\"unterminated", "Invalid filter pattern")]
    [InlineData("%(unclosed%", "Invalid filter pattern")]
    public void RefusedPatterns(string pattern, string message)
        => Assert.Equal(message, Assert.Throws<InvalidFilterPattern>(() => FilterPattern.Parse(pattern)).Message);
}
