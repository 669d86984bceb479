using System.Text.Json;

namespace Strata.Server.Services.Events;

/// <summary>
/// Compiles a pattern's JSON into rules, reading it as one stream and refusing it at the first token
/// AWS's compiler refuses, with AWS's reason: so for a pattern with two mistakes we name the same one
/// AWS names, at the same position. The quirks of that compiler are kept on purpose (a type error
/// inside an anything-but list reports its position twice; a cidr that is not a string is "prefix
/// match pattern must be a string"; anything-but with a trailing member is "Too many elements in
/// numeric expression"), since clients and tests hold AWS's text.
/// </summary>
sealed class EventPatternCompiler(string json)
{
    /// <summary>Field names that an object inside <c>$or</c> may not use: AWS keeps them for operators.</summary>
    static readonly HashSet<string> ReservedInOr = new(StringComparer.Ordinal)
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric", "cidr", "html",
        "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after", "date-on-or-after",
        "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range", "ip-address-not-in-range",
    };

    readonly EventPatternReader _reader = new(json);

    public ObjectRule Compile()
    {
        if (_reader.Next() != PatternToken.StartObject) throw _reader.Error("Filter is not an object");
        var root = new ObjectRule();
        // Whatever follows the pattern's closing brace is never read, as with AWS.
        ParseObject(root, insideOr: false);
        return root;
    }

    void ParseObject(ObjectRule into, bool insideOr)
    {
        var any = false;
        while (_reader.Next() != PatternToken.EndObject)
        {
            any = true;
            var name = _reader.Name;
            if (name == "$or")
            {
                ParseOr(into);
                continue;
            }
            if (insideOr && ReservedInOr.Contains(name))
                throw _reader.Error($"{name} is Ruler reserved fieldName which cannot be used inside $or.");
            switch (_reader.Next())
            {
                case PatternToken.StartObject:
                    // The same nested name twice addresses the same object: its fields add up.
                    if (!into.Children.TryGetValue(name, out var child)) into.Children[name] = child = new ObjectRule();
                    ParseObject(child, insideOr);
                    break;
                case PatternToken.StartArray:
                    // The same leaf twice: the last one counts, as AWS documents.
                    into.Leaves[name] = ParseConditions();
                    break;
                default:
                    throw _reader.Error($"\"{name}\" must be an object or an array");
            }
        }
        if (!any) throw _reader.Error("Empty objects are not allowed");
    }

    void ParseOr(ObjectRule into)
    {
        if (_reader.Next() != PatternToken.StartArray) throw _reader.Error("It must be an Array followed with $or.");
        var alternatives = new List<ObjectRule>();
        PatternToken token;
        while ((token = _reader.Next()) != PatternToken.EndArray)
        {
            if (token != PatternToken.StartObject) throw _reader.Error("Only JSON object is allowed in array of $or relationship.");
            var alternative = new ObjectRule();
            ParseObject(alternative, insideOr: true);
            alternatives.Add(alternative);
        }
        if (alternatives.Count < 2) throw _reader.Error("There must have at least 2 Objects in $or relationship.");
        into.OrGroups.Add(alternatives);
    }

    List<PatternCondition> ParseConditions()
    {
        var conditions = new List<PatternCondition>();
        PatternToken token;
        while ((token = _reader.Next()) != PatternToken.EndArray)
        {
            switch (token)
            {
                case PatternToken.StartObject:
                    conditions.Add(ParseMatchExpression());
                    break;
                case PatternToken.String:
                    var text = _reader.Text;
                    conditions.Add(IpAddresses.LooksLikeAddress(text) && IpAddresses.TryParse(text) is { } address
                        ? new ExactAddress(address)
                        : new ExactString(text));
                    break;
                case PatternToken.Number:
                    conditions.Add(new ExactNumber(_reader.Text));
                    break;
                case PatternToken.Null:
                    conditions.Add(new ExactLiteral(JsonValueKind.Null));
                    break;
                case PatternToken.True:
                    conditions.Add(new ExactLiteral(JsonValueKind.True));
                    break;
                case PatternToken.False:
                    conditions.Add(new ExactLiteral(JsonValueKind.False));
                    break;
                default:
                    throw _reader.Error("Match value must be String, number, true, false, or null");
            }
        }
        if (conditions.Count == 0) throw _reader.Error("Empty arrays are not allowed");
        return conditions;
    }

    PatternCondition ParseMatchExpression()
    {
        if (_reader.Next() != PatternToken.FieldName) throw _reader.Error("Match expression name not found");
        var type = _reader.Name;
        switch (type)
        {
            case "exactly":
                return new ExactString(SingleString("exact match pattern must be a string"));
            case "prefix":
                return _reader.Next() == PatternToken.StartObject
                    ? new PrefixCondition(IgnoreCaseOperand("Prefix", "prefix"), ignoreCase: true)
                    : new PrefixCondition(CurrentString("prefix match pattern must be a string"), ignoreCase: false);
            case "suffix":
                return _reader.Next() == PatternToken.StartObject
                    ? new SuffixCondition(IgnoreCaseOperand("Suffix", "suffix"), ignoreCase: true)
                    : new SuffixCondition(CurrentString("suffix match pattern must be a string"), ignoreCase: false);
            case "equals-ignore-case":
                return new EqualsIgnoreCaseCondition(SingleString("equals-ignore-case match pattern must be a string"));
            case "wildcard":
                if (_reader.Next() != PatternToken.String) throw _reader.Error("wildcard match pattern must be a string");
                var wildcard = Wildcard.Parse(_reader.Text, out var error);
                if (error is not null) throw _reader.Error(error);
                ExpectEndOfExpression("Only one key allowed in match expression");
                return new WildcardCondition(wildcard);
            case "numeric":
                if (_reader.Next() != PatternToken.StartArray) throw _reader.Error("Value of numeric must be an array.");
                var range = ParseNumeric();
                ExpectEndOfExpression("Too many elements in numeric expression");
                return range;
            case "anything-but":
                return ParseAnythingBut();
            case "exists":
                var exists = _reader.Next() switch
                {
                    PatternToken.True => true,
                    PatternToken.False => false,
                    _ => throw _reader.Error("exists match pattern must be either true or false."),
                };
                ExpectEndOfExpression("Only one key allowed in match expression");
                return new ExistsCondition(exists);
            case "cidr":
                // AWS's wording for a cidr that is not a string.
                if (_reader.Next() != PatternToken.String) throw _reader.Error("prefix match pattern must be a string");
                var cidr = IpAddresses.ParseCidr(_reader.Text);
                ExpectEndOfExpression("Only one key allowed in match expression");
                return cidr;
            default:
                throw _reader.Error($"Unrecognized match type {type}");
        }
    }

    /// <summary>The operand of an operator that takes one string, then the end of the expression.</summary>
    string SingleString(string notString)
    {
        _reader.Next();
        return CurrentString(notString);
    }

    string CurrentString(string notString)
    {
        if (_reader.Current != PatternToken.String) throw _reader.Error(notString);
        var text = _reader.Text;
        ExpectEndOfExpression("Only one key allowed in match expression");
        return text;
    }

    /// <summary>{"prefix": {"equals-ignore-case": "..."}} and its suffix twin.</summary>
    string IgnoreCaseOperand(string kind, string lower)
    {
        if (_reader.Next() != PatternToken.FieldName) throw _reader.Error($"{kind} expression name not found");
        if (_reader.Name != "equals-ignore-case") throw _reader.Error($"Unsupported {lower} pattern: {_reader.Name}");
        if (_reader.Next() != PatternToken.String) throw _reader.Error("equals-ignore-case match pattern must be a string");
        var text = _reader.Text;
        ExpectEndOfExpression("Only one key allowed in match expression");
        ExpectEndOfExpression("Only one key allowed in match expression");
        return text;
    }

    void ExpectEndOfExpression(string message)
    {
        if (_reader.Next() != PatternToken.EndObject) throw _reader.Error(message);
    }

    PatternCondition ParseNumeric()
    {
        if (_reader.Next() != PatternToken.String) throw _reader.Error($"Invalid member in numeric match: {_reader.Text}");
        var op = _reader.Text;
        var token = _reader.Next();
        switch (op)
        {
            case "=":
                if (token != PatternToken.Number) throw _reader.Error("Value of equals must be numeric");
                var value = _reader.Text;
                if (_reader.Next() != PatternToken.EndArray) throw _reader.Error("Too many elements in numeric expression");
                var exact = Comparable(value);
                return new NumericRange(exact, false, exact, false);
            case ">=" or ">":
                if (token != PatternToken.Number) throw _reader.Error($"Value of {op} must be numeric");
                var bottom = _reader.Text;
                token = _reader.Next();
                if (token == PatternToken.EndArray) return Range(bottom, op == ">", null, false);
                if (token != PatternToken.String) throw _reader.Error($"Bad value in numeric range: {_reader.Text}");
                var upper = _reader.Text;
                if (upper is not ("<" or "<=")) throw _reader.Error($"Bad numeric range operator: {upper}");
                if (_reader.Next() != PatternToken.Number) throw _reader.Error($"Value of {upper} must be numeric");
                var top = _reader.Text;
                if (_reader.Next() != PatternToken.EndArray) throw _reader.Error("Too many terms in numeric range expression");
                return Range(bottom, op == ">", top, upper == "<");
            case "<=" or "<":
                if (token != PatternToken.Number) throw _reader.Error($"Value of {op} must be numeric");
                var limit = _reader.Text;
                if (_reader.Next() != PatternToken.EndArray) throw _reader.Error("Too many elements in numeric expression");
                return Range(null, false, limit, op == "<");
            default:
                throw _reader.Error($"Unrecognized numeric range operator: {op}");
        }
    }

    /// <summary>A range; a missing bound is AWS's limit (±5e9, inclusive). Errors here carry the
    /// position after the numeric array, where AWS's compiler stands when it builds the range.</summary>
    NumericRange Range(string? bottom, bool openBottom, string? top, bool openTop)
    {
        var low = bottom is null ? -5_000_000_000_000_000L : Comparable(bottom);
        var high = top is null ? 5_000_000_000_000_000L : Comparable(top);
        if (low >= high) throw _reader.Error("Bottom must be less than top");
        return new NumericRange(low, openBottom, high, openTop);
    }

    long Comparable(string text)
        => ComparableNumber.TryParse(text, out var value) is { } error ? throw _reader.Error(error) : value;

    PatternCondition ParseAnythingBut()
    {
        var kind = "";
        var token = _reader.Next();
        if (token == PatternToken.StartObject)
        {
            if (_reader.Next() != PatternToken.FieldName) throw _reader.Error("Anything-But expression name not found");
            kind = _reader.Name;
            if (kind is not ("equals-ignore-case" or "prefix" or "suffix" or "wildcard"))
                throw _reader.Error($"Unsupported anything-but pattern: {kind}");
            token = _reader.Next();
        }
        if (token is not (PatternToken.StartArray or PatternToken.String or PatternToken.Number))
            throw _reader.Error("Value of anything-but must be an array or single string/number value.");
        var condition = kind == "" ? AnythingButValues(token) : AnythingButSet(kind, token);
        ExpectEndOfExpression("Too many elements in numeric expression");
        if (kind != "") ExpectEndOfExpression("Too many elements in numeric expression");
        return condition;
    }

    PatternCondition AnythingButValues(PatternToken token)
    {
        var strings = new HashSet<string>(StringComparer.Ordinal);
        var numbers = new HashSet<long>();
        if (token == PatternToken.String)
        {
            strings.Add(_reader.Text);
            return AnythingBut.Values(strings, numbers);
        }
        if (token == PatternToken.Number)
        {
            // A single number out of range is refused without a position (AWS raises it unwrapped).
            if (ComparableNumber.TryParse(_reader.Text, out var single) is { } error) throw new InvalidEventPatternException(error);
            numbers.Add(single);
            return AnythingBut.Values(strings, numbers);
        }
        while ((token = _reader.Next()) != PatternToken.EndArray)
        {
            switch (token)
            {
                case PatternToken.String:
                    strings.Add(_reader.Text);
                    break;
                case PatternToken.Number:
                    numbers.Add(Comparable(_reader.Text));
                    break;
                default:
                    throw _reader.ErrorTwice("Inside anything but list, start|null|boolean is not supported.");
            }
        }
        if ((strings.Count > 0) == (numbers.Count > 0))
            throw _reader.Error("Inside anything but list, either all values are number or string, mixed type is not supported");
        return AnythingBut.Values(strings, numbers);
    }

    /// <summary>anything-but with equals-ignore-case, prefix, suffix or wildcard, of one string or a list.</summary>
    PatternCondition AnythingButSet(string kind, PatternToken token)
    {
        var values = new List<string>();
        if (token == PatternToken.StartArray)
        {
            while ((token = _reader.Next()) != PatternToken.EndArray)
            {
                if (token != PatternToken.String) throw _reader.ErrorTwice(NotAStringIn(kind));
                var text = _reader.Text;
                if (kind is "prefix" or "suffix" && text.Length == 0) throw _reader.ErrorTwice("Null prefix/suffix not allowed");
                values.Add(text);
            }
        }
        else
        {
            if (token != PatternToken.String) throw _reader.Error(NotAStringIn(kind));
            var text = _reader.Text;
            if (kind is "prefix" or "suffix" && text.Length == 0) throw _reader.Error("Null prefix/suffix not allowed");
            values.Add(text);
        }
        switch (kind)
        {
            case "equals-ignore-case":
                var ignoringCase = new HashSet<string>(values, StringComparer.OrdinalIgnoreCase);
                return AnythingBut.OfStrings(ignoringCase.Contains);
            case "prefix":
                return AnythingBut.OfStrings(text => values.Exists(p => text.StartsWith(p, StringComparison.Ordinal)));
            case "suffix":
                return AnythingBut.OfStrings(text => values.Exists(s => text.EndsWith(s, StringComparison.Ordinal)));
            default:
                var wildcards = new List<Wildcard>();
                foreach (var value in values)
                {
                    wildcards.Add(Wildcard.Parse(value, out var error));
                    if (error is not null) throw _reader.Error(error);
                }
                return AnythingBut.OfStrings(text => wildcards.Exists(w => w.Matches(text)));
        }
    }

    static string NotAStringIn(string kind) => kind switch
    {
        "equals-ignore-case" => "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
        "wildcard" => "wildcard match pattern must be a string",
        _ => "prefix/suffix match pattern must be a string",
    };
}
