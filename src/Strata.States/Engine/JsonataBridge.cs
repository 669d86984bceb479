using System.Collections.Concurrent;
using Strata.States.Jsonata;

namespace Strata.States;

/// <summary>Where the ASL meets the JSONata evaluator: a string is an expression when it is wholly
/// <c>{% … %}</c>; compiled expressions are cached by text.</summary>
internal static class JsonataBridge
{
    private static readonly ConcurrentDictionary<string, JsonataExpression> Cache = new(StringComparer.Ordinal);

    public static bool IsExpression(string s) => s.Length >= 4 && s.StartsWith("{%", StringComparison.Ordinal) && s.EndsWith("%}", StringComparison.Ordinal);

    public static string Body(string s) => s[2..^2].Trim();

    public static JsonataExpression Compile(string s)
    {
        if (Cache.TryGetValue(s, out var e)) return e;
        e = JsonataExpression.Compile(Body(s));
        if (Cache.Count < 100_000) Cache[s] = e;
        return e;
    }
}
