using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Server.Jobs.Schedules;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Events;

/// <summary>
/// Amazon EventBridge (JSON 1.1, <c>AWSEvents</c>): event buses (the account's <c>default</c> one
/// always there), rules with event patterns or schedule expressions, their targets, tags, and
/// TestEventPattern. Requests and answers are the generated wire shapes; what is kept is
/// <see cref="EventsStore"/>'s rows.
/// </summary>
public sealed partial class EventsService(EventsStore store, TimeProvider clock, string region)
{
    public const string DefaultBus = "default";

    /// <summary>AWS's quota of targets per rule.</summary>
    public const int MaxTargetsPerRule = 5;

    /// <summary>Where the record of each event that could not be delivered goes (AWS would send it
    /// to the target's dead-letter queue; Strata has no SQS), in the rule's account.</summary>
    public const string FailedDeliveriesLogGroup = "/aws/events/failed-deliveries";

    /// <summary>The target kinds Strata delivers to: SNS topics, CloudWatch Logs groups, event buses
    /// and API destinations (both <c>arn:aws:events:</c>).</summary>
    static readonly string[] TargetKinds = ["arn:aws:sns:", "arn:aws:logs:", "arn:aws:events:"];

    public IEnumerable<Operation> Operations =>
    [
        EventsOperations.CreateEventBus.Bind("events:CreateEventBus", (r, ctx) => BusArn(ctx.Principal.AccountId, r.Name!), CreateEventBus),
        EventsOperations.DescribeEventBus.Bind("events:DescribeEventBus", (r, ctx) => BusArn(ctx.Principal.AccountId, BusName(r.Name)), DescribeEventBus),
        EventsOperations.DeleteEventBus.Bind("events:DeleteEventBus", (r, ctx) => BusArn(ctx.Principal.AccountId, r.Name!), DeleteEventBus),
        EventsOperations.ListEventBuses.Bind("events:ListEventBuses", (_, ctx) => $"arn:aws:events:{region}:{ctx.Principal.AccountId}:event-bus/*", ListEventBuses),
        EventsOperations.PutRule.Bind("events:PutRule", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!), PutRule),
        EventsOperations.DescribeRule.Bind("events:DescribeRule", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!), DescribeRule),
        EventsOperations.DeleteRule.Bind("events:DeleteRule", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!), DeleteRule),
        EventsOperations.ListRules.Bind("events:ListRules", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), "*"), ListRules),
        EventsOperations.EnableRule.Bind("events:EnableRule", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!), EnableRule),
        EventsOperations.DisableRule.Bind("events:DisableRule", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!), DisableRule),
        EventsOperations.PutTargets.Bind("events:PutTargets", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Rule!), PutTargets),
        EventsOperations.RemoveTargets.Bind("events:RemoveTargets", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Rule!), RemoveTargets),
        EventsOperations.ListTargetsByRule.Bind("events:ListTargetsByRule", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), r.Rule!), ListTargetsByRule),
        EventsOperations.ListRuleNamesByTarget.Bind("events:ListRuleNamesByTarget", (r, ctx) => RuleArn(ctx.Principal.AccountId, BusName(r.EventBusName), "*"), ListRuleNamesByTarget),
        EventsOperations.PutEvents.Bind("events:PutEvents", (r, ctx) => EntryBusArn(ctx.Principal.AccountId, r.Entries is [var first, ..] ? first.EventBusName : null), PutEvents),
        EventsOperations.TestEventPattern.Bind("events:TestEventPattern", (_, _) => "*", TestEventPattern),
        EventsOperations.TagResource.Bind("events:TagResource", (r, _) => r.ResourceARN!, TagResource),
        EventsOperations.UntagResource.Bind("events:UntagResource", (r, _) => r.ResourceARN!, UntagResource),
        EventsOperations.ListTagsForResource.Bind("events:ListTagsForResource", (r, _) => r.ResourceARN!, ListTagsForResource),
        // Bus permissions (EventsService.Permissions.cs).
        EventsOperations.PutPermission.Bind("events:PutPermission", (r, ctx) => BusArn(ctx.Principal.AccountId, BusName(r.EventBusName)), PutPermission),
        EventsOperations.RemovePermission.Bind("events:RemovePermission", (r, ctx) => BusArn(ctx.Principal.AccountId, BusName(r.EventBusName)), RemovePermission),
        // Connections and API destinations (EventsService.ApiDestinations.cs).
        EventsOperations.CreateConnection.Bind("events:CreateConnection", (r, ctx) => ConnectionResource(ctx, r.Name!), CreateConnection),
        EventsOperations.DescribeConnection.Bind("events:DescribeConnection", (r, ctx) => ConnectionResource(ctx, r.Name!), DescribeConnection),
        EventsOperations.UpdateConnection.Bind("events:UpdateConnection", (r, ctx) => ConnectionResource(ctx, r.Name!), UpdateConnection),
        EventsOperations.DeleteConnection.Bind("events:DeleteConnection", (r, ctx) => ConnectionResource(ctx, r.Name!), DeleteConnection),
        EventsOperations.DeauthorizeConnection.Bind("events:DeauthorizeConnection", (r, ctx) => ConnectionResource(ctx, r.Name!), DeauthorizeConnection),
        EventsOperations.ListConnections.Bind("events:ListConnections", (_, ctx) => ConnectionResource(ctx, "*"), ListConnections),
        EventsOperations.CreateApiDestination.Bind("events:CreateApiDestination", (r, ctx) => ApiDestinationResource(ctx, r.Name!), CreateApiDestination),
        EventsOperations.DescribeApiDestination.Bind("events:DescribeApiDestination", (r, ctx) => ApiDestinationResource(ctx, r.Name!), DescribeApiDestination),
        EventsOperations.UpdateApiDestination.Bind("events:UpdateApiDestination", (r, ctx) => ApiDestinationResource(ctx, r.Name!), UpdateApiDestination),
        EventsOperations.DeleteApiDestination.Bind("events:DeleteApiDestination", (r, ctx) => ApiDestinationResource(ctx, r.Name!), DeleteApiDestination),
        EventsOperations.ListApiDestinations.Bind("events:ListApiDestinations", (_, ctx) => ApiDestinationResource(ctx, "*"), ListApiDestinations),
    ];

    // ---- names and ARNs ----

    public string BusArn(string account, string bus) => $"arn:aws:events:{region}:{account}:event-bus/{bus}";

    /// <summary>A rule's ARN: <c>rule/{name}</c> on the default bus, <c>rule/{bus}/{name}</c> on others.</summary>
    public string RuleArn(string account, string bus, string rule) => bus == DefaultBus
        ? $"arn:aws:events:{region}:{account}:rule/{rule}" : $"arn:aws:events:{region}:{account}:rule/{bus}/{rule}";

    /// <summary>A bus given by name or ARN (the API takes either), or the default one.</summary>
    static string BusName(string? nameOrArn)
        => nameOrArn is null ? DefaultBus : nameOrArn.StartsWith("arn:", StringComparison.Ordinal) && nameOrArn.IndexOf(":event-bus/", StringComparison.Ordinal) is var i and > 0
            ? nameOrArn[(i + ":event-bus/".Length)..] : nameOrArn;

    static long Now(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>One page of a List operation's answer, Limit items at most (AWS's default and most: 100).</summary>
    static (List<T> Page, string? Next) Page<T>(IEnumerable<T> items, string? nextToken, int? limit)
        => PageToken.Page(items as IReadOnlyList<T> ?? items.ToList(), nextToken, limit, defaultMax: 100);

    /// <summary>As the other, of the items whose name starts with NamePrefix (case matters).</summary>
    static (List<T> Page, string? Next) Page<T>(IEnumerable<T> items, Func<T, string> name, string? namePrefix, string? nextToken, int? limit)
        => Page(namePrefix is null ? items : items.Where(i => name(i).StartsWith(namePrefix, StringComparison.Ordinal)), nextToken, limit);

    /// <summary>A bus of the account; the default bus exists from the first time it is asked for.</summary>
    EventBusRow Bus(string account, string name)
    {
        if (store.GetBus(account, name) is { } bus) return bus;
        if (name != DefaultBus) throw EventsErrors.ResourceNotFoundException($"Event bus {name} does not exist.");
        var now = Now(clock);
        var made = new EventBusRow { Name = DefaultBus, Arn = BusArn(account, DefaultBus), CreationTime = now, LastModifiedTime = now };
        store.AddBus(account, made);
        return store.GetBus(account, DefaultBus)!;
    }

    [GeneratedRegex(@"\A[/\.\-_A-Za-z0-9]{1,256}\z")]
    private static partial Regex BusNamePattern();

    // ---- buses ----

    CreateEventBusResponse CreateEventBus(CreateEventBusRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = r.Name!;
        if (r.EventSourceName is not null)
            throw EventsErrors.ValidationException("Partner event sources are not supported by Strata: create a custom event bus without EventSourceName.");
        if (name == DefaultBus || name.StartsWith("aws.", StringComparison.Ordinal))
            throw EventsErrors.ValidationException($"Event bus name must not start with 'aws.' or be 'default': {name}");
        if (!BusNamePattern().IsMatch(name) || name.Contains('/'))
            throw EventsErrors.ValidationException($"Event bus name {name} is not valid: it must be 1 to 256 characters of letters, digits, '.', '-' and '_'.");
        if (r.KmsKeyIdentifier is not null)
            throw EventsErrors.ValidationException("KmsKeyIdentifier is not supported by Strata: events are kept in the state database, as every other resource is.");
        var now = Now(clock);
        var bus = new EventBusRow
        {
            Name = name,
            Arn = BusArn(account, name),
            Description = r.Description,
            CreationTime = now,
            LastModifiedTime = now,
            Tags = (r.Tags ?? []).ToDictionary(t => t.Key!, t => t.Value!),
        };
        if (!store.AddBus(account, bus)) throw EventsErrors.ResourceAlreadyExistsException($"Event bus {name} already exists.");
        return new() { EventBusArn = bus.Arn, Description = bus.Description };
    }

    DescribeEventBusResponse DescribeEventBus(DescribeEventBusRequest r, RequestContext ctx)
    {
        var bus = Bus(ctx.Principal.AccountId, BusName(r.Name));
        return new()
        {
            Name = bus.Name,
            Arn = bus.Arn,
            Description = bus.Description,
            Policy = bus.Policy,
            CreationTime = DateTimeOffset.FromUnixTimeMilliseconds(bus.CreationTime),
            LastModifiedTime = DateTimeOffset.FromUnixTimeMilliseconds(bus.LastModifiedTime),
        };
    }

    void DeleteEventBus(DeleteEventBusRequest r, RequestContext ctx)
    {
        var name = BusName(r.Name);
        if (name == DefaultBus) throw EventsErrors.ValidationException("Cannot delete event bus default.");
        // Deleting a bus that is not there succeeds, as in AWS; one with rules is kept (its rules
        // and their targets would otherwise vanish with it).
        if (store.DeleteBus(ctx.Principal.AccountId, name) == false)
            throw EventsErrors.ValidationException($"Cannot delete event bus {name} while it has rules: delete its rules first.");
    }

    ListEventBusesResponse ListEventBuses(ListEventBusesRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        Bus(account, DefaultBus);
        var (page, next) = Page(store.BusesOf(account), b => b.Name, r.NamePrefix, r.NextToken, r.Limit);
        return new()
        {
            EventBuses = page.Select(b => new EventBus
            {
                Name = b.Name,
                Arn = b.Arn,
                Description = b.Description,
                Policy = b.Policy,
                CreationTime = DateTimeOffset.FromUnixTimeMilliseconds(b.CreationTime),
                LastModifiedTime = DateTimeOffset.FromUnixTimeMilliseconds(b.LastModifiedTime),
            }).ToList(),
            NextToken = next,
        };
    }

    // ---- rules ----

    PutRuleResponse PutRule(PutRuleRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var busName = BusName(r.EventBusName);
        if (r.EventPattern is null && r.ScheduleExpression is null)
            throw EventsErrors.ValidationException("Parameter(s) EventPattern or ScheduleExpression must be specified.");
        if (r.EventPattern is { } pattern)
        {
            try { EventPattern.Parse(pattern); }
            catch (InvalidEventPatternException e) { throw EventsErrors.InvalidEventPatternException(e.Message); }
        }
        if (r.ScheduleExpression is { } schedule)
        {
            if (busName != DefaultBus) throw EventsErrors.ValidationException("ScheduleExpression is supported only on the default event bus.");
            try { ScheduleExpression.Parse(schedule); }
            catch (ScheduleExpressionException e) { throw EventsErrors.ValidationException($"Parameter ScheduleExpression is not valid. {e.Message}"); }
        }
        var bus = Bus(account, busName);
        var existing = store.GetRule(account, bus.Name, r.Name!);
        var rule = new RuleRow
        {
            Name = r.Name!,
            Arn = RuleArn(account, bus.Name, r.Name!),
            EventBusName = bus.Name,
            EventPattern = r.EventPattern,
            ScheduleExpression = r.ScheduleExpression,
            State = r.State ?? existing?.State ?? "ENABLED",
            Description = r.Description,
            RoleArn = r.RoleArn,
            CreatedBy = account,
            CreationTime = existing?.CreationTime ?? Now(clock),
            Tags = existing?.Tags ?? (r.Tags ?? []).ToDictionary(t => t.Key!, t => t.Value!),
        };
        store.PutRule(account, rule);
        RulesChanged?.Invoke();
        return new() { RuleArn = rule.Arn };
    }

    RuleRow Rule(string account, string bus, string name)
        => store.GetRule(account, bus, name) ?? throw EventsErrors.ResourceNotFoundException($"Rule {name} does not exist on EventBus {bus}.");

    DescribeRuleResponse DescribeRule(DescribeRuleRequest r, RequestContext ctx)
    {
        var rule = Rule(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!);
        return new()
        {
            Name = rule.Name,
            Arn = rule.Arn,
            EventPattern = rule.EventPattern,
            ScheduleExpression = rule.ScheduleExpression,
            State = rule.State,
            Description = rule.Description,
            RoleArn = rule.RoleArn,
            EventBusName = rule.EventBusName,
            CreatedBy = rule.CreatedBy,
        };
    }

    void DeleteRule(DeleteRuleRequest r, RequestContext ctx)
    {
        if (!store.DeleteRule(ctx.Principal.AccountId, BusName(r.EventBusName), r.Name!))
            throw EventsErrors.ValidationException("Rule can't be deleted since it has targets.");
        RulesChanged?.Invoke();
    }

    ListRulesResponse ListRules(ListRulesRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var bus = Bus(account, BusName(r.EventBusName));
        var (page, next) = Page(store.RulesOf(account, bus.Name), x => x.Name, r.NamePrefix, r.NextToken, r.Limit);
        return new()
        {
            Rules = page.Select(x => new Rule
            {
                Name = x.Name,
                Arn = x.Arn,
                EventPattern = x.EventPattern,
                ScheduleExpression = x.ScheduleExpression,
                State = x.State,
                Description = x.Description,
                RoleArn = x.RoleArn,
                EventBusName = x.EventBusName,
            }).ToList(),
            NextToken = next,
        };
    }

    void EnableRule(EnableRuleRequest r, RequestContext ctx) => SetState(ctx, r.EventBusName, r.Name!, "ENABLED");

    void DisableRule(DisableRuleRequest r, RequestContext ctx) => SetState(ctx, r.EventBusName, r.Name!, "DISABLED");

    void SetState(RequestContext ctx, string? bus, string name, string state)
    {
        var busName = BusName(bus);
        if (!store.UpdateRule(ctx.Principal.AccountId, busName, name, x => x with { State = state }))
            throw EventsErrors.ResourceNotFoundException($"Rule {name} does not exist on EventBus {busName}.");
        RulesChanged?.Invoke();
    }

    // ---- targets ----

    PutTargetsResponse PutTargets(PutTargetsRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var busName = BusName(r.EventBusName);
        Rule(account, busName, r.Rule!);
        var accepted = new List<TargetRow>();
        var failed = new List<PutTargetsResultEntry>();
        foreach (var t in r.Targets!)
        {
            var given = new[] { t.Input is not null, t.InputPath is not null, t.InputTransformer is not null }.Count(x => x);
            string? problem = null;
            if (given > 1) problem = "Only one of Input, InputPath, or InputTransformer can be specified.";
            else if (!TargetKinds.Any(k => t.Arn!.StartsWith(k, StringComparison.Ordinal)))
                problem = $"Strata cannot deliver to {t.Arn}: a target may be an SNS topic, a CloudWatch Logs log group, an event bus or an API destination.";
            else if (t.Input is { } input && !IsJson(input)) problem = "Input is not valid JSON.";
            else if (t.DeadLetterConfig?.Arn is not null)
                problem = $"Strata has no SQS queue to use as a dead-letter queue: leave DeadLetterConfig out; events that cannot be delivered are recorded in the log group {FailedDeliveriesLogGroup}.";
            else
            {
                try { EventInput.Check(t.InputPath, t.InputTransformer?.InputPathsMap, t.InputTransformer?.InputTemplate); }
                catch (InvalidEventInputException e) { problem = e.Message; }
            }
            if (problem is not null)
            {
                failed.Add(new() { TargetId = t.Id, ErrorCode = "ValidationException", ErrorMessage = problem });
                continue;
            }
            accepted.Add(new TargetRow
            {
                Id = t.Id!,
                Arn = t.Arn!,
                RoleArn = t.RoleArn,
                Input = t.Input,
                InputPath = t.InputPath,
                InputPathsMap = t.InputTransformer?.InputPathsMap,
                InputTemplate = t.InputTransformer?.InputTemplate,
                MaximumRetryAttempts = t.RetryPolicy?.MaximumRetryAttempts,
                MaximumEventAgeInSeconds = t.RetryPolicy?.MaximumEventAgeInSeconds,
                DeadLetterArn = t.DeadLetterConfig?.Arn,
                HttpParameters = t.HttpParameters is { } h ? new TargetHttpParameters { PathParameterValues = h.PathParameterValues, HeaderParameters = h.HeaderParameters, QueryStringParameters = h.QueryStringParameters } : null,
            });
        }
        if (!store.PutTargets(account, busName, r.Rule!, accepted, MaxTargetsPerRule))
            throw EventsErrors.LimitExceededException($"The requested resource exceeds the maximum number allowed: a rule can have at most {MaxTargetsPerRule} targets.");
        return new() { FailedEntryCount = failed.Count, FailedEntries = failed };
    }

    static bool IsJson(string text)
    {
        try
        {
            JsonDocument.Parse(text).Dispose();
            return true;
        }
        catch (JsonException) { return false; }
    }

    RemoveTargetsResponse RemoveTargets(RemoveTargetsRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var busName = BusName(r.EventBusName);
        Rule(account, busName, r.Rule!);
        var missing = store.RemoveTargets(account, busName, r.Rule!, r.Ids!);
        return new()
        {
            FailedEntryCount = missing.Count,
            FailedEntries = missing.Select(id => new RemoveTargetsResultEntry { TargetId = id, ErrorCode = "ResourceNotFoundException", ErrorMessage = $"Target {id} does not exist on rule {r.Rule}." }).ToList(),
        };
    }

    ListTargetsByRuleResponse ListTargetsByRule(ListTargetsByRuleRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var busName = BusName(r.EventBusName);
        Rule(account, busName, r.Rule!);
        var (page, next) = Page(store.TargetsOf(account, busName, r.Rule!), r.NextToken, r.Limit);
        return new()
        {
            Targets = page.Select(t => new Target
            {
                Id = t.Id,
                Arn = t.Arn,
                RoleArn = t.RoleArn,
                Input = t.Input,
                InputPath = t.InputPath,
                InputTransformer = t.InputTemplate is null ? null : new InputTransformer { InputPathsMap = t.InputPathsMap, InputTemplate = t.InputTemplate },
                RetryPolicy = t.MaximumRetryAttempts is null && t.MaximumEventAgeInSeconds is null ? null
                    : new RetryPolicy { MaximumRetryAttempts = t.MaximumRetryAttempts, MaximumEventAgeInSeconds = t.MaximumEventAgeInSeconds },
                DeadLetterConfig = t.DeadLetterArn is null ? null : new DeadLetterConfig { Arn = t.DeadLetterArn },
                HttpParameters = t.HttpParameters is { } h ? new HttpParameters { PathParameterValues = h.PathParameterValues, HeaderParameters = h.HeaderParameters, QueryStringParameters = h.QueryStringParameters } : null,
            }).ToList(),
            NextToken = next,
        };
    }

    ListRuleNamesByTargetResponse ListRuleNamesByTarget(ListRuleNamesByTargetRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var busName = BusName(r.EventBusName);
        var names = store.RulesOf(account, busName).Where(rule => store.TargetsOf(account, busName, rule.Name).Any(t => t.Arn == r.TargetArn)).Select(rule => rule.Name).ToList();
        var (page, next) = Page(names, r.NextToken, r.Limit);
        return new() { RuleNames = page, NextToken = next };
    }

    // ---- TestEventPattern ----

    /// <summary>The members every event has.</summary>
    static readonly string[] EventFields = ["id", "account", "source", "time", "region", "resources", "detail-type"];

    TestEventPatternResponse TestEventPattern(TestEventPatternRequest r, RequestContext ctx)
    {
        EventPattern pattern;
        try { pattern = EventPattern.Parse(r.EventPattern!); }
        catch (InvalidEventPatternException e) { throw EventsErrors.InvalidEventPatternException(e.Message); }
        JsonDocument document;
        try { document = JsonDocument.Parse(r.Event!); }
        catch (JsonException) { throw EventsErrors.ValidationException("Parameter Event is not valid."); }
        using (document)
        {
            // The event must be a whole event, as EventBridge would deliver it.
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || EventFields.Any(f => !root.TryGetProperty(f, out _)))
                throw EventsErrors.ValidationException("Parameter Event is not valid.");
            return new() { Result = pattern.Matches(root) };
        }
    }

    // ---- tags (buses and rules) ----

    (string Account, string Bus, string? Rule) ResourceOf(RequestContext ctx, string arn)
    {
        var account = ctx.Principal.AccountId;
        var prefix = $"arn:aws:events:{region}:{account}:";
        if (arn.StartsWith(prefix + "event-bus/", StringComparison.Ordinal))
        {
            var bus = arn[(prefix.Length + "event-bus/".Length)..];
            Bus(account, bus);
            return (account, bus, null);
        }
        if (arn.StartsWith(prefix + "rule/", StringComparison.Ordinal))
        {
            var path = arn[(prefix.Length + "rule/".Length)..];
            var (bus, rule) = path.LastIndexOf('/') is var slash and > 0 ? (path[..slash], path[(slash + 1)..]) : (DefaultBus, path);
            Rule(account, bus, rule);
            return (account, bus, rule);
        }
        throw EventsErrors.ResourceNotFoundException($"Resource {arn} does not exist.");
    }

    void ChangeTags(RequestContext ctx, string arn, Func<Dictionary<string, string>, Dictionary<string, string>> change)
    {
        var (account, bus, rule) = ResourceOf(ctx, arn);
        if (rule is null)
        {
            var row = store.GetBus(account, bus)!;
            store.PutBus(account, row with { Tags = Checked(change(new(row.Tags))) });
        }
        else store.UpdateRule(account, bus, rule, x => x with { Tags = Checked(change(new(x.Tags))) });

        static Dictionary<string, string> Checked(Dictionary<string, string> tags)
            => tags.Count <= 50 ? tags : throw EventsErrors.LimitExceededException("A resource can have at most 50 tags.");
    }

    TagResourceResponse TagResource(TagResourceRequest r, RequestContext ctx)
    {
        ChangeTags(ctx, r.ResourceARN!, tags =>
        {
            foreach (var t in r.Tags!) tags[t.Key!] = t.Value!;
            return tags;
        });
        return new();
    }

    UntagResourceResponse UntagResource(UntagResourceRequest r, RequestContext ctx)
    {
        ChangeTags(ctx, r.ResourceARN!, tags => tags.Where(t => !r.TagKeys!.Contains(t.Key)).ToDictionary());
        return new();
    }

    ListTagsForResourceResponse ListTagsForResource(ListTagsForResourceRequest r, RequestContext ctx)
    {
        var (account, bus, rule) = ResourceOf(ctx, r.ResourceARN!);
        var tags = rule is null ? store.GetBus(account, bus)!.Tags : store.GetRule(account, bus, rule)!.Tags;
        return new() { Tags = tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() };
    }
}
