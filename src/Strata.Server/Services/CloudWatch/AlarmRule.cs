namespace Strata.Server.Services.CloudWatch;

/// <summary>A composite alarm's rule that does not parse; the message says where and why.</summary>
public sealed class AlarmRuleException(string message) : Exception(message);

/// <summary>
/// The rule language of composite alarms: the functions ALARM(x), OK(x) and INSUFFICIENT_DATA(x)
/// (true when alarm x, named or given by ARN, quoted or not, is in that state), the constants TRUE
/// and FALSE, the operators NOT, AND and OR (binding in that order) and parentheses. Pure: the
/// caller says what state each alarm is in.
/// </summary>
public abstract record AlarmRule
{
    public abstract bool Evaluate(Func<string, string?> stateOf);

    /// <summary>The rule's functions (the state asked for, the alarm as written: a name or an
    /// ARN), in order of appearance.</summary>
    public abstract IEnumerable<(string State, string Alarm)> Functions { get; }

    sealed record Constant(bool Value) : AlarmRule
    {
        public override bool Evaluate(Func<string, string?> stateOf) => Value;
        public override IEnumerable<(string State, string Alarm)> Functions => [];
    }

    sealed record StateIs(string State, string Alarm) : AlarmRule
    {
        public override bool Evaluate(Func<string, string?> stateOf) => stateOf(Alarm) == State;
        public override IEnumerable<(string State, string Alarm)> Functions => [(State, Alarm)];
    }

    sealed record Not(AlarmRule Operand) : AlarmRule
    {
        public override bool Evaluate(Func<string, string?> stateOf) => !Operand.Evaluate(stateOf);
        public override IEnumerable<(string State, string Alarm)> Functions => Operand.Functions;
    }

    sealed record Binary(bool IsAnd, AlarmRule Left, AlarmRule Right) : AlarmRule
    {
        public override bool Evaluate(Func<string, string?> stateOf)
            => IsAnd ? Left.Evaluate(stateOf) && Right.Evaluate(stateOf) : Left.Evaluate(stateOf) || Right.Evaluate(stateOf);
        public override IEnumerable<(string State, string Alarm)> Functions => Left.Functions.Concat(Right.Functions);
    }

    public static AlarmRule Parse(string text)
    {
        var parser = new Parser(text);
        var rule = parser.Or();
        parser.SkipSpace();
        if (!parser.AtEnd) throw parser.Error("an operator (AND, OR) or the end of the rule");
        return rule;
    }

    sealed class Parser(string text)
    {
        int _at;
        int _depth;

        public bool AtEnd => _at >= text.Length;

        public AlarmRuleException Error(string expected)
            => new($"Error in alarm rule at position {_at + 1}: expected {expected}, found {(AtEnd ? "the end of the rule" : $"'{text[_at..Math.Min(text.Length, _at + 20)]}'")}.");

        public void SkipSpace()
        {
            while (!AtEnd && char.IsWhiteSpace(text[_at])) _at++;
        }

        /// <summary>Consumes a keyword that is not the start of a longer word.</summary>
        bool Keyword(string word)
        {
            SkipSpace();
            if (string.CompareOrdinal(text, _at, word, 0, word.Length) != 0) return false;
            var end = _at + word.Length;
            if (end < text.Length && (char.IsLetterOrDigit(text[end]) || text[end] == '_')) return false;
            _at = end;
            return true;
        }

        public AlarmRule Or()
        {
            var left = And();
            while (Keyword("OR")) left = new Binary(false, left, And());
            return left;
        }

        AlarmRule And()
        {
            var left = Unary();
            while (Keyword("AND")) left = new Binary(true, left, Unary());
            return left;
        }

        AlarmRule Unary()
        {
            // Deep nesting is refused rather than allowed to exhaust the stack.
            if (++_depth > 100) throw new AlarmRuleException("Error in alarm rule: it is nested more than 100 levels deep.");
            try
            {
                if (Keyword("NOT")) return new Not(Unary());
                SkipSpace();
                if (!AtEnd && text[_at] == '(')
                {
                    _at++;
                    var inner = Or();
                    SkipSpace();
                    if (AtEnd || text[_at] != ')') throw Error("')'");
                    _at++;
                    return inner;
                }
                if (Keyword("TRUE")) return new Constant(true);
                if (Keyword("FALSE")) return new Constant(false);
                foreach (var state in (string[])["ALARM", "OK", "INSUFFICIENT_DATA"])
                    if (Keyword(state)) return new StateIs(state, Argument());
                throw Error("ALARM(...), OK(...), INSUFFICIENT_DATA(...), TRUE, FALSE, NOT or '('");
            }
            finally { _depth--; }
        }

        /// <summary>An alarm name or ARN in parentheses, in double quotes or bare.</summary>
        string Argument()
        {
            SkipSpace();
            if (AtEnd || text[_at] != '(') throw Error("'('");
            _at++;
            SkipSpace();
            string name;
            if (!AtEnd && text[_at] == '"')
            {
                var close = text.IndexOf('"', _at + 1);
                if (close < 0) throw Error("a closing '\"'");
                name = text[(_at + 1)..close];
                _at = close + 1;
                SkipSpace();
                if (AtEnd || text[_at] != ')') throw Error("')'");
            }
            else
            {
                var close = text.IndexOf(')', _at);
                if (close < 0) throw Error("')'");
                name = text[_at..close].Trim();
                _at = close;
            }
            _at++;
            if (name.Length == 0) throw new AlarmRuleException("Error in alarm rule: an alarm name is empty.");
            return name;
        }
    }
}
