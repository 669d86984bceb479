using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Server.Services.Events;

/// <summary>A target's input settings that EventBridge would refuse; the message says which.</summary>
public sealed class InvalidEventInputException(string message) : Exception(message);

/// <summary>
/// What a target receives for an event, as EventBridge builds it: the event itself, a constant
/// <c>Input</c>, the part <c>InputPath</c> selects, or an <c>InputTransformer</c>'s template with
/// <c>&lt;name&gt;</c> placeholders filled from <c>InputPathsMap</c> and the predefined
/// <c>aws.events.*</c> variables. A placeholder inside a JSON string takes the value's text (a
/// string without its quotes), one outside takes the value as JSON; a path the event does not
/// have gives an empty string inside quotes and <c>null</c> outside. Pure.
/// </summary>
public static class EventInput
{
    static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The predefined variables an InputTemplate may use without mapping them.</summary>
    public static readonly string[] Predefined = ["aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time", "aws.events.event", "aws.events.event.json"];

    /// <summary>Refuses settings EventBridge refuses: a path that is not a JSON path, a map over
    /// 100 entries or with names that are not [A-Za-z0-9_-] or are predefined, a transformer
    /// without a template. (A placeholder with no mapping is left as written.)</summary>
    public static void Check(string? inputPath, IReadOnlyDictionary<string, string>? pathsMap, string? template)
    {
        if (inputPath is not null) Path(inputPath);
        if (pathsMap is null && template is null) return;
        if (template is null) throw new InvalidEventInputException("InputTemplate is required in an InputTransformer.");
        if (pathsMap is { Count: > 100 }) throw new InvalidEventInputException("InputPathsMap can have at most 100 entries.");
        foreach (var (name, path) in pathsMap ?? new Dictionary<string, string>())
        {
            if (Predefined.Contains(name)) throw new InvalidEventInputException($"InputPathsMap key '{name}' is reserved by EventBridge.");
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                throw new InvalidEventInputException($"InputPathsMap key '{name}' is not valid: use letters, digits, '_' and '-'.");
            Path(path);
        }
    }

    /// <summary>The payload for a target of a rule, for an event (its JSON as delivered).</summary>
    public static string For(string eventJson, string? input, string? inputPath, IReadOnlyDictionary<string, string>? pathsMap, string? template,
        string ruleArn, string ruleName, DateTimeOffset ingested)
    {
        if (input is not null) return input;
        var root = JsonNode.Parse(eventJson);
        if (inputPath is not null) return Select(root, Path(inputPath))?.ToJsonString(Compact) ?? "null";
        if (template is null) return eventJson;
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["aws.events.rule-arn"] = ruleArn,
            ["aws.events.rule-name"] = ruleName,
            ["aws.events.event.ingestion-time"] = ingested.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["aws.events.event"] = root?.DeepClone(),
            ["aws.events.event.json"] = root?.DeepClone(),
        };
        foreach (var (name, path) in pathsMap ?? new Dictionary<string, string>()) values[name] = Select(root, Path(path))?.DeepClone();
        return Fill(template, values);
    }

    /// <summary>Replaces each &lt;name&gt; the values know, tracking whether it stands inside a
    /// JSON string of the template.</summary>
    static string Fill(string template, Dictionary<string, JsonNode?> values)
    {
        var text = new StringBuilder(template.Length);
        var inString = false;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '<' && template.IndexOf('>', i + 1) is var end and > 0 && values.TryGetValue(template[(i + 1)..end], out var value))
            {
                if (inString)
                {
                    var raw = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString(Compact) ?? "";
                    // Keep the string it stands in valid JSON.
                    text.Append(JsonSerializer.Serialize(raw, Compact)[1..^1]);
                }
                else text.Append(value?.ToJsonString(Compact) ?? "null");
                i = end;
                continue;
            }
            if (c == '"' && !Escaped(template, i)) inString = !inString;
            text.Append(c);
        }
        return text.ToString();

        static bool Escaped(string s, int at)
        {
            var backslashes = 0;
            for (var j = at - 1; j >= 0 && s[j] == '\\'; j--) backslashes++;
            return backslashes % 2 == 1;
        }
    }

    /// <summary>A JSON path of the form EventBridge takes: <c>$</c>, then <c>.name</c>,
    /// <c>['name']</c> or <c>[index]</c> steps.</summary>
    static List<object> Path(string path)
    {
        if (!path.StartsWith('$')) throw new InvalidEventInputException($"'{path}' is not a valid JSON path: it must start with '$'.");
        var steps = new List<object>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var start = ++i;
                while (i < path.Length && path[i] is not ('.' or '[')) i++;
                if (i == start) throw new InvalidEventInputException($"'{path}' is not a valid JSON path: a name is empty.");
                steps.Add(path[start..i]);
            }
            else if (path[i] == '[')
            {
                var close = path.IndexOf(']', i);
                if (close < 0) throw new InvalidEventInputException($"'{path}' is not a valid JSON path: '[' is not closed.");
                var inner = path[(i + 1)..close];
                if (inner.Length >= 2 && inner[0] is '\'' or '"' && inner[^1] == inner[0]) steps.Add(inner[1..^1]);
                else if (int.TryParse(inner, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)) steps.Add(index);
                else throw new InvalidEventInputException($"'{path}' is not a valid JSON path: '[{inner}]' is neither an index nor a quoted name.");
                i = close + 1;
            }
            else throw new InvalidEventInputException($"'{path}' is not a valid JSON path at '{path[i..]}'.");
        }
        return steps;
    }

    static JsonNode? Select(JsonNode? node, List<object> steps)
    {
        foreach (var step in steps)
        {
            node = (step, node) switch
            {
                (string name, JsonObject o) => o[name],
                (int index, JsonArray a) when index < a.Count => a[index],
                _ => null,
            };
            if (node is null) return null;
        }
        return node;
    }
}
