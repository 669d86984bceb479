using System.Globalization;
using System.Text;

namespace Strata.Server.Services.Events;

/// <summary>The tokens <see cref="EventPatternReader"/> yields; <c>None</c> is the end of the text.</summary>
enum PatternToken { None, StartObject, EndObject, StartArray, EndArray, FieldName, String, Number, True, False, Null }

/// <summary>
/// A pull reader over an event pattern's JSON text that stands where Jackson's streaming parser stands
/// after each token. EventBridge compiles patterns with a streaming parser and appends the parser's
/// position to most of its error messages ("\n at [Source: (String)"..."; line: 1, column: 36]"), so
/// to give AWS's exact message we must consume the text as that parser does: a field name also
/// consumes the first character of its value (all of a number or literal); a string value is left
/// open until its text is asked for; a number stops before the character that ends it. JSON syntax
/// errors carry that parser's wording. Depth is bounded, so no input can exhaust the stack.
/// </summary>
sealed class EventPatternReader(string text)
{
    /// <summary>Jackson's default nesting limit (StreamReadConstraints), which EventBridge inherits.</summary>
    public const int MaxDepth = 1000;

    const int MaxSourceSnippet = 500;
    const int MaxErrorTokenLength = 256;

    readonly string _text = text;
    readonly Stack<Context> _contexts = new([new Context(ContextType.Root, 1, 0)]);
    int _pos;
    int _line = 1;
    int _rowStart;
    PatternToken _current;
    PatternToken _pending;
    bool _stringOpen;
    string _name = "";
    string _value = "";

    enum ContextType { Root, Array, Object }

    sealed class Context(ContextType type, int line, int column)
    {
        public ContextType Type { get; } = type;
        public int Line { get; } = line;
        public int Column { get; } = column;
        public int Entries { get; set; }

        /// <summary>Jackson's name for the context in messages.</summary>
        public string Description => Type switch { ContextType.Array => "Array", ContextType.Object => "Object", _ => "ROOT" };
    }

    /// <summary>The current field name, or the text of the current scalar (a string is read to its end).</summary>
    public string Text
    {
        get
        {
            if (_current == PatternToken.String && _stringOpen)
            {
                _value = ReadString("string value");
                _stringOpen = false;
            }
            return _current switch
            {
                PatternToken.FieldName => _name,
                PatternToken.String or PatternToken.Number => _value,
                PatternToken.StartObject => "{",
                PatternToken.EndObject => "}",
                PatternToken.StartArray => "[",
                PatternToken.EndArray => "]",
                PatternToken.True => "true",
                PatternToken.False => "false",
                PatternToken.Null => "null",
                _ => "",
            };
        }
    }

    /// <summary>The token last read.</summary>
    public PatternToken Current => _current;

    /// <summary>The current field name.</summary>
    public string Name => _name;

    public PatternToken Next()
    {
        if (_current == PatternToken.FieldName)
        {
            // The value's first character was consumed with the name; its token comes now.
            _current = _pending;
            _pending = PatternToken.None;
            return _current;
        }
        if (_stringOpen)
        {
            _value = ReadString("string value");
            _stringOpen = false;
        }
        var c = SkipWhitespaceOrEnd();
        var context = _contexts.Peek();
        if (c < 0)
        {
            if (context.Type != ContextType.Root)
                throw Located($"Unexpected end-of-input: expected close marker for {context.Description} (start marker at {Location(context.Line, context.Column)})");
            return _current = PatternToken.None;
        }
        if (c is ']' or '}')
        {
            var expected = context.Type == ContextType.Array ? ']' : '}';
            if (context.Type == ContextType.Root || c != expected)
                throw Located($"Unexpected close marker '{(char)c}': expected '{expected}' (for {context.Description} starting at {Location(context.Line, context.Column)})");
            _contexts.Pop();
            return _current = c == ']' ? PatternToken.EndArray : PatternToken.EndObject;
        }
        if (context.Entries++ > 0 && context.Type != ContextType.Root)
        {
            if (c != ',') throw UnexpectedChar(c, $"was expecting comma to separate {context.Description} entries");
            c = SkipWhitespaceOrEnd();
            if (c < 0) throw Located($"Unexpected end-of-input within/between {context.Description} entries");
        }
        if (context.Type != ContextType.Object)
            return _current = StartValue(c);
        if (c != '"') throw UnexpectedChar(c, "was expecting double-quote to start field name");
        _name = ReadString("name");
        c = SkipWhitespaceOrEnd();
        if (c < 0) throw Located($"Unexpected end-of-input within/between {context.Description} entries");
        if (c != ':') throw UnexpectedChar(c, "was expecting a colon to separate field name and value");
        c = SkipWhitespaceOrEnd();
        if (c < 0) throw Located($"Unexpected end-of-input within/between {context.Description} entries");
        _pending = StartValue(c);
        return _current = PatternToken.FieldName;
    }

