using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Auth;
using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Protocol;
using Strata.States;

namespace Strata.Server.Services.StepFunctions;

/// <summary>
/// AWS Step Functions (JSON 1.0, <c>AWSStepFunctions</c>): state machines (STANDARD and EXPRESS),
/// their executions and histories, and tags. Definitions are parsed and validated by the States
/// library; executions run in <see cref="ExecutionRunner"/> (STANDARD durably, in the background;
/// EXPRESS in memory, StartSyncExecution waiting for the end).
/// </summary>
public sealed partial class StepFunctionsService(StepFunctionsStore store, ExecutionStore executions, ExecutionRunner runner, ExecutionRoles roles,
    TimeProvider clock, string region, ILogger<StepFunctionsService> log)
{
    const int MaxTags = 50;

    public IEnumerable<Operation> Operations =>
    [
        StepFunctionsOperations.CreateStateMachine.Bind("states:CreateStateMachine", (r, ctx) => MachineArn(ctx.Principal.AccountId, r.Name ?? "*"), CreateStateMachine),
        StepFunctionsOperations.DescribeStateMachine.Bind("states:DescribeStateMachine", (r, ctx) => Authorized(r.StateMachineArn!, ctx), DescribeStateMachine),
        StepFunctionsOperations.UpdateStateMachine.Bind("states:UpdateStateMachine", (r, _) => r.StateMachineArn!, UpdateStateMachine),
        StepFunctionsOperations.DeleteStateMachine.Bind("states:DeleteStateMachine", (r, _) => r.StateMachineArn!, DeleteStateMachine),
        StepFunctionsOperations.ListStateMachines.Bind("states:ListStateMachines", (_, ctx) => MachineArn(ctx.Principal.AccountId, "*"), ListStateMachines),
        StepFunctionsOperations.ValidateStateMachineDefinition.Bind("states:ValidateStateMachineDefinition", (_, _) => "*", ValidateStateMachineDefinition),
        StepFunctionsOperations.StartExecution.Bind("states:StartExecution", (r, ctx) => Authorized(r.StateMachineArn!, ctx), StartExecution),
        StepFunctionsOperations.StartSyncExecution.Bind("states:StartSyncExecution", (r, ctx) => Authorized(r.StateMachineArn!, ctx), StartSyncExecution),
        StepFunctionsOperations.DescribeExecution.Bind("states:DescribeExecution", (r, _) => r.ExecutionArn!, DescribeExecution),
        StepFunctionsOperations.ListExecutions.Bind("states:ListExecutions", (r, ctx) => r.StateMachineArn is { } arn ? Authorized(arn, ctx) : MachineArn(ctx.Principal.AccountId, "*"),
            ListExecutions),
        StepFunctionsOperations.GetExecutionHistory.Bind("states:GetExecutionHistory", (r, _) => r.ExecutionArn!, GetExecutionHistory),
        StepFunctionsOperations.StopExecution.Bind("states:StopExecution", (r, _) => r.ExecutionArn!, StopExecution),
        StepFunctionsOperations.RedriveExecution.Bind("states:RedriveExecution", (r, _) => r.ExecutionArn!, RedriveExecution),
        StepFunctionsOperations.DescribeStateMachineForExecution.Bind("states:DescribeStateMachineForExecution", (r, _) => r.ExecutionArn!, DescribeStateMachineForExecution),
        StepFunctionsOperations.TagResource.Bind("states:TagResource", (r, _) => r.ResourceArn!, TagResource),
        StepFunctionsOperations.UntagResource.Bind("states:UntagResource", (r, _) => r.ResourceArn!, UntagResource),
        StepFunctionsOperations.ListTagsForResource.Bind("states:ListTagsForResource", (r, _) => r.ResourceArn!, ListTagsForResource),
        StepFunctionsOperations.TestState.Bind("states:TestState", (_, _) => "*", TestState),
        .. ActivityOperations,
        .. MapRunOperations,
        .. VersionOperations,
    ];

    // ---- ARNs and names ----

    string MachineArn(string account, string name) => $"arn:aws:states:{region}:{account}:stateMachine:{name}";

    string ExecutionArn(string account, string machine, string name) => $"arn:aws:states:{region}:{account}:execution:{machine}:{name}";

    /// <summary>The account and name of a state machine ARN the caller may address; a version or alias
    /// ARN (<c>…:stateMachine:NAME:1</c>) is not the machine itself: no such machine.</summary>
    (string Account, string Name) ParseMachineArn(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "stateMachine");
        if (parts.Length != 7) throw new StateMachineNotFound(arn);
        if (parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new StateMachineNotFound(arn);
        return (parts[4], parts[6]);
    }

    (string Account, string Machine, string Name) ParseExecutionArn(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "execution", "express");
        if (parts.Length < 8 || parts[5] == "express" || parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new ExecutionNotFound(arn);
        if (parts.Length != 8) throw new BadArn($"Invalid ARN: {arn}");
        return (parts[4], parts[6], parts[7]);
    }

    /// <summary>The parts of a Step Functions ARN whose resource type is one of <paramref name="types"/>;
    /// otherwise InvalidArn, saying what is wrong as AWS does.</summary>
    static string[] ParseArn(string arn, params string[] types)
    {
        var parts = arn.Split(':');
        if (parts.Length < 6 || parts[0] != "arn" || parts[1] is not ("aws" or "aws-cn" or "aws-us-gov") || parts[2] != "states")
            throw new BadArn($"Invalid ARN prefix: {arn}");
        if (!types.Contains(parts[5], StringComparer.Ordinal))
            throw new BadArn($"Resource type not valid in this context: {parts[5]}");
        if (parts.Length < 7 || parts.Skip(6).Any(p => p.Length == 0))
            throw new BadArn($"Invalid ARN: {arn}");
        return parts;
    }

    /// <summary>Names of machines and executions: 1–80 characters, none of whitespace, brackets,
    /// wildcards, the special characters AWS lists, or control characters.</summary>
    static void CheckName(string name)
    {
        if (name.Length is 0 or > 80) throw new BadName(name);
        foreach (var c in name)
        {
            if (char.IsWhiteSpace(c) || c <= '\u001f' || c is >= '\u007f' and <= '\u009f' || "<>{}[]?*\"#%\\^|~`$&,;:/".Contains(c))
                throw new BadName(name);
        }
    }

    StateMachineRow Machine(RequestContext ctx, string arn)
    {
        var (account, name) = ParseMachineArn(ctx, arn);
        return store.Get(account, name) ?? throw new StateMachineNotFound(arn);
    }

    ExecutionRow Execution(RequestContext ctx, string arn)
    {
        var (account, machine, name) = ParseExecutionArn(ctx, arn);
        return executions.Get(account, machine, name) ?? throw new ExecutionNotFound(arn);
    }

    /// <summary>Throws JsonException unless <paramref name="json"/> is one JSON value whose objects
    /// name each member once (JsonNode would take a duplicate now and fail when a state reads it).</summary>
    internal static void CheckJson(string json) => JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false }).Dispose();

    static StateMachineDefinition Parse(string definition, string type)
    {
        StateMachineDefinition parsed;
        try { parsed = StateMachineDefinition.Parse(definition); }
        catch (InvalidDefinitionException e) { throw new BadDefinition(e.Message); }
        // An EXPRESS execution lives at most five minutes and is not stored: it cannot wait for a job,
        // a callback or an activity worker, so AWS refuses those tasks in its definition.
        if (type == "EXPRESS")
            foreach (var (resource, location) in parsed.TaskResources)
            {
                var refused = resource.EndsWith(".sync", StringComparison.Ordinal) || resource.EndsWith(".sync:2", StringComparison.Ordinal) ? "'.sync' service integration"
                    : resource.EndsWith(".waitForTaskToken", StringComparison.Ordinal) ? "'.waitForTaskToken' service integration"
                    : resource.Contains(":activity:", StringComparison.Ordinal) ? "Activity ARN"
                    : null;
                if (refused is not null)
                    throw new BadDefinition($"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support {refused} at {location}'");
            }
        return parsed;
    }

    /// <summary>The role must exist and let Step Functions assume it, as AWS checks at creation; the
    /// caller must be allowed to pass it to Step Functions (iam:PassRole, iam:PassedToService
    /// states.amazonaws.com), and it must be the account's own: the machine acts as that role.</summary>
    static void CheckPassRole(string roleArn, RequestContext ctx)
    {
        ctx.ConditionKeys["iam:PassedToService"] = [TaskIntegrations.StatesService];
        ctx.Authorize("iam:PassRole", roleArn);
        if (roleArn.Split(':') is not [_, _, _, _, var roleAccount, _] || roleAccount != ctx.Principal.AccountId)
            throw new AwsException("AccessDeniedException", 400, $"The role {roleArn} is not in the account {ctx.Principal.AccountId}.");
    }

    void CheckRole(string roleArn, RequestContext ctx)
    {
        if (!roleArn.StartsWith("arn:aws:iam::", StringComparison.Ordinal) || !roleArn.Contains(":role/", StringComparison.Ordinal))
            throw new BadArn($"Invalid ARN prefix: {roleArn}");
        CheckPassRole(roleArn, ctx);
        if (roles.CannotAssume(roleArn, TaskIntegrations.StatesService) is not null)
            throw new AwsException("AccessDeniedException", 400,
                "Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role.");
    }

    static string? Logging(LoggingConfiguration? logging, string type)
    {
        if (logging is null) return null;
        var level = logging.Level ?? "OFF";
        var destinations = logging.Destinations ?? [];
        if (destinations.Count > 1) throw new BadLoggingConfiguration("Invalid Logging Configuration: Must specify exactly one Log Destination.");
        if (level != "OFF" && destinations.Count == 0)
            throw new BadLoggingConfiguration("Invalid Logging Configuration: Must specify exactly one Log Destination.");
        foreach (var d in destinations)
        {
            var group = d.CloudWatchLogsLogGroup?.LogGroupArn;
            if (group is null || !group.StartsWith("arn:aws:logs:", StringComparison.Ordinal) || !group.EndsWith(":*", StringComparison.Ordinal))
                throw new BadLoggingConfiguration($"Invalid Logging Configuration: Log Destination not valid. Must be a CloudWatch Logs log group ARN ending with ':*': {group}");
        }
        _ = type;
        return JsonSerializer.Serialize(logging with { Level = level, IncludeExecutionData = logging.IncludeExecutionData ?? false },
            StepFunctionsJson.Default.LoggingConfiguration);
    }

    static LoggingConfiguration LoggingOf(string? json)
        => json is null ? new LoggingConfiguration { Level = "OFF", IncludeExecutionData = false }
            : JsonSerializer.Deserialize(json, StepFunctionsJson.Default.LoggingConfiguration)!;

    static TracingConfiguration TracingOf(string? json)
        => json is null ? new TracingConfiguration { Enabled = false } : JsonSerializer.Deserialize(json, StepFunctionsJson.Default.TracingConfiguration)!;

    // ---- state machines ----

    CreateStateMachineOutput CreateStateMachine(CreateStateMachineInput request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        CheckName(request.Name!);
        CheckVersionDescription(request.Publish, request.VersionDescription);
        // Publishing while creating needs the publish permission too (AWS's rule for versions).
        if (request.Publish == true) ctx.Authorize("states:PublishStateMachineVersion", MachineArn(account, request.Name!));
        var type = request.Type ?? "STANDARD";
        Parse(request.Definition!, type);
        CheckRole(request.RoleArn!, ctx);
        var logging = Logging(request.LoggingConfiguration, type);
        var tracing = request.TracingConfiguration is { } t ? JsonSerializer.Serialize(t with { Enabled = t.Enabled ?? false }, StepFunctionsJson.Default.TracingConfiguration) : null;
        var tags = Tags(request.Tags);
        if (tags.Count > MaxTags) throw new TooManyStatesTags(MachineArn(account, request.Name!));
        var row = new StateMachineRow
        {
            Name = request.Name!,
            Arn = MachineArn(account, request.Name!),
            Definition = request.Definition!,
            RoleArn = request.RoleArn!,
            Type = type,
            CreationDate = clock.GetUtcNow(),
            RevisionId = Guid.NewGuid().ToString(),
            LoggingConfiguration = logging,
            TracingConfiguration = tracing,
            Tags = tags,
        };
        if (store.Add(account, row) is { } existing)
        {
            // Creating the same machine again is idempotent; a different one of that name is refused.
            if (existing.Definition != row.Definition || existing.RoleArn != row.RoleArn || existing.Type != row.Type
                || (logging is not null && existing.LoggingConfiguration != logging) || (tracing is not null && existing.TracingConfiguration != tracing))
                throw new StateMachineExists(existing.Arn);
            return new CreateStateMachineOutput
            {
                StateMachineArn = existing.Arn,
                CreationDate = existing.CreationDate,
                StateMachineVersionArn = request.Publish == true ? Publish(account, existing.Name, existing.Arn, null, request.VersionDescription).Arn : null,
            };
        }
        return new CreateStateMachineOutput
        {
            StateMachineArn = row.Arn,
            CreationDate = row.CreationDate,
            StateMachineVersionArn = request.Publish == true ? Publish(account, row.Name, row.Arn, null, request.VersionDescription).Arn : null,
        };
    }

    DescribeStateMachineOutput DescribeStateMachine(DescribeStateMachineInput request, RequestContext ctx)
    {
        var (account, name, qualifier) = ParseQualifiedArn(ctx, request.StateMachineArn!);
        var m = store.Get(account, name) ?? throw new StateMachineNotFound(request.StateMachineArn!);
        if (qualifier is not null)
        {
            // A version describes the snapshot it keeps; an alias is described by DescribeStateMachineAlias.
            var v = (VersionNumber(qualifier) is { } number ? store.GetVersion(account, name, number) : null)
                ?? throw new StateMachineNotFound(request.StateMachineArn!);
            return new DescribeStateMachineOutput
            {
                StateMachineArn = v.Arn,
                Name = m.Name,
                Status = "ACTIVE",
                Definition = v.Definition,
                RoleArn = v.RoleArn,
                Type = v.Type,
                CreationDate = v.CreationDate,
                LoggingConfiguration = LoggingOf(v.LoggingConfiguration),
                TracingConfiguration = TracingOf(v.TracingConfiguration),
                RevisionId = v.RevisionId,
                Description = v.Description,
            };
        }
        return new DescribeStateMachineOutput
        {
            StateMachineArn = m.Arn,
            Name = m.Name,
            Status = "ACTIVE",
            Definition = m.Definition,
            RoleArn = m.RoleArn,
            Type = m.Type,
            CreationDate = m.CreationDate,
            LoggingConfiguration = LoggingOf(m.LoggingConfiguration),
            TracingConfiguration = TracingOf(m.TracingConfiguration),
            RevisionId = m.RevisionId,
        };
    }

    UpdateStateMachineOutput UpdateStateMachine(UpdateStateMachineInput request, RequestContext ctx)
    {
        if (request.Definition is null && request.RoleArn is null && request.LoggingConfiguration is null && request.TracingConfiguration is null)
            throw new MissingStatesParameter("Either the role ARN, definition, logging or tracing configuration must be specified");
        CheckVersionDescription(request.Publish, request.VersionDescription);
        var current = Machine(ctx, request.StateMachineArn!);
        if (request.Publish == true) ctx.Authorize("states:PublishStateMachineVersion", current.Arn);
        if (request.Definition is { } definition) Parse(definition, current.Type);
        if (request.RoleArn is { } role) CheckRole(role, ctx);
        var logging = Logging(request.LoggingConfiguration, current.Type);
        var now = clock.GetUtcNow();
        var (updated, version) = store.UpdateAndPublish(ctx.Principal.AccountId, current.Name, m => m with
        {
            Definition = request.Definition ?? m.Definition,
            RoleArn = request.RoleArn ?? m.RoleArn,
            LoggingConfiguration = logging ?? m.LoggingConfiguration,
            TracingConfiguration = request.TracingConfiguration is { } t
                ? JsonSerializer.Serialize(t with { Enabled = t.Enabled ?? false }, StepFunctionsJson.Default.TracingConfiguration) : m.TracingConfiguration,
            UpdateDate = now,
            RevisionId = Guid.NewGuid().ToString(),
        }, request.Publish == true, request.VersionDescription, now) ?? throw new StateMachineNotFound(request.StateMachineArn!);
        return new UpdateStateMachineOutput
        {
            UpdateDate = now,
            RevisionId = updated.RevisionId,
            StateMachineVersionArn = version?.Arn,
        };
    }

    async Task<DeleteStateMachineOutput> DeleteStateMachine(DeleteStateMachineInput request, RequestContext ctx)
    {
        // Deleting a machine that is not there succeeds, as AWS's does; its executions stay
        // describable. Those still running are stopped: none goes on acting as the machine's role
        // unseen (ListExecutions no longer finds them) and none is resumed after a restart.
        var (account, name) = ParseMachineArn(ctx, request.StateMachineArn!);
        store.Delete(account, name);
        foreach (var running in executions.ListOf(account, name).Where(e => e.Status == "RUNNING"))
            await runner.StopAsync(running, null, "The state machine was deleted.");
        return new DeleteStateMachineOutput();
    }

    ListStateMachinesOutput ListStateMachines(ListStateMachinesInput request, RequestContext ctx)
    {
        var all = store.List(ctx.Principal.AccountId);
        var (page, next) = Page(all, request.NextToken, request.MaxResults);
        return new ListStateMachinesOutput
        {
            StateMachines = page.Select(m => new StateMachineListItem { StateMachineArn = m.Arn, Name = m.Name, Type = m.Type, CreationDate = m.CreationDate }).ToList(),
            NextToken = next,
        };
    }

    ValidateStateMachineDefinitionOutput ValidateStateMachineDefinition(ValidateStateMachineDefinitionInput request, RequestContext ctx)
    {
        var diagnostics = StateMachineDefinition.Validate(request.Definition!)
            .Where(d => request.Severity != "ERROR" || d.Severity == "ERROR").ToList();
        var max = request.MaxResults is null or 0 ? 100 : request.MaxResults.Value;
        return new ValidateStateMachineDefinitionOutput
        {
            Result = diagnostics.Any(d => d.Severity == "ERROR") ? "FAIL" : "OK",
            Diagnostics = diagnostics.Take(max).Select(d => new ValidateStateMachineDefinitionDiagnostic
            {
                Severity = d.Severity,
                Code = d.Code,
                Message = d.Message,
                Location = d.Location,
            }).ToList(),
            Truncated = diagnostics.Count > max,
        };
    }

    // ---- executions ----

    /// <summary>A new execution of what <paramref name="target"/> names: the machine as it is now, or the
    /// snapshot of the version it runs.</summary>
    ExecutionRow NewExecution(RequestContext ctx, Target target, string? name, string? input, string? traceHeader, bool express)
    {
        var m = target.Machine;
        var v = target.Version;
        var executionName = name ?? Guid.NewGuid().ToString();
        CheckName(executionName);
        input ??= "{}";
        try { CheckJson(input); }
        catch (JsonException e) { throw new BadExecutionInput(e.Message); }
        var account = ctx.Principal.AccountId;
        return new ExecutionRow
        {
            Account = account,
            ExecutionArn = express ? $"arn:aws:states:{region}:{account}:express:{m.Name}:{executionName}:{Guid.NewGuid()}" : ExecutionArn(account, m.Name, executionName),
            Name = executionName,
            StateMachineArn = m.Arn,
            StateMachineName = m.Name,
            Type = v?.Type ?? m.Type,
            Definition = v?.Definition ?? m.Definition,
            RoleArn = v?.RoleArn ?? m.RoleArn,
            StartDate = clock.GetUtcNow(),
            Input = input,
            TraceHeader = traceHeader,
            LoggingConfiguration = v is null ? m.LoggingConfiguration : v.LoggingConfiguration,
            TracingConfiguration = v is null ? m.TracingConfiguration : v.TracingConfiguration,
            StateMachineUpdateDate = v?.CreationDate ?? m.UpdateDate ?? m.CreationDate,
            StateMachineRevisionId = v?.RevisionId ?? m.RevisionId,
            StateMachineVersionArn = v?.Arn,
            StateMachineAliasArn = target.AliasArn,
        };
    }

    StartExecutionOutput StartExecution(StartExecutionInput request, RequestContext ctx)
    {
        var target = Resolve(ctx, request.StateMachineArn!);
        var execution = NewExecution(ctx, target, request.Name, request.Input, request.TraceHeader, target.Machine.Type == "EXPRESS");
        if (execution.Type == "EXPRESS")
        {
            // An express execution runs once, in memory; nothing waits for it here.
            _ = Task.Run(async () =>
            {
                try { await runner.RunExpressAsync(execution, CancellationToken.None); }
                catch (OperationCanceledException) { }
                catch (Exception e) { log.LogError(e, "Express execution {Arn} failed", execution.ExecutionArn); }
            });
            return new StartExecutionOutput { ExecutionArn = execution.ExecutionArn, StartDate = execution.StartDate };
        }
        // The machine is read again where the execution is written: a DeleteStateMachine in between
        // stops only the executions it sees, so one added after it would run a deleted machine.
        if (executions.Add(execution, r =>
            {
                if (!StepFunctionsStore.Exists(r, ctx.Principal.AccountId, execution.StateMachineName))
                    throw new StateMachineNotFound(execution.StateMachineArn);
            }) is { } existing)
        {
            // A name is used once; starting it again with the same input while it runs answers the same execution.
            if (existing.Status == "RUNNING" && existing.Input == execution.Input)
                return new StartExecutionOutput { ExecutionArn = existing.ExecutionArn, StartDate = existing.StartDate };
            throw new ExecutionExists(existing.ExecutionArn);
        }
        runner.Start(execution);
        return new StartExecutionOutput { ExecutionArn = execution.ExecutionArn, StartDate = execution.StartDate };
    }

    async Task<StartSyncExecutionOutput> StartSyncExecution(StartSyncExecutionInput request, RequestContext ctx)
    {
        var target = Resolve(ctx, request.StateMachineArn!);
        var m = target.Machine;
        if (m.Type != "EXPRESS") throw new TypeNotSupported();
        var execution = NewExecution(ctx, target, request.Name, request.Input, request.TraceHeader, express: true);
        var outcome = await runner.RunExpressAsync(execution, ctx.Http.RequestAborted);
        var stop = clock.GetUtcNow();
        var metadataOnly = request.IncludedData == "METADATA_ONLY";
        var output = outcome.Status == "SUCCEEDED" ? outcome.Output?.ToJsonString() ?? "null" : null;
        return new StartSyncExecutionOutput
        {
            ExecutionArn = execution.ExecutionArn,
            StateMachineArn = m.Arn,
            Name = execution.Name,
            StartDate = execution.StartDate,
            StopDate = stop,
            Status = outcome.Status,
            Error = outcome.Error,
            Cause = outcome.Cause,
            Input = metadataOnly ? null : execution.Input,
            InputDetails = new CloudWatchEventsExecutionDataDetails { Included = !metadataOnly },
            Output = metadataOnly ? null : output,
            OutputDetails = output is null ? null : new CloudWatchEventsExecutionDataDetails { Included = !metadataOnly },
            TraceHeader = execution.TraceHeader,
            // Express executions are billed in 100 ms steps at the smallest memory AWS bills.
            BillingDetails = new BillingDetails
            {
                BilledMemoryUsedInMB = 64,
                BilledDurationInMilliseconds = Math.Max(100, (long)Math.Ceiling((stop - execution.StartDate).TotalMilliseconds / 100) * 100),
            },
        };
    }

    DescribeExecutionOutput DescribeExecution(DescribeExecutionInput request, RequestContext ctx)
    {
        var e = Execution(ctx, request.ExecutionArn!);
        var metadataOnly = request.IncludedData == "METADATA_ONLY";
        var redriveRefusal = ExecutionRunner.RedriveRefusal(e, clock.GetUtcNow(), e.Status == "RUNNING" ? 0 : executions.EventCount(e));
        return new DescribeExecutionOutput
        {
            ExecutionArn = e.ExecutionArn,
            StateMachineArn = e.StateMachineArn,
            Name = e.Name,
            Status = e.Status,
            StartDate = e.StartDate,
            StopDate = e.StopDate,
            Input = metadataOnly ? null : e.Input,
            InputDetails = new CloudWatchEventsExecutionDataDetails { Included = !metadataOnly },
            Output = metadataOnly ? null : e.Output,
            OutputDetails = e.Output is null ? null : new CloudWatchEventsExecutionDataDetails { Included = !metadataOnly },
            TraceHeader = e.TraceHeader,
            Error = e.Error,
            Cause = e.Cause,
            StateMachineVersionArn = e.StateMachineVersionArn,
            StateMachineAliasArn = e.StateMachineAliasArn,
            RedriveCount = e.RedriveCount,
            RedriveDate = e.RedriveDate,
            RedriveStatus = redriveRefusal is null ? "REDRIVABLE" : "NOT_REDRIVABLE",
            RedriveStatusReason = redriveRefusal,
            MapRunArn = e.MapRunArn,
        };
    }

    ListExecutionsOutput ListExecutions(ListExecutionsInput request, RequestContext ctx)
    {
        if (request.MapRunArn is not null) return ListChildExecutions(request, ctx);
        if (request.StateMachineArn is null) throw new StatesValidation("Must specify either stateMachineArn or mapRunArn");
        // A version's ARN lists the executions that ran it; an alias's those started through it.
        var (account, name, qualifier) = ParseQualifiedArn(ctx, request.StateMachineArn);
        var m = store.Get(account, name) ?? throw new StateMachineNotFound(request.StateMachineArn);
        if (qualifier is not null && (VersionNumber(qualifier) is { } number ? store.GetVersion(account, name, number) is null : store.GetAlias(account, name, qualifier) is null))
            throw new StateMachineNotFound(request.StateMachineArn);
        if (m.Type == "EXPRESS") throw new TypeNotSupported();
        var all = executions.ListOf(ctx.Principal.AccountId, m.Name)
            .Where(e => qualifier is null || e.StateMachineVersionArn == request.StateMachineArn || e.StateMachineAliasArn == request.StateMachineArn)
            .Where(e => request.StatusFilter is null || e.Status == request.StatusFilter)
            .Where(e => request.RedriveFilter switch { "REDRIVEN" => e.RedriveCount > 0, "NOT_REDRIVEN" => e.RedriveCount == 0, _ => true }).ToList();
        var (page, next) = Page(all, request.NextToken, request.MaxResults);
        return new ListExecutionsOutput
        {
            Executions = page.Select(ListItem).ToList(),
            NextToken = next,
        };
    }

    /// <summary>An execution as ListExecutions lists it; a Map Run's child (listed by its run) with its run and share of the items.</summary>
    static ExecutionListItem ListItem(ExecutionRow e) => new()
    {
        ExecutionArn = e.ExecutionArn,
        StateMachineArn = e.StateMachineArn,
        Name = e.Name,
        Status = e.Status,
        StartDate = e.StartDate,
        StopDate = e.StopDate,
        StateMachineVersionArn = e.StateMachineVersionArn,
        StateMachineAliasArn = e.StateMachineAliasArn,
        RedriveCount = e.RedriveCount,
        RedriveDate = e.RedriveDate,
        MapRunArn = e.MapRunArn,
        ItemCount = e.MapRunArn is null ? null : (int)e.MapRunItems,
    };

    GetExecutionHistoryOutput GetExecutionHistory(GetExecutionHistoryInput request, RequestContext ctx)
    {
        var e = Execution(ctx, request.ExecutionArn!);
        IEnumerable<Strata.States.HistoryEvent> events = executions.Events(e);
        if (request.ReverseOrder == true) events = events.Reverse();
        var (page, next) = Page(events.ToList(), request.NextToken, request.MaxResults);
        var includeData = request.IncludeExecutionData ?? true;
        return new GetExecutionHistoryOutput { Events = page.Select(h => ToWire(h, includeData)).ToList(), NextToken = next };
    }

    /// <summary>A recorded event as the API shapes it; without execution data, the inputs and outputs are left out.</summary>
    static Strata.Server.Services.StepFunctions.HistoryEvent ToWire(Strata.States.HistoryEvent e, bool includeData)
    {
        var json = new JsonObject
        {
            ["timestamp"] = e.Timestamp.ToUnixTimeMilliseconds() / 1000.0,
            ["type"] = e.Type,
            ["id"] = e.Id,
            ["previousEventId"] = e.PreviousEventId,
        };
        if (e.DetailsName is { } name && e.Details is { } details)
        {
            var copy = details.DeepClone().AsObject();
            if (!includeData)
            {
                copy.Remove("input");
                copy.Remove("output");
            }
            json[name] = copy;
        }
        return json.Deserialize(StepFunctionsJson.Default.HistoryEvent)!;
    }

    async Task<StopExecutionOutput> StopExecution(StopExecutionInput request, RequestContext ctx)
    {
        var e = Execution(ctx, request.ExecutionArn!);
        if (e.Status != "RUNNING")
            throw new StatesValidation($"Execution is already in a terminal state: '{e.Status}'");
        var stopped = await runner.StopAsync(e, request.Error, request.Cause) ?? throw new ExecutionNotFound(request.ExecutionArn!);
        return new StopExecutionOutput { StopDate = stopped.StopDate ?? clock.GetUtcNow() };
    }

    /// <summary>Restarts an ended STANDARD execution from what did not succeed (see <see cref="Strata.States.Redrive"/>):
    /// the same execution, its history continued after <c>ExecutionRedriven</c>. A client token used in the
    /// last 15 minutes by one of the execution's last 10 redrives answers that redrive, as AWS's does.</summary>
    RedriveExecutionOutput RedriveExecution(RedriveExecutionInput request, RequestContext ctx)
    {
        var e = Execution(ctx, request.ExecutionArn!);
        var now = clock.GetUtcNow();
        var token = request.ClientToken;
        DateTimeOffset? repeated = null;
        // One transaction: the token, the machine and the execution's state are read where the redrive is written.
        var (redriven, started) = executions.Redrive(e, (r, row, events) =>
        {
            if (token is not null && row.RedriveTokens.LastOrDefault(t => t.Token == token && now - t.Date <= ExecutionStore.RedriveTokenLifetime) is { } used)
            {
                repeated = used.Date;
                return null;
            }
            // The execution runs as its machine: one that was deleted is not run again.
            if (!StepFunctionsStore.Exists(r, row.Account, row.StateMachineName))
                throw new NotRedrivable(row.ExecutionArn, $"its state machine {row.StateMachineArn} does not exist");
            if (ExecutionRunner.RedriveRefusal(row, now, events) is { } why) throw new NotRedrivable(row.ExecutionArn, why);
            return row with
            {
                Status = "RUNNING",
                StopDate = null,
                Output = null,
                Error = null,
                Cause = null,
                RedriveCount = row.RedriveCount + 1,
                RedriveDate = now,
                RedriveTokens = token is null ? row.RedriveTokens
                    : [.. row.RedriveTokens.Where(t => now - t.Date <= ExecutionStore.RedriveTokenLifetime).Append(new RedriveTokenRow(token, now))
                        .TakeLast(ExecutionStore.RedriveTokensKept)],
            };
        }, now);
        if (!started) return new RedriveExecutionOutput { RedriveDate = repeated ?? redriven.RedriveDate ?? now };
        runner.Start(redriven);
        return new RedriveExecutionOutput { RedriveDate = now };
    }

    DescribeStateMachineForExecutionOutput DescribeStateMachineForExecution(DescribeStateMachineForExecutionInput request, RequestContext ctx)
    {
        var e = Execution(ctx, request.ExecutionArn!);
        return new DescribeStateMachineForExecutionOutput
        {
            // The version the execution ran, when it ran one (what DescribeStateMachine of that ARN answers).
            StateMachineArn = e.StateMachineVersionArn ?? e.StateMachineArn,
            Name = e.StateMachineName,
            Definition = e.Definition,
            RoleArn = e.RoleArn,
            UpdateDate = e.StateMachineUpdateDate,
            LoggingConfiguration = LoggingOf(e.LoggingConfiguration),
            TracingConfiguration = TracingOf(e.TracingConfiguration),
            RevisionId = e.StateMachineRevisionId,
            // A distributed Map's child: its run, and the Map's label (the last part of its machine's name).
            MapRunArn = e.MapRunArn,
            Label = e.MapRunArn is null ? null : e.StateMachineName[(e.StateMachineName.LastIndexOf('/') + 1)..],
        };
    }

    // ---- tags ----

    static Dictionary<string, string> Tags(List<Tag>? tags)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in tags ?? [])
        {
            if (t.Key is null) throw new StatesValidation("Tag keys must not be null");
            map[t.Key] = t.Value ?? "";
        }
        return map;
    }

    /// <summary>What a tag operation names: a state machine or an activity (its kind, name and tags).</summary>
    (string Kind, string Name, Dictionary<string, string> Tags) Tagged(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "stateMachine", "activity");
        if (parts.Length != 7 || parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new StatesResourceNotFound(arn);
        if (parts[5] == "activity")
            return Activities.Get(parts[4], parts[6]) is { } a ? ("activity", a.Name, a.Tags) : throw new StatesResourceNotFound(arn);
        return store.Get(parts[4], parts[6]) is { } m ? ("stateMachine", m.Name, m.Tags) : throw new StatesResourceNotFound(arn);
    }

    void Retag(RequestContext ctx, (string Kind, string Name, Dictionary<string, string> Tags) resource, Dictionary<string, string> tags)
    {
        if (resource.Kind == "activity") Activities.Update(ctx.Principal.AccountId, resource.Name, row => row with { Tags = tags });
        else store.Update(ctx.Principal.AccountId, resource.Name, row => row with { Tags = tags });
    }

    TagResourceOutput TagResource(TagResourceInput request, RequestContext ctx)
    {
        var resource = Tagged(ctx, request.ResourceArn!);
        var merged = new Dictionary<string, string>(resource.Tags, StringComparer.Ordinal);
        foreach (var (k, v) in Tags(request.Tags)) merged[k] = v;
        if (merged.Count > MaxTags) throw new TooManyStatesTags(request.ResourceArn!);
        Retag(ctx, resource, merged);
        return new TagResourceOutput();
    }

    UntagResourceOutput UntagResource(UntagResourceInput request, RequestContext ctx)
    {
        var resource = Tagged(ctx, request.ResourceArn!);
        Retag(ctx, resource, resource.Tags.Where(kv => !request.TagKeys!.Contains(kv.Key)).ToDictionary(StringComparer.Ordinal));
        return new UntagResourceOutput();
    }

    ListTagsForResourceOutput ListTagsForResource(ListTagsForResourceInput request, RequestContext ctx)
    {
        var resource = Tagged(ctx, request.ResourceArn!);
        return new ListTagsForResourceOutput { Tags = resource.Tags.Select(kv => new Tag { Key = kv.Key, Value = kv.Value }).ToList() };
    }

    // ---- pagination ----

    /// <summary>One page (maxResults 0 or absent: 100, as AWS) and the token of the next: the offset,
    /// base64-encoded; a token that is not one of ours is InvalidToken.</summary>
    static (List<T> Page, string? Next) Page<T>(List<T> items, string? token, int? maxResults)
    {
        var max = maxResults is null or 0 ? 100 : maxResults.Value;
        var offset = 0;
        if (token is not null)
        {
            try
            {
                var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
                if (!text.StartsWith("sfn:", StringComparison.Ordinal) || !int.TryParse(text[4..], NumberStyles.None, CultureInfo.InvariantCulture, out offset))
                    throw new BadToken(token);
            }
            catch (FormatException) { throw new BadToken(token); }
        }
        var page = items.Skip(offset).Take(max).ToList();
        var next = offset + page.Count < items.Count
            ? Convert.ToBase64String(Encoding.UTF8.GetBytes("sfn:" + (offset + page.Count).ToString(CultureInfo.InvariantCulture)))
            : null;
        return (page, next);
    }
}
