using System.Text;
using System.Text.RegularExpressions;

namespace Strata.Codegen;

/// <summary>
/// Turns a pattern of an AWS model into a .NET regular expression with the meaning AWS gives it.
/// AWS's services check patterns with <c>java.util.regex</c> and <c>Matcher.matches()</c>: the
/// whole value must match, <c>\w</c>, <c>\d</c> and <c>\s</c> are ASCII classes, <c>\p{Print}</c>
/// and its kin are POSIX ASCII classes, and a class works on code points, so
/// <c>\uD800\uDC00-\uDBFF\uDFFF</c> is the range U+10000–U+10FFFF. .NET differs in each of these,
/// so each is rewritten; anything else is passed through and must compile here, or generation fails.
/// </summary>
static class JavaPattern
{
    static readonly Dictionary<string, string> Posix = new(StringComparer.Ordinal)
    {
        ["Print"] = @"\x20-\x7E",
        ["Graph"] = @"\x21-\x7E",
        ["ASCII"] = @"\x00-\x7F",
        ["Alnum"] = "a-zA-Z0-9",
        ["Alpha"] = "a-zA-Z",
        ["Digit"] = "0-9",
        ["Lower"] = "a-z",
        ["Upper"] = "A-Z",
        ["Punct"] = @"!-/:-@\[-`{-~",
        ["Space"] = @" \t\n\x0B\f\r",
        ["XDigit"] = "0-9a-fA-F",
    };

    const string Space = @" \t\n\x0B\f\r";

    // Outside a class each shorthand becomes a class of its own; inside one, its members.
    static readonly Dictionary<char, (string Outside, string? Inside)> Shorthands = new()
    {
        ['w'] = ("[a-zA-Z0-9_]", "a-zA-Z0-9_"),
        ['W'] = ("[^a-zA-Z0-9_]", null),
        ['d'] = ("[0-9]", "0-9"),
        ['D'] = ("[^0-9]", null),
        ['s'] = ($"[{Space}]", Space),
        ['S'] = ($"[^{Space}]", null),
    };

    /// <summary>Java's code-point range over every supplementary character, written as UTF-16 in .NET.</summary>
    const string Supplementary = @"\uD800\uDC00-\uDBFF\uDFFF";

    public static Regex ToDotNet(string pattern)
    {
        var text = new StringBuilder();
        var inClass = false;
        var lookaround = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var next = pattern[i + 1];
                if (inClass && string.CompareOrdinal(pattern, i, Supplementary, 0, Supplementary.Length) == 0)
                {
                    // Surrogates arrive only in valid pairs (the protocols refuse lone ones).
                    text.Append(@"\uD800-\uDBFF\uDC00-\uDFFF");
                    i += Supplementary.Length - 1;
                    continue;
                }
                if (Shorthands.TryGetValue(next, out var shorthand))
                {
                    // A negated shorthand inside a class has no ASCII spelling; .NET's own is close
                    // (it differs only on non-ASCII spaces).
                    text.Append(inClass ? shorthand.Inside ?? $"\\{next}" : shorthand.Outside);
                    i++;
                    continue;
                }
                if (next == 'p' && i + 2 < pattern.Length && pattern[i + 2] == '{')
                {
                    var end = pattern.IndexOf('}', i + 3);
                    var name = pattern[(i + 3)..end];
                    if (Posix.TryGetValue(name, out var members))
                    {
                        text.Append(inClass ? members : $"[{members}]");
                        i = end;
                        continue;
                    }
                }
                // Java lets any non-letter be escaped; .NET refuses "\_" (a word character).
                if (next == '_') text.Append('_');
                else text.Append(c).Append(next);
                i++;
                continue;
            }
            if (c == '[' && !inClass) inClass = true;
            else if (c == ']' && inClass) inClass = false;
            else if (c == '(' && !inClass && i + 2 < pattern.Length && pattern[i + 1] == '?' && pattern[i + 2] is '=' or '!' or '<') lookaround = true;
            text.Append(c);
        }
        // The linear-time engine where it can (a huge value must not cost more than its length);
        // it has no lookarounds, and patterns that use them are short and unambiguous.
        // A pattern whose automaton would be too large for it (long counted repetitions) keeps
        // the backtracking engine too.
        var options = RegexOptions.CultureInvariant | (lookaround ? RegexOptions.None : RegexOptions.NonBacktracking);
        try { return new Regex($@"\A(?:{text})\z", options); }
        catch (NotSupportedException) when (!lookaround) { return new Regex($@"\A(?:{text})\z", RegexOptions.CultureInvariant); }
    }
}
