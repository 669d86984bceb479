using System.Text.Json;

namespace Strata.Server.Services.Events;

/// <summary>An event pattern EventBridge would refuse; the message is AWS's whole message
/// ("Event pattern is not valid. Reason: ..."), for the service to answer as InvalidEventPatternException.</summary>
public sealed class InvalidEventPatternException : Exception
{
    const string Prefix = "Event pattern is not valid. Reason: ";

    public InvalidEventPatternException(string reason) : base(Prefix + reason) => Reason = reason;

    /// <summary>The part after "Reason: ", position included where AWS includes one.</summary>
    public string Reason { get; }
}

/// <summary>
/// The EventBridge event-pattern language, compiled once and matched against many events. Pure: no
/// I/O, no clock. A pattern is a JSON object whose leaves are arrays of conditions: the pattern
/// matches when every field matches (AND) and a field matches when any of its conditions does (OR).
/// Conditions: exact strings (IP addresses compared as addresses), numbers (compared as numbers),
/// true/false/null; <c>prefix</c>, <c>suffix</c> (each optionally <c>equals-ignore-case</c>),
/// <c>equals-ignore-case</c>, <c>wildcard</c>, <c>anything-but</c> (values, lists, prefix, suffix,
/// wildcard, equals-ignore-case), <c>numeric</c> ranges, <c>exists</c>, <c>cidr</c>; <c>$or</c> at
/// any level. Validation and its messages follow AWS's compiler (event-ruler) step by step, including
/// where it reports the parser's position. Semantics follow it too: an event array matches when any
/// element does (arrays inside arrays are flattened), a nested pattern must be satisfied within one
/// element of an event array, and only leaf values (strings, numbers, booleans, null) are values.
/// </summary>
public sealed class EventPattern
{
    readonly ObjectRule _root;

    EventPattern(ObjectRule root) => _root = root;

    /// <summary>Compiles a pattern; throws <see cref="InvalidEventPatternException"/> with AWS's message
    /// for whatever EventBridge refuses, and nothing else.</summary>
    public static EventPattern Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new EventPattern(new EventPatternCompiler(json).Compile());
    }

    /// <summary>Whether the event (a JSON object) matches.</summary>
    public bool Matches(JsonElement @event) => @event.ValueKind == JsonValueKind.Object && _root.Matches(@event);

    /// <summary>Whether the event, given as JSON text, matches; the text must be JSON.</summary>
    public bool Matches(string eventJson)
    {
        using var document = JsonDocument.Parse(eventJson);
        return Matches(document.RootElement);
    }
}

/// <summary>The conditions on one object of the event: its leaf fields, its nested objects and its
/// <c>$or</c> groups (each a list of alternatives at this same level).</summary>
sealed class ObjectRule
{
    public Dictionary<string, List<PatternCondition>> Leaves { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, ObjectRule> Children { get; } = new(StringComparer.Ordinal);
    public List<List<ObjectRule>> OrGroups { get; } = [];

    /// <summary>Matches an event object; <paramref name="obj"/> is default when the object is absent,
    /// where only conditions that ask for absence can hold.</summary>
    public bool Matches(JsonElement obj)
    {
        var present = obj.ValueKind == JsonValueKind.Object;
        foreach (var (name, conditions) in Leaves)
        {
            var values = new List<JsonElement>();
            if (present && obj.TryGetProperty(name, out var value)) CollectLeaves(value, values);
            var any = false;
            foreach (var condition in conditions)
            {
                if (condition.Matches(values))
                {
                    any = true;
                    break;
                }
            }
            if (!any) return false;
        }
        foreach (var (name, child) in Children)
        {
            if (!present || !obj.TryGetProperty(name, out var value))
            {
                if (!child.Matches(default)) return false;
                continue;
            }
            if (value.ValueKind == JsonValueKind.Array)
            {
                // A nested pattern must hold within one element: fields of different elements of
                // the same array never combine (AWS's array-consistent matching).
                var objects = new List<JsonElement>();
                CollectObjects(value, objects);
                if (objects.Count == 0 ? !child.Matches(default) : !objects.Exists(child.Matches)) return false;
                continue;
            }
            if (!child.Matches(value.ValueKind == JsonValueKind.Object ? value : default)) return false;
        }
        foreach (var group in OrGroups)
        {
            if (!group.Exists(alternative => alternative.Matches(obj))) return false;
        }
        return true;
    }

    /// <summary>The leaf values at a field: the value itself, or every leaf in an array (however deep).</summary>
    static void CollectLeaves(JsonElement value, List<JsonElement> into)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray()) CollectLeaves(item, into);
                break;
            case JsonValueKind.Object:
                break;
            default:
                into.Add(value);
                break;
        }
    }

    static void CollectObjects(JsonElement value, List<JsonElement> into)
    {
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object) into.Add(item);
            else if (item.ValueKind == JsonValueKind.Array) CollectObjects(item, into);
        }
    }
}
