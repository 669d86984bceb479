using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.States.Definition;

/// <summary>TestState's definition: one state (its transitions point outside it, so each target is stood in
/// for by a Succeed state to validate), or a whole machine and the name of the state to test.</summary>
internal static class TestStateDefinition
{
    public const string DefaultName = "TestState";

    public static (MachineModel Machine, StateModel State) Parse(string definition, string? stateName)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(definition) as JsonObject
                ?? throw new InvalidDefinitionException([new DefinitionDiagnostic("ERROR", "INVALID_JSON_DESCRIPTION", "The definition must be a JSON object", null)]);
        }
        catch (JsonException e)
        {
            throw new InvalidDefinitionException([new DefinitionDiagnostic("ERROR", "INVALID_JSON_DESCRIPTION", e.Message, null)]);
        }
        string text;
        string name;
        if (root.ContainsKey("States"))
        {
            text = definition;
            name = stateName ?? root["StartAt"]?.GetValue<string>() ?? "";
        }
        else
        {
            name = stateName ?? DefaultName;
            var states = new JsonObject { [name] = root.DeepClone() };
            foreach (var target in Targets(root))
                if (target != name && !states.ContainsKey(target)) states[target] = new JsonObject { ["Type"] = "Succeed" };
            text = new JsonObject { ["StartAt"] = name, ["States"] = states }.ToJsonString();
        }
        var (model, diagnostics) = DefinitionParser.Parse(text);
        var errors = diagnostics.Where(d => !(d.Code == "MISSING_TRANSITION_TARGET" && d.Message.EndsWith("is not reachable.", StringComparison.Ordinal))).ToList();
        if (model is null || errors.Count > 0)
        {
            if (errors.Count > 0) throw new InvalidDefinitionException(errors);
            (model, _) = DefinitionParser.Parse(text, allowUnreachable: true);
        }
        if (model is null || !model.States.TryGetValue(name, out var state))
            throw new InvalidDefinitionException([new DefinitionDiagnostic("ERROR", "SCHEMA_VALIDATION_FAILED", $"The state '{name}' is not in the definition", null)]);
        return (model, state);
    }

    private static IEnumerable<string> Targets(JsonObject state)
    {
        foreach (var field in new[] { "Next", "Default" })
            if (state[field] is JsonValue v && v.TryGetValue<string>(out var s)) yield return s;
        foreach (var list in new[] { "Choices", "Catch" })
            if (state[list] is JsonArray a)
                foreach (var item in a)
                    if (item?["Next"] is JsonValue n && n.TryGetValue<string>(out var s)) yield return s;
    }
}
