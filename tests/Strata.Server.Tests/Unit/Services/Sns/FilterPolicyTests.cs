using System.Text.Json.Nodes;
using Strata.Server.Services.Sns;

namespace Strata.Server.Tests.Unit;

public sealed class FilterPolicyTests
{
    static bool Matches(string policy, string document, bool nesting = true)
        => FilterPolicy.Parse(policy, nesting).Matches(JsonNode.Parse(document)!.AsObject());

    [Theory]
    [InlineData("""{"a": ["x"]}""", """{"a": "x"}""", true)]
    [InlineData("""{"a": ["x", "y"]}""", """{"a": "y"}""", true)]
    [InlineData("""{"a": ["x"]}""", """{"a": "z"}""", false)]
    [InlineData("""{"a": ["x"]}""", """{}""", false)]
    [InlineData("""{"a": [5]}""", """{"a": 5.0}""", true)]
    [InlineData("""{"a": [5]}""", """{"a": "5"}""", false)]
    [InlineData("""{"a": [{"prefix": "ab"}]}""", """{"a": "abc"}""", true)]
    [InlineData("""{"a": [{"suffix": "bc"}]}""", """{"a": "abc"}""", true)]
    [InlineData("""{"a": [{"suffix": "bc"}]}""", """{"a": "abd"}""", false)]
    [InlineData("""{"a": [{"anything-but": "x"}]}""", """{"a": "y"}""", true)]
    [InlineData("""{"a": [{"anything-but": ["x", "y"]}]}""", """{"a": "y"}""", false)]
    [InlineData("""{"a": [{"anything-but": ["x"]}]}""", """{}""", false)]
    [InlineData("""{"a": [{"anything-but": {"prefix": "in"}}]}""", """{"a": "internal"}""", false)]
    [InlineData("""{"a": [{"anything-but": {"suffix": ".tmp"}}]}""", """{"a": "a.txt"}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0, "<=", 5]}]}""", """{"a": 5}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0, "<=", 5]}]}""", """{"a": 0}""", false)]
    [InlineData("""{"a": [{"numeric": ["=", 3.5]}]}""", """{"a": 3.5}""", true)]
    [InlineData("""{"a": [{"exists": true}]}""", """{"a": "x"}""", true)]
    [InlineData("""{"a": [{"exists": false}]}""", """{"a": "x"}""", false)]
    [InlineData("""{"a": [{"exists": false}]}""", """{"b": "x"}""", true)]
    [InlineData("""{"a": [{"equals-ignore-case": "HeLLo"}]}""", """{"a": "hello"}""", true)]
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/24"}]}""", """{"ip": "10.0.0.255"}""", true)]
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/24"}]}""", """{"ip": "10.0.1.0"}""", false)]
    [InlineData("""{"ip": [{"cidr": "2001:db8::/32"}]}""", """{"ip": "2001:db8::1"}""", true)]
    [InlineData("""{"a": ["x"], "b": ["y"]}""", """{"a": "x", "b": "z"}""", false)]
    [InlineData("""{"a": ["x"]}""", """{"a": ["q", "x"]}""", true)]
    [InlineData("""{"$or": [{"a": ["x"]}, {"b": ["y"]}]}""", """{"b": "y"}""", true)]
    [InlineData("""{"$or": [{"a": ["x"]}, {"b": ["y"]}]}""", """{"c": "y"}""", false)]
    [InlineData("""{"o": {"s": ["on"]}}""", """{"o": {"s": "on"}}""", true)]
    [InlineData("""{"o": {"s": ["on"]}}""", """{"o": [{"s": "off"}, {"s": "on"}]}""", true)]
    [InlineData("""{"o": {"s": ["on"]}}""", """{"o": "on"}""", false)]
    [InlineData("""{"a": [null]}""", """{"a": null}""", true)]
    [InlineData("""{"a": [true]}""", """{"a": true}""", true)]
    public void Matching(string policy, string document, bool expected) => Assert.Equal(expected, Matches(policy, document));

    [Theory]
    [InlineData("not json", "failed to parse JSON")]
    [InlineData("""["a"]""", "must be a JSON object")]
    [InlineData("""{"a": "x"}""", "Match value must be")]
    [InlineData("""{"a": []}""", "Empty arrays are not allowed")]
    [InlineData("""{"a": [{"bogus": 1}]}""", "Unrecognized match type bogus")]
    [InlineData("""{"a": [{"prefix": 1}]}""", "prefix match pattern must be a string")]
    [InlineData("""{"a": [{"exists": "yes"}]}""", "exists match pattern must be either true or false.")]
    [InlineData("""{"a": [{"numeric": ["<", "x"]}]}""", "Value of < must be numeric")]
    [InlineData("""{"a": [{"numeric": [">", 5, "<", 1]}]}""", "Bottom must be less than top")]
    [InlineData("""{"a": [{"numeric": ["~", 5]}]}""", "Unrecognized numeric range operator")]
    [InlineData("""{"a": [{"cidr": "10.0.0.0"}]}""", "Malformed CIDR")]
    [InlineData("""{"a": [{"anything-but": {"prefix": ""}}]}""", "non-empty")]
    [InlineData("""{"$or": [{"a": ["x"]}]}""", "$or")]
    [InlineData("""{"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]}""", "more than 5 keys")]
    [InlineData("""{"a": ["1","2","3","4","5","6"], "b": ["1","2","3","4","5","6"], "c": ["1","2","3","4","5"]}""", "too complex")]
    public void Validation(string policy, string message)
    {
        var e = Assert.Throws<FilterPolicyException>(() => FilterPolicy.Parse(policy, allowNesting: true));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void NestingOnlyWhereAllowed()
    {
        var e = Assert.Throws<FilterPolicyException>(() => FilterPolicy.Parse("""{"o": {"s": ["on"]}}""", allowNesting: false));
        Assert.Contains("does not support nested", e.Message);
    }

    [Fact]
    public void CombinationsAddOverOrAndMultiplyOverKeys()
    {
        // 6 × 5 × 5 = 150 is the limit itself.
        FilterPolicy.Parse("""{"a": ["1","2","3","4","5","6"], "b": ["1","2","3","4","5"], "c": ["1","2","3","4","5"]}""", true);
    }
}
