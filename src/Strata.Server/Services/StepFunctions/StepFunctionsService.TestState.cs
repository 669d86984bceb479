using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Protocol;
using Strata.States;

namespace Strata.Server.Services.StepFunctions;

/// <summary>TestState: one state run once, outside any state machine. A Task calls its service as the
/// given role, as an execution's task would; a mock stands in for a Task's, Map's or Parallel's work
/// (and is then the only way to test a Map, a Parallel, an activity, <c>.sync</c> or <c>.waitForTaskToken</c>,
/// as on AWS). A Wait state does not wait. Nothing is recorded: no execution, no history.</summary>
public sealed partial class StepFunctionsService
{
    const string TestStateMachineName = "TestStateStateMachine";

    async Task<TestStateOutput> TestState(TestStateInput request, RequestContext ctx)
    {
        (string Name, string Type, string? Resource) target;
        try { target = Interpreter.TestStateTarget(request.Definition!, request.StateName); }
        catch (InvalidDefinitionException e) { throw new BadDefinition(e.Message); }

        var mock = request.Mock;
        var options = new TestStateOptions();
        if (mock is not null)
        {
            if (target.Type is not ("Task" or "Map" or "Parallel"))
                throw new StatesValidation($"A mock can only be specified for Task, Map, or Parallel states, but the state '{target.Name}' is a {target.Type} state.");
            if ((mock.Result is null) == (mock.ErrorOutput is null))
                throw new StatesValidation("A mock must specify exactly one of 'result' and 'errorOutput'.");
            if (mock.ErrorOutput is { } error)
            {
                if (string.IsNullOrEmpty(error.Error)) throw new StatesValidation("The field 'mock.errorOutput.error' is required.");
                options = options with { HasMock = true, MockError = error.Error, MockCause = error.Cause };
            }
            else options = options with { HasMock = true, MockResult = ParseJson(mock.Result!, "mock.result") };
        }
        else
        {
            if (request.Context is not null) throw new StatesValidation("The field 'context' may only be specified together with a mock.");
            var refused = target.Type switch
            {
                "Map" or "Parallel" => $"a {target.Type} state",
                "Task" when target.Resource?.Split(':') is ["arn", _, "states", _, _, "activity", ..] => "an Activity task",
                "Task" when target.Resource?.EndsWith(".waitForTaskToken", StringComparison.Ordinal) == true => "the .waitForTaskToken integration pattern",
                "Task" when target.Resource?.Contains(".sync", StringComparison.Ordinal) == true => "the .sync integration pattern",
                _ => null,
            };
            if (refused is not null) throw new StatesValidation($"TestState supports {refused} only when a mock is specified.");
            if (target.Type == "Task" && request.RoleArn is null)
                throw new StatesValidation("The field 'roleArn' is required to test a Task state without a mock.");
        }
        if (request.RoleArn is { } role) CheckRole(role, ctx);
        if (request.RevealSecrets == true) ctx.Authorize("states:RevealSecrets", "*");

        JsonNode? input;
        try { input = JsonNode.Parse(request.Input ?? "{}", documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new BadExecutionInput(e.Message); }
        var variables = request.Variables is null ? null
            : ParseJson(request.Variables, "variables") as JsonObject ?? throw new StatesValidation("The field 'variables' must be a JSON object.");
        if (request.Context is not null)
            options = options with { Context = ParseJson(request.Context, "context") as JsonObject ?? throw new StatesValidation("The field 'context' must be a JSON object.") };
        if (request.StateConfiguration is { } configuration)
            options = options with
            {
                RetrierRetryCount = configuration.RetrierRetryCount ?? 0,
                MapItemReaderData = configuration.MapItemReaderData,
                MapIterationFailureCount = configuration.MapIterationFailureCount,
            };

        var account = ctx.Principal.AccountId;
        var name = Guid.NewGuid().ToString();
        var execution = new ExecutionRow
        {
            Account = account,
            ExecutionArn = ExecutionArn(account, TestStateMachineName, name),
            Name = name,
            StateMachineArn = MachineArn(account, TestStateMachineName),
            StateMachineName = TestStateMachineName,
            Type = "STANDARD",
            Definition = request.Definition!,
            RoleArn = request.RoleArn ?? "",
            StartDate = clock.GetUtcNow(),
            Input = request.Input,
        };
        var level = request.InspectionLevel ?? "INFO";
        TestStateResult result;
        try { result = await runner.TestStateAsync(execution, request.StateName, input, variables, level, options, ctx.Http.RequestAborted); }
        catch (InvalidDefinitionException e) { throw new BadDefinition(e.Message); }
        return new TestStateOutput
        {
            Status = result.Status,
            Output = result.Status is "SUCCEEDED" or "CAUGHT_ERROR" ? result.Output?.ToJsonString() ?? "null" : null,
            Error = result.Error,
            Cause = result.Cause,
            NextState = result.NextState,
            InspectionData = result.InspectionData?.Deserialize(StepFunctionsJson.Default.InspectionData),
        };
    }

    static JsonNode? ParseJson(string text, string field)
    {
        try { return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }); }
        catch (JsonException e) { throw new StatesValidation($"The field '{field}' is not valid JSON: {e.Message}"); }
    }
}
