using System.Globalization;
using System.Text;

namespace Strata.States.Jsonata;

internal enum TokenType { Operator, Name, Variable, String, Number, Value, Regex, End }

internal sealed record Token(TokenType Type, object? Value, int Position)
{
    /// <summary>The symbol the parser dispatches on: the operator itself, or a token class.</summary>
    public string Id => Type switch
    {
        TokenType.Operator => (string)Value!,
        TokenType.Name or TokenType.Variable => "(name)",
        TokenType.Regex => "(regex)",
        TokenType.End => "(end)",
        _ => "(literal)",
    };
}

/// <summary>The tokens of a JSONata expression. A '/' starts a regular expression where an operand is expected.</summary>
internal sealed class Lexer(string path)
{
    public static readonly Dictionary<string, int> Operators = new(StringComparer.Ordinal)
    {
        ["."] = 75,
        ["["] = 80,
        ["]"] = 0,
        ["{"] = 70,
        ["}"] = 0,
        ["("] = 80,
        [")"] = 0,
        [","] = 0,
        ["@"] = 80,
        ["#"] = 80,
        [";"] = 80,
        [":"] = 80,
        ["?"] = 20,
        ["+"] = 50,
        ["-"] = 50,
        ["*"] = 60,
        ["/"] = 60,
        ["%"] = 60,
        ["|"] = 20,
        ["="] = 40,
        ["<"] = 40,
        [">"] = 40,
        ["^"] = 40,
        ["**"] = 60,
        [".."] = 20,
        [":="] = 10,
        ["!="] = 40,
        ["<="] = 40,
        [">="] = 40,
        ["~>"] = 40,
        ["?:"] = 40,
        ["??"] = 40,
        ["and"] = 30,
        ["or"] = 25,
        ["in"] = 40,
        ["&"] = 50,
        ["!"] = 0,
        ["~"] = 0,
    };

    private static readonly string[] TwoCharOperators = ["..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"];
    private int _position;