    /// <summary>An error at the reader's position, worded as EventBridge words it.</summary>
    public InvalidEventPatternException Error(string reason) => Located(reason);

    /// <summary>An error whose reason already carries a position (a quirk of AWS's compiler: some
    /// errors raised inside a list are caught and raised again, so the position appears twice).</summary>
    public InvalidEventPatternException ErrorTwice(string reason) => Located(reason + CurrentLocationSuffix());

    InvalidEventPatternException Located(string reason) => new(reason + CurrentLocationSuffix());

    string CurrentLocationSuffix() => "\n at " + Location(_line, _pos - _rowStart + 1);

    string Location(int line, int column)
    {
        var snippet = _text.Length > MaxSourceSnippet ? _text[..MaxSourceSnippet] : _text;
        var truncated = _text.Length > MaxSourceSnippet ? $"[truncated {_text.Length - MaxSourceSnippet} chars]" : "";
        return $"[Source: (String)\"{snippet}\"{truncated}; line: {line}, column: {column}]";
    }

    PatternToken StartValue(int c)
    {
        switch (c)
        {
            case '"':
                _stringOpen = true;
                return PatternToken.String;
            case '[':
            case '{':
                if (_contexts.Count > MaxDepth)
                {
                    throw new InvalidEventPatternException(
                        $"Document nesting depth ({_contexts.Count}) exceeds the maximum allowed ({MaxDepth}, from `StreamReadConstraints.getMaxNestingDepth()`)");
                }
                _contexts.Push(new Context(c == '[' ? ContextType.Array : ContextType.Object, _line, _pos - _rowStart));
                return c == '[' ? PatternToken.StartArray : PatternToken.StartObject;
            case '}':
                // A ']' here goes to Jackson's odd-value handler instead, so it gets the longer message.
                throw UnexpectedChar(c, "expected a value");
            case 't':
                MatchLiteral("true");
                return PatternToken.True;
            case 'f':
                MatchLiteral("false");
                return PatternToken.False;
            case 'n':
                MatchLiteral("null");
                return PatternToken.Null;
            case '-':
            case >= '0' and <= '9':
                _value = ReadNumber(c);
                return PatternToken.Number;
            default:
                if (IsIdentifierStart((char)c)) throw InvalidToken(((char)c).ToString());
                throw UnexpectedChar(c, "expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
        }
    }

    void MatchLiteral(string literal)
    {
        // The first character is consumed already.
        for (var i = 1; i < literal.Length; i++)
        {
            if (_pos >= _text.Length || _text[_pos] != literal[i]) throw InvalidToken(literal[..i]);
            _pos++;
        }
        if (_pos < _text.Length && IsIdentifierPart(_text[_pos])) throw InvalidToken(literal);
    }

    InvalidEventPatternException InvalidToken(string matched)
    {
        var token = new StringBuilder(matched);
        while (_pos < _text.Length && IsIdentifierPart(_text[_pos]))
        {
            token.Append(_text[_pos++]);
            if (token.Length >= MaxErrorTokenLength)
            {
                token.Append("...");
                break;
            }
        }
        return Located($"Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
    }

    string ReadNumber(int first)
    {
        var start = _pos - 1;
        if (first == '-')
        {
            if (_pos >= _text.Length) throw Located("Unexpected end-of-input in a Number value");
            var next = _text[_pos++];
            if (next is < '0' or > '9')
                throw UnexpectedNumberChar(next, "expected digit (0-9) to follow minus sign, for valid numeric value");
            first = next;
        }
        if (first == '0' && _pos < _text.Length && _text[_pos] is >= '0' and <= '9')
            throw Located("Invalid numeric value: Leading zeroes not allowed");
        SkipDigits();
        if (_pos < _text.Length && _text[_pos] == '.')
        {
            _pos++;
            if (_pos >= _text.Length) throw Located("Unexpected end-of-input in a Number value");
            if (_text[_pos] is < '0' or > '9') throw UnexpectedNumberChar(_text[_pos++], "Decimal point not followed by a digit");
            SkipDigits();
        }
        if (_pos < _text.Length && _text[_pos] is 'e' or 'E')
        {
            _pos++;
            if (_pos < _text.Length && _text[_pos] is '+' or '-') _pos++;
            if (_pos >= _text.Length) throw Located("Unexpected end-of-input in a Number value");
            if (_text[_pos] is < '0' or > '9') throw UnexpectedNumberChar(_text[_pos++], "Exponent indicator not followed by a digit");
            SkipDigits();
        }
        return _text[start.._pos];
    }

    void SkipDigits()
    {
        while (_pos < _text.Length && _text[_pos] is >= '0' and <= '9') _pos++;
    }

    /// <summary>Reads a string whose opening quote is consumed, through its closing quote.</summary>
    string ReadString(string what)
    {
        var result = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Located(what == "name"
                    ? "Unexpected end-of-input in field name"
                    : "Unexpected end-of-input: was expecting closing quote for a string value");
            }
            var c = _text[_pos++];
            if (c == '"') return result.ToString();
            if (c == '\\')
            {
                result.Append(ReadEscape());
                continue;
            }
            if (c < ' ') throw Located($"Illegal unquoted character ({CharDescription(c)}): has to be escaped using backslash to be included in {what}");
            result.Append(c);
        }
    }

