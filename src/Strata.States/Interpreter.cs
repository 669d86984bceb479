using System.Text.Json.Nodes;
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

    /// <summary>Every Task state's Resource, with its JSON pointer (<c>/States/Train/Resource</c>),
    /// in Parallel branches and Map item processors too.</summary>
    public IEnumerable<(string Resource, string Location)> TaskResources => Resources(Model, "");

    static IEnumerable<(string, string)> Resources(MachineModel machine, string at)
    {
        foreach (var name in machine.Order)
        {
            var state = machine.States[name];
            var here = $"{at}/States/{name}";
            if (state.Type == "Task" && state["Resource"] is JsonValue v && v.TryGetValue<string>(out var resource))
                yield return (resource, here + "/Resource");
            for (var i = 0; i < state.Branches.Count; i++)
                foreach (var r in Resources(state.Branches[i], $"{here}/Branches/{i}")) yield return r;
            if (state.Processor is { } processor)
                foreach (var r in Resources(processor, here + (state.Has("ItemProcessor") ? "/ItemProcessor" : "/Iterator"))) yield return r;
        }
    }
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

    /// <summary>The TestState API: runs one state once (no retry: an error a retrier would retry answers
    /// <c>RETRIABLE</c>; one a Catch handles answers <c>CAUGHT_ERROR</c> with the catcher's output and next state).
    /// <paramref name="definition"/> is a state's definition, or a whole machine with <paramref name="stateName"/>
    /// naming the state. Tasks still run through the host; <paramref name="context"/> is what <c>$$</c> shows.
    /// Throws <see cref="InvalidDefinitionException"/> for a definition AWS refuses.</summary>
    /// <param name="inspectionLevel"><c>INFO</c> (no inspection data), <c>DEBUG</c> or <c>TRACE</c>.</param>
    public static Task<TestStateResult> TestStateAsync(string definition, string? stateName, JsonNode? input, JsonObject? variables,
        string inspectionLevel, ExecutionStart context, IExecutionHost host, CancellationToken cancellationToken, TestStateOptions? options = null)
    {
        var (model, state) = TestStateDefinition.Parse(definition, stateName);
        var execution = new Execution(model, context, host)
        {
            SingleAttempt = true,
            SkipWaits = true,
            Inspection = inspectionLevel is "DEBUG" or "TRACE" ? [] : null,
            Test = options ?? new TestStateOptions(),
        };
        return execution.TestStateAsync(state, input, variables, cancellationToken);
    }

    /// <summary>The state that TestState would run: its definition (one state, or a whole machine and the name
    /// of one of its states) parsed as TestState parses it. Throws <see cref="InvalidDefinitionException"/>.</summary>
    public static (string Name, string Type, string? Resource) TestStateTarget(string definition, string? stateName)
    {
        var (_, state) = TestStateDefinition.Parse(definition, stateName);
        return (state.Name, state.Type, state["Resource"] is JsonValue v && v.TryGetValue<string>(out var r) ? r : null);
    }
}

/// <summary>TestState's mock and state configuration: a Task, Map or Parallel state's result (or error) given
/// instead of running it, how many retries its retrier has used, and the context object <c>$$</c> shows.</summary>
/// <param name="HasMock">Whether a mock was given: then the state's work is not done.</param>
/// <param name="MockResult">The mocked result (when <paramref name="MockError"/> is null).</param>
/// <param name="MockError">The mocked error's name, when an error is mocked.</param>
/// <param name="RetrierRetryCount">The retries the retrier matching the error has made already.</param>
/// <param name="Context">Members laid over the context object <c>$$</c>.</param>
/// <param name="MapItemReaderData">What a mocked distributed Map's ItemReader reads, as its source holds it (a CSV's text, …).</param>
/// <param name="MapIterationFailureCount">How many of a mocked Map's iterations failed: past its tolerated
/// failures the Map fails with <c>States.ExceedToleratedFailureThreshold</c>.</param>
public sealed record TestStateOptions(bool HasMock = false, JsonNode? MockResult = null, string? MockError = null, string? MockCause = null,
    int RetrierRetryCount = 0, JsonObject? Context = null, string? MapItemReaderData = null, int? MapIterationFailureCount = null);

/// <summary>How TestState's one state ended.</summary>
/// <param name="Status"><c>SUCCEEDED</c>, <c>FAILED</c>, <c>RETRIABLE</c> or <c>CAUGHT_ERROR</c>.</param>
/// <param name="NextState">The state it would go to next; null at an end.</param>
/// <param name="InspectionData">For DEBUG/TRACE: <c>input</c>, <c>afterInputPath</c>, <c>afterParameters</c> (or
/// <c>afterArguments</c>), <c>result</c>, <c>afterResultSelector</c>, <c>afterResultPath</c>, each a JSON string.</param>
public sealed record TestStateResult(string Status, JsonNode? Output, string? Error, string? Cause, string? NextState, JsonObject? InspectionData);
