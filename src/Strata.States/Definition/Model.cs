using System.Text.Json.Nodes;

namespace Strata.States.Definition;

/// <summary>A machine or a Parallel branch or a Map's ItemProcessor: its states, in definition order.</summary>
internal sealed class MachineModel
{
    public required string StartAt { get; init; }
    public required Dictionary<string, StateModel> States { get; init; }
    public required List<string> Order { get; init; }
    public required string QueryLanguage { get; init; }
    public int? TimeoutSeconds { get; init; }
    public string? Comment { get; init; }
}

/// <summary>One state. Fields the engine reads often are parsed once; the rest are read from <see cref="Raw"/>.</summary>
internal sealed class StateModel
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public required JsonObject Raw { get; init; }
    public required string QueryLanguage { get; init; }
    public string? Next { get; init; }
    public bool End { get; init; }
    public List<Retrier> Retry { get; init; } = [];
    public List<Catcher> Catch { get; init; } = [];
    public List<ChoiceRule> Choices { get; init; } = [];
    public string? Default { get; init; }
    public List<MachineModel> Branches { get; init; } = [];
    public MachineModel? Processor { get; init; }
    public bool IsDistributed { get; init; }

    public bool IsJsonata => QueryLanguage == Languages.Jsonata;

    public JsonNode? this[string field] => Raw[field];

    public bool Has(string field) => Raw.ContainsKey(field);
}

internal static class Languages
{
    public const string JsonPath = "JSONPath";
    public const string Jsonata = "JSONata";
}

internal sealed record Retrier(string[] ErrorEquals, double IntervalSeconds, int MaxAttempts, double BackoffRate, double? MaxDelaySeconds, bool FullJitter);

internal sealed record Catcher(string[] ErrorEquals, string Next, JsonObject Raw);

/// <summary>A Choice rule (top-level ones have Next) or a nested boolean expression.</summary>
internal sealed class ChoiceRule
{
    public required JsonObject Raw { get; init; }
    public string? Next { get; init; }
    public string? Operator { get; init; }
    public List<ChoiceRule> Children { get; init; } = [];
}