    char ReadEscape()
    {
        if (_pos >= _text.Length) throw Located("Unexpected end-of-input in character escape sequence");
        var c = _text[_pos++];
        switch (c)
        {
            case '"' or '\\' or '/': return c;
            case 'b': return '\b';
            case 'f': return '\f';
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'u':
                var value = 0;
                for (var i = 0; i < 4; i++)
                {
                    if (_pos >= _text.Length) throw Located("Unexpected end-of-input in character escape sequence");
                    var h = _text[_pos++];
                    var digit = HexDigit(h);
                    if (digit < 0) throw UnexpectedChar(h, "expected a hex-digit for character escape sequence");
                    value = (value << 4) | digit;
                }
                return (char)value;
            default:
                throw Located($"Unrecognized character escape {CharDescription(c)}");
        }
    }

    static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Skips whitespace and answers the next character, consumed; -1 at the end.</summary>
    int SkipWhitespaceOrEnd()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos++];
            switch (c)
            {
                case ' ' or '\t':
                    continue;
                case '\n':
                    NewLine();
                    continue;
                case '\r':
                    if (_pos < _text.Length && _text[_pos] == '\n') _pos++;
                    NewLine();
                    continue;
                case '/':
                    throw UnexpectedChar(c, "maybe a (non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled for parser)");
                default:
                    return c;
            }
        }
        return -1;
    }

    void NewLine()
    {
        _line++;
        _rowStart = _pos;
    }

    /// <summary>Jackson places these at the offending character itself, one before its position.</summary>
    InvalidEventPatternException UnexpectedChar(int c, string comment)
        => new($"Unexpected character ({CharDescription((char)c)}): {comment}\n at {Location(_line, Math.Max(_pos - _rowStart, 1))}");

    InvalidEventPatternException UnexpectedNumberChar(char c, string comment) => Located($"Unexpected character ({CharDescription(c)}) in numeric value: {comment}");

    /// <summary>Jackson's description of a character in its messages.</summary>
    static string CharDescription(char c)
    {
        if (char.IsControl(c)) return $"(CTRL-CHAR, code {(int)c})";
        if (c > 255) return $"'{c}' (code {(int)c} / 0x{((int)c).ToString("x", CultureInfo.InvariantCulture)})";
        return $"'{c}' (code {(int)c})";
    }

    // Java's identifier classes, which Jackson uses to delimit an unrecognised token.
    static bool IsIdentifierStart(char c) => char.IsLetter(c) || c is '_' or '$' || char.GetUnicodeCategory(c) is UnicodeCategory.LetterNumber
        or UnicodeCategory.CurrencySymbol or UnicodeCategory.ConnectorPunctuation;

    static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || char.IsDigit(c)
        || char.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
}
