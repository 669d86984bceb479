using System.Text.Json.Nodes;

namespace Strata.States.Jsonata;

/// <summary>A compiled JSONata expression (https://docs.jsonata.org), as Step Functions evaluates them. Immutable once
/// compiled: one instance can be evaluated from many threads at once (each evaluation has its own scope).</summary>
public sealed class JsonataExpression
{
    private readonly Node _ast;

    private JsonataExpression(string text, Node ast)
    {
        Text = text;
        _ast = ast;
    }

    /// <summary>The expression's text.</summary>
    public string Text { get; }

    /// <summary>Compiles; throws <see cref="JsonataException"/> (JSONata's S0xxx codes) for a bad expression.</summary>
    public static JsonataExpression Compile(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return new JsonataExpression(expression, Parser.Parse(expression));
    }

    /// <summary>Evaluates against the input (<c>$</c>) with variables bound by name (<c>states</c> → <c>$states</c>).
    /// Returns false when the result is JSONata's undefined (no match); JSON null is true with a null result.
    /// A null input (or variable) is JSON null. Runtime errors throw <see cref="JsonataException"/> (T/D codes; U1001 when
    /// an evaluation recurses too deep or runs past its step budget). The result shares nothing with the input.</summary>
    public bool TryEvaluate(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? variables, out JsonNode? result) =>
        TryEvaluate(input, variables, null, out result);

    /// <summary>As <see cref="TryEvaluate(JsonNode?, IReadOnlyDictionary{string, JsonNode?}?, out JsonNode?)"/>, with the
    /// clock ($now, $millis) and randomness ($random, $shuffle, $uuid) the caller chooses.</summary>
    public bool TryEvaluate(JsonNode? input, IReadOnlyDictionary<string, JsonNode?>? variables, JsonataEvaluationOptions? options,
        out JsonNode? result)
    {
        var context = new EvalContext((options?.TimeProvider ?? TimeProvider.System).GetUtcNow(), options?.Random ?? Random.Shared,
            options?.MaxSteps ?? JsonataEvaluationOptions.DefaultMaxSteps);
        var root = new Frame(null, context);
        var value = Values.FromNode(input);
        if (value is JArray array)
            value = Functions.Wrap(array);
        root.Bind("$", value);
        if (variables is not null)
            foreach (var (name, node) in variables) root.Bind(name, Values.FromNode(node));
        var frame = root.Child();
        object? output;
        try
        {
            output = Evaluator.Evaluate(_ast, value, frame);
        }
        catch (InsufficientExecutionStackException)
        {
            throw JsonataErrors.Create("U1001", 0);
        }
        if (output is null)
        {
            result = null;
            return false;
        }
        result = Values.ToNode(output);
        return true;
    }

    public override string ToString() => Text;
}

/// <summary>What an evaluation reads from outside: the clock and a source of randomness (both optional).</summary>
public sealed class JsonataEvaluationOptions
{
    public TimeProvider? TimeProvider { get; init; }
    /// <summary>Used by one evaluation at a time (Random is not thread-safe); default Random.Shared.</summary>
    public Random? Random { get; init; }

    /// <summary>The most evaluation steps one evaluation may take before it fails with U1001 (an endless tail recursion
    /// would otherwise never return); default <see cref="DefaultMaxSteps"/>.</summary>
    public long? MaxSteps { get; init; }

    public const long DefaultMaxSteps = 50_000_000;
}

/// <summary>A JSONata error: its code (<c>S0201</c>, <c>T2001</c>, <c>D3001</c>…), message and position.</summary>
public sealed class JsonataException(string code, string message, int position) : Exception(message)
{
    public string Code { get; } = code;
    public int Position { get; } = position;
}