    /// <summary>The next token; <paramref name="infix"/> says an operator is expected (so '/' divides).</summary>
    public Token Next(bool infix)
    {
        var length = path.Length;
        if (_position >= length) return new Token(TokenType.End, "(end)", length);
        var ch = path[_position];
        while (_position < length && " \t\n\r\v".Contains(ch))
        {
            _position++;
            if (_position >= length) return new Token(TokenType.End, "(end)", length);
            ch = path[_position];
        }
        if (ch == '/' && _position + 1 < length && path[_position + 1] == '*')
        {
            var start = _position;
            _position += 2;
            var end = path.IndexOf("*/", _position, StringComparison.Ordinal);
            if (end < 0) throw JsonataErrors.Create("S0106", start);
            _position = end + 2;
            return Next(infix);
        }
        if (!infix && ch == '/')
        {
            _position++;
            return new Token(TokenType.Regex, ScanRegex(), _position);
        }
        if (_position + 1 < length)
        {
            var two = path.Substring(_position, 2);
            if (Array.IndexOf(TwoCharOperators, two) >= 0)
            {
                _position += 2;
                return new Token(TokenType.Operator, two, _position);
            }
        }
        if (Operators.ContainsKey(ch.ToString()))
        {
            _position++;
            return new Token(TokenType.Operator, ch.ToString(), _position);
        }
        if (ch is '"' or '\'')
        {
            var quote = ch;
            _position++;
            var sb = new StringBuilder();
            while (_position < length)
            {
                var c = path[_position];
                if (c == '\\')
                {
                    _position++;
                    if (_position >= length) break;
                    c = path[_position];
                    switch (c)
                    {
                        case '"' or '\\' or '/': sb.Append(c); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            if (_position + 4 < length + 0 && IsHex(path.AsSpan(_position + 1, Math.Min(4, length - _position - 1))))
                            {
                                sb.Append((char)int.Parse(path.AsSpan(_position + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                                _position += 4;
                            }
                            else throw JsonataErrors.Create("S0104", _position);
                            break;
                        default: throw JsonataErrors.Create("S0103", _position, token: c.ToString());
                    }
                }
                else if (c == quote)
                {
                    _position++;
                    return new Token(TokenType.String, sb.ToString(), _position);
                }
                else sb.Append(c);
                _position++;
            }
            throw JsonataErrors.Create("S0101", _position);
        }
        if (char.IsAsciiDigit(ch))
        {
            var start = _position;
            var i = _position;
            if (path[i] == '0') i++;
            else while (i < length && char.IsAsciiDigit(path[i])) i++;
            if (i + 1 < length && path[i] == '.' && char.IsAsciiDigit(path[i + 1]))
            {
                i++;
                while (i < length && char.IsAsciiDigit(path[i])) i++;
            }
            if (i < length && (path[i] == 'e' || path[i] == 'E'))
            {
                var j = i + 1;
                if (j < length && (path[j] == '+' || path[j] == '-')) j++;
                if (j < length && char.IsAsciiDigit(path[j]))
                {
                    while (j < length && char.IsAsciiDigit(path[j])) j++;
                    i = j;
                }
            }
            var text = path[start..i];
            var num = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (!double.IsFinite(num)) throw JsonataErrors.Create("S0102", _position, token: text);
            _position = i;
            return new Token(TokenType.Number, num, _position);
        }
        if (ch == '`')
        {
            _position++;
            var end = path.IndexOf('`', _position);
            if (end < 0)
            {
                _position = length;
                throw JsonataErrors.Create("S0105", _position);
            }
            var name = path[_position..end];
            _position = end + 1;
            return new Token(TokenType.Name, name, _position);
        }
        var k = _position;
        while (k < length && !" \t\n\r\v".Contains(path[k]) && !Operators.ContainsKey(path[k].ToString())) k++;
        var word = path[_position..k];
        var wordStart = _position;
        _position = k;
        if (word.StartsWith('$')) return new Token(TokenType.Variable, word[1..], _position);
        return word switch
        {
            "or" or "in" or "and" => new Token(TokenType.Operator, word, _position),
            "true" => new Token(TokenType.Value, true, _position),
            "false" => new Token(TokenType.Value, false, _position),
            "null" => new Token(TokenType.Value, JsonNull.Value, _position),
            "" => throw JsonataErrors.Create("S0204", wordStart, token: path[wordStart].ToString()),
            _ => new Token(TokenType.Name, word, _position),
        };
    }

    private static bool IsHex(ReadOnlySpan<char> s) => s.Length == 4 && s.ToString().All(char.IsAsciiHexDigit);

    private RegexLiteral ScanRegex()
    {
        var start = _position;
        var depth = 0;
        while (_position < path.Length)
        {
            var c = path[_position];
            if (c == '/' && depth == 0 && (_position == start || path[_position - 1] != '\\' || IsEscapedBackslash(_position - 1)))
            {
                var pattern = path[start.._position];
                if (pattern.Length == 0) throw JsonataErrors.Create("S0301", _position);
                _position++;
                var flagStart = _position;
                while (_position < path.Length && "gimsuy".Contains(path[_position])) _position++;
                return new RegexLiteral(pattern, path[flagStart.._position]);
            }
            if ((c == '(' || c == '[' || c == '{') && path[_position - 1] != '\\') depth++;
            if ((c == ')' || c == ']' || c == '}') && path[_position - 1] != '\\') depth--;
            _position++;
        }
        throw JsonataErrors.Create("S0302", _position);
    }

    // "\\/" ends the regex: the backslash before the slash is itself escaped.
    private bool IsEscapedBackslash(int i)
    {
        var n = 0;
        while (i >= 0 && path[i] == '\\') { n++; i--; }
        return n % 2 == 0;
    }
}

internal sealed record RegexLiteral(string Pattern, string Flags);
