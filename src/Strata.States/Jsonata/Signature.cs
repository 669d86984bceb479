using System.Text;
using System.Text.RegularExpressions;

namespace Strata.States.Jsonata;

/// <summary>A function signature (<c>&lt;s-nn?:s&gt;</c>): checks the arguments of a call, fills a missing context argument
/// ('-') from the context, and wraps a single value given for an array parameter into an array.</summary>
internal sealed class Signature
{
    private sealed class Param
    {
        public string Regex = "";
        public char Type;
        public bool Context;
        public Regex? ContextRegex;
        public string? Subtype;
    }

    private readonly List<Param> _params;
    private readonly Regex _regex;
    public string Text { get; }

    private Signature(string text, List<Param> parameters)
    {
        Text = text;
        _params = parameters;
        _regex = new Regex("^" + string.Concat(parameters.Select(p => "(" + p.Regex + ")")) + "$", RegexOptions.CultureInvariant);
    }

    public int ParamCount => _params.Count;

    public int RequiredCount => _params.Count(p => !p.Regex.EndsWith('?'));

    public static Signature Parse(string signature, int position = 0)
    {
        var parameters = new List<Param>();
        Param? prev = null;
        var position0 = 1;
        while (position0 < signature.Length)
        {
            var symbol = signature[position0];
            if (symbol == ':') break; // the return type is not checked
            switch (symbol)
            {
                case 's' or 'n' or 'b' or 'l' or 'o':
                    prev = new Param { Regex = "[" + symbol + "m]", Type = symbol };
                    parameters.Add(prev);
                    break;
                case 'a':
                    prev = new Param { Regex = "[asnblfom]", Type = 'a' };
                    parameters.Add(prev);
                    break;
                case 'f':
                    prev = new Param { Regex = "f", Type = 'f' };
                    parameters.Add(prev);
                    break;
                case 'j':
                    prev = new Param { Regex = "[asnblom]", Type = 'j' };
                    parameters.Add(prev);
                    break;
                case 'x':
                    prev = new Param { Regex = "[asnblfom]", Type = 'x' };
                    parameters.Add(prev);
                    break;
                case '-':
                    prev!.Context = true;
                    prev.ContextRegex = new Regex("^" + prev.Regex + "$", RegexOptions.CultureInvariant);
                    prev.Regex += "?";
                    break;
                case '?' or '+':
                    prev!.Regex += symbol;
                    break;
                case '(':
                    {
                        var end = signature.IndexOf(')', position0);
                        var choice = signature[(position0 + 1)..end];
                        if (choice.Contains('<')) throw JsonataErrors.Create("S0402", position + position0);
                        prev = new Param { Regex = "[" + choice + "m]", Type = '(' };
                        parameters.Add(prev);
                        position0 = end;
                        break;
                    }
                case '<':
                    {
                        if (prev is null || (prev.Type != 'a' && prev.Type != 'f')) throw JsonataErrors.Create("S0401", position + position0);
                        var depth = 1;
                        var end = position0 + 1;
                        while (end < signature.Length && depth > 0)
                        {
                            if (signature[end] == '<') depth++;
                            else if (signature[end] == '>') depth--;
                            end++;
                        }
                        prev.Subtype = signature[(position0 + 1)..(end - 1)];
                        position0 = end - 1;
                        break;
                    }
                case '>': break;
                default: break;
            }
            position0++;
        }
        return new Signature(signature, parameters);
    }

    public static char Symbol(object? value) => value switch
    {
        JFunction => 'f',
        string => 's',
        double => 'n',
        bool => 'b',
        JsonNull => 'l',
        JArray => 'a',
        JObject => 'o',
        _ => 'm',
    };

    public List<object?> Validate(IReadOnlyList<object?> args, object? context, string name, int position)
    {
        var supplied = new StringBuilder();
        foreach (var a in args) supplied.Append(Symbol(a));
        var sig = supplied.ToString();
        var match = _regex.Match(sig);
        if (!match.Success) throw ValidationError(args, sig, name, position);
        var validated = new List<object?>();
        var argIndex = 0;
        for (var i = 0; i < _params.Count; i++)
        {
            var param = _params[i];
            var m = match.Groups[i + 1].Value;
            if (m.Length == 0)
            {
                if (param.Context && param.ContextRegex is not null)
                {
                    var contextType = Symbol(context);
                    if (param.ContextRegex.IsMatch(contextType.ToString())) validated.Add(context);
                    else throw JsonataErrors.Create("T0411", position, value: context, index: argIndex + 1, token: name);
                }
                else
                {
                    validated.Add(argIndex < args.Count ? args[argIndex] : null);
                    argIndex++;
                }
                continue;
            }
            foreach (var single in m)
            {
                var arg = args[argIndex];
                if (param.Type == 'a')
                {
                    if (single == 'm') arg = null;
                    else
                    {
                        var ok = true;
                        if (param.Subtype is not null)
                        {
                            if (single != 'a' && m != param.Subtype) ok = false;
                            else if (single == 'a' && arg is JArray arr && arr.Count > 0)
                            {
                                var itemType = Symbol(arr[0]);
                                ok = itemType == param.Subtype[0] && arr.All(v => Symbol(v) == itemType);
                            }
                        }
                        if (!ok)
                        {
                            var typeName = param.Subtype switch
                            {
                                "a" => "arrays",
                                "b" => "booleans",
                                "f" => "functions",
                                "n" => "numbers",
                                "o" => "objects",
                                "s" => "strings",
                                _ => param.Subtype,
                            };
                            throw JsonataErrors.Create("T0412", position, value: arg, index: argIndex + 1, type: typeName, token: name);
                        }
                        if (single != 'a') arg = new JArray { arg };
                    }
                }
                validated.Add(arg);
                argIndex++;
            }
        }
        return validated;
    }

    private JsonataException ValidationError(IReadOnlyList<object?> args, string sig, string name, int position)
    {
        // the first argument that breaks the pattern: the longest prefix that still partially matches
        var partial = "^";
        var good = 0;
        foreach (var p in _params)
        {
            partial += p.Regex;
            var m = new Regex(partial, RegexOptions.CultureInvariant).Match(sig);
            if (!m.Success) break;
            good = m.Length;
        }
        return JsonataErrors.Create("T0410", position, value: good < args.Count ? args[good] : null, index: good + 1, token: name);
    }
}
