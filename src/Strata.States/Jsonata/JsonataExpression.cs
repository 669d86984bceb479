using System.Text.Json.Nodes;

namespace Strata.States.Jsonata;

// SKELETON (branch sfn-base only): the JSONata helper replaces these bodies.

/// <summary>A compiled JSONata expression (https://docs.jsonata.org), as Step Functions evaluates them.</summary>
public sealed class JsonataExpression
{
    /// <summary>Compiles; throws <see cref="JsonataException"/> (JSONata's S0xxx codes) for a bad expression.</summary>
    public static JsonataExpression Compile(string expression) => throw new NotImplementedException();

    /// <summary>Evaluates against the input (<c>$</c>) with variables bound by name (<c>states</c> → <c>$states</c>).
    /// Returns false when the result is JSONata's undefined (no match); JSON null is true with a null result.
    /// Runtime errors throw <see cref="JsonataException"/> (T/D codes).</summary>
    public bool TryEvaluate(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? variables, out JsonNode? result) =>
        throw new NotImplementedException();
}

/// <summary>A JSONata error: its code (<c>S0201</c>, <c>T2001</c>, <c>D3001</c>…), message and position.</summary>
public sealed class JsonataException(string code, string message, int position) : Exception(message)
{
    public string Code { get; } = code;
    public int Position { get; } = position;
}
