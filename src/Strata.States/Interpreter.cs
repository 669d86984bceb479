using Strata.States.Definition;
using Strata.States.Engine;

namespace Strata.States;

/// <summary>A parsed and validated state machine definition (the Amazon States Language).</summary>
public sealed class StateMachineDefinition
{
    private StateMachineDefinition(MachineModel model) => Model = model;

    internal MachineModel Model { get; }

    /// <summary>Parses and validates; throws <see cref="InvalidDefinitionException"/> with AWS's diagnostics.</summary>
    public static StateMachineDefinition Parse(string definition)
    {
        var (model, diagnostics) = DefinitionParser.Parse(definition);
        if (model is null || diagnostics.Any(d => d.Severity == "ERROR")) throw new InvalidDefinitionException(diagnostics);
        return new StateMachineDefinition(model);
    }

    /// <summary>Every diagnostic ValidateStateMachineDefinition reports (errors and warnings); empty when valid.</summary>
    public static IReadOnlyList<DefinitionDiagnostic> Validate(string definition) => DefinitionParser.Parse(definition).Diagnostics;

    /// <summary>The top-level state names, in the order the definition lists them.</summary>
    public IReadOnlyList<string> StateNames => Model.Order;

    /// <summary>The top-level QueryLanguage: <c>JSONPath</c> (the default) or <c>JSONata</c>.</summary>
    public string QueryLanguage => Model.QueryLanguage;

    /// <summary>The machine's TimeoutSeconds, when it sets one.</summary>
    public int? TimeoutSeconds => Model.TimeoutSeconds;
}

/// <summary>One finding of validation, as ValidateStateMachineDefinition answers it.</summary>
/// <param name="Severity"><c>ERROR</c> or <c>WARNING</c>.</param>
/// <param name="Code">AWS's code: <c>SCHEMA_VALIDATION_FAILED</c>, <c>INVALID_JSON_DESCRIPTION</c>, <c>MISSING_TRANSITION_TARGET</c>, …</param>
/// <param name="Location">A JSON pointer into the definition (<c>/States/Train/Next</c>), or null.</param>
public sealed record DefinitionDiagnostic(string Severity, string Code, string Message, string? Location);

/// <summary>A definition AWS would refuse. Message is what CreateStateMachine's InvalidDefinition says.</summary>
public sealed class InvalidDefinitionException(IReadOnlyList<DefinitionDiagnostic> diagnostics)
    : Exception("Invalid State Machine Definition: '" + string.Join(", ", diagnostics.Select(d => $"{d.Code}: {d.Message}{(d.Location is null ? "" : " at " + d.Location)}")) + "'")
{
    public IReadOnlyList<DefinitionDiagnostic> Diagnostics { get; } = diagnostics;
}

/// <summary>Runs executions of a definition.</summary>
public static class Interpreter
{
    /// <summary>Runs (or, after a restart, replays then continues) one execution to its end. Emits every
    /// history event from <c>ExecutionStarted</c> to <c>ExecutionSucceeded</c>/<c>Failed</c>/<c>TimedOut</c>
    /// through the host's journal. Cancellation (StopExecution) throws OperationCanceledException; the
    /// runner then records <c>ExecutionAborted</c>.</summary>
    public static Task<ExecutionOutcome> RunAsync(StateMachineDefinition definition, ExecutionStart start, IExecutionHost host,
        CancellationToken cancellationToken) => new Execution(definition.Model, start, host).RunAsync(cancellationToken);
}
