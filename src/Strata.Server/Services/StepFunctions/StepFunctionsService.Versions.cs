using System.Globalization;
using Strata.Server.Protocol;

namespace Strata.Server.Services.StepFunctions;

/// <summary>
/// State machine versions (immutable snapshots of a machine's definition, role, logging and tracing,
/// numbered from 1 and never renumbered) and aliases (a name that routes executions to one version, or
/// between two by weight). A qualified ARN names them: <c>…:stateMachine:NAME:3</c> a version,
/// <c>…:stateMachine:NAME:PROD</c> an alias.
/// </summary>
public sealed partial class StepFunctionsService
{
    /// <summary>Draws a number in [0, max): which of an alias's versions an execution runs. Injectable
    /// so that a test can route deterministically.</summary>
    public Func<int, int> RoutingRoll { get; init; } = Random.Shared.Next;

    IEnumerable<Operation> VersionOperations =>
    [
        StepFunctionsOperations.PublishStateMachineVersion.Bind("states:PublishStateMachineVersion", (r, _) => r.StateMachineArn!, PublishStateMachineVersion),
        StepFunctionsOperations.ListStateMachineVersions.Bind("states:ListStateMachineVersions", (r, _) => r.StateMachineArn!, ListStateMachineVersions),
        StepFunctionsOperations.DeleteStateMachineVersion.Bind("states:DeleteStateMachineVersion", (r, ctx) => Authorized(r.StateMachineVersionArn!, ctx),
            DeleteStateMachineVersion),
        StepFunctionsOperations.CreateStateMachineAlias.Bind("states:CreateStateMachineAlias",
            (r, ctx) => r.RoutingConfiguration is [var first, ..] ? Authorized(UnqualifiedArn(first.StateMachineVersionArn!) + ":" + r.Name, ctx) : "*",
            CreateStateMachineAlias),
        StepFunctionsOperations.DescribeStateMachineAlias.Bind("states:DescribeStateMachineAlias", (r, ctx) => Authorized(r.StateMachineAliasArn!, ctx),
            DescribeStateMachineAlias),
        StepFunctionsOperations.UpdateStateMachineAlias.Bind("states:UpdateStateMachineAlias", (r, ctx) => Authorized(r.StateMachineAliasArn!, ctx),
            UpdateStateMachineAlias),
        StepFunctionsOperations.ListStateMachineAliases.Bind("states:ListStateMachineAliases", (r, ctx) => Authorized(r.StateMachineArn!, ctx), ListStateMachineAliases),
        StepFunctionsOperations.DeleteStateMachineAlias.Bind("states:DeleteStateMachineAlias", (r, ctx) => Authorized(r.StateMachineAliasArn!, ctx),
            DeleteStateMachineAlias),
    ];

    /// <summary>The ARN without its qualifier (what IAM policies on the machine also name).</summary>
    static string UnqualifiedArn(string arn) => arn.Split(':') is { Length: 8 } parts ? string.Join(':', parts[..7]) : arn;

    /// <summary>
    /// The resource IAM authorizes for a machine's ARN, qualified or not: AWS authorizes a version or
    /// an alias as its state machine (a policy on <c>…:stateMachine:name</c> covers <c>name:PROD</c>
    /// and <c>name:3</c>), and a policy scopes down to some of them with the condition key
    /// <c>states:StateMachineQualifier</c>.
    /// </summary>
    static string Authorized(string arn, RequestContext ctx)
    {
        if (arn.Split(':') is not { Length: 8 } parts) return arn;
        ctx.ConditionKeys["states:StateMachineQualifier"] = [parts[7]];
        return string.Join(':', parts[..7]);
    }

    /// <summary>A version number as AWS writes it in an ARN: digits, from 1, without leading zeros.</summary>
    internal static int? VersionNumber(string qualifier)
        => qualifier.Length is > 0 and <= 9 && qualifier[0] != '0' && qualifier.All(char.IsAsciiDigit)
            ? int.Parse(qualifier, NumberStyles.None, CultureInfo.InvariantCulture) : null;

    /// <summary>The account, machine name and qualifier (null for the machine itself) of a machine ARN
    /// the caller may address; one of another account or region names nothing.</summary>
    (string Account, string Name, string? Qualifier) ParseQualifiedArn(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "stateMachine");
        if (parts.Length is not (7 or 8) || parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new StateMachineNotFound(arn);
        return (parts[4], parts[6], parts.Length == 8 ? parts[7] : null);
    }

    (string Account, string Name, int Version) ParseVersionArn(RequestContext ctx, string arn)
    {
        var (account, name, qualifier) = ParseQualifiedArn(ctx, arn);
        if (qualifier is null || VersionNumber(qualifier) is not { } version) throw new BadArn($"Invalid ARN: {arn}");
        return (account, name, version);
    }

    (string Account, string Name, string Alias) ParseAliasArn(RequestContext ctx, string arn)
    {
        var parts = ParseArn(arn, "stateMachine");
        if (parts.Length != 8 || VersionNumber(parts[7]) is not null) throw new BadArn($"Invalid ARN: {arn}");
        if (parts[4] != ctx.Principal.AccountId || parts[3] != region) throw new StatesResourceNotFound(arn);
        return (parts[4], parts[6], parts[7]);
    }

    /// <summary>What a StartExecution ARN runs: the machine itself, one of its versions, or the version an
    /// alias routes this execution to (drawn by weight).</summary>
    sealed record Target(StateMachineRow Machine, StateMachineVersionRow? Version, string? AliasArn);

    Target Resolve(RequestContext ctx, string arn)
    {
        var (account, name, qualifier) = ParseQualifiedArn(ctx, arn);
        var machine = store.Get(account, name) ?? throw new StateMachineNotFound(arn);
        if (qualifier is null) return new Target(machine, null, null);
        if (VersionNumber(qualifier) is { } number)
            return new Target(machine, store.GetVersion(account, name, number) ?? throw new StateMachineNotFound(arn), null);
        var alias = store.GetAlias(account, name, qualifier) ?? throw new StateMachineNotFound(arn);
        var routed = Route(alias.Routing, RoutingRoll(100));
        return new Target(machine, store.GetVersion(account, name, routed) ?? throw new StateMachineNotFound(arn), alias.Arn);
    }

    /// <summary>The version an execution runs for <paramref name="roll"/> in [0, 100): each version takes
    /// a band of rolls as wide as its weight, in the order the routing lists them.</summary>
    internal static int Route(IReadOnlyList<AliasRoute> routing, int roll)
    {
        var upTo = 0;
        foreach (var route in routing)
        {
            upTo += route.Weight;
            if (roll < upTo) return route.Version;
        }
        return routing.Last(r => r.Weight > 0).Version;
    }

    /// <summary>A routing configuration as AWS validates it (beyond the model's 1–2 items and 0–100
    /// weights): version ARNs of one state machine of the caller, each once, weights summing to 100.
    /// Returns the machine's name and the routes.</summary>
    internal static (string Machine, List<AliasRoute> Routes) Routing(IReadOnlyList<RoutingConfigurationListItem> items, string account, string region)
    {
        string? machine = null;
        var routes = new List<AliasRoute>();
        foreach (var item in items)
        {
            var arn = item.StateMachineVersionArn!;
            var parts = ParseArn(arn, "stateMachine");
            if (parts.Length != 8 || VersionNumber(parts[7]) is not { } version) throw new BadArn($"Invalid ARN: {arn}");
            if (parts[4] != account || parts[3] != region) throw new StatesResourceNotFound(arn);
            if (machine is not null && machine != parts[6])
                throw new StatesValidation("Routing configuration must contain state machine versions of the same state machine.");
            machine = parts[6];
            if (routes.Any(r => r.Version == version))
                throw new StatesValidation("Routing configuration must contain distinct state machine versions.");
            routes.Add(new AliasRoute(version, item.Weight!.Value));
        }
        if (routes.Sum(r => r.Weight) != 100)
            throw new StatesValidation("Sum of routing configuration weights must be equal to 100.");
        return (machine!, routes);
    }

    List<RoutingConfigurationListItem> RoutingOf(StateMachineAliasRow alias)
    {
        var machineArn = UnqualifiedArn(alias.Arn);
        return alias.Routing.Select(r => new RoutingConfigurationListItem
        {
            StateMachineVersionArn = $"{machineArn}:{r.Version.ToString(CultureInfo.InvariantCulture)}",
            Weight = r.Weight,
        }).ToList();
    }

    // ---- versions ----

    static void CheckVersionDescription(bool? publish, string? description)
    {
        if (description is not null && publish != true)
            throw new StatesValidation("Version description can only be set when publish is true");
    }

    /// <summary>Publishes the machine's current revision; <paramref name="revisionId"/>, when given, must
    /// be that revision (INITIAL: a machine never updated).</summary>
    StateMachineVersionRow Publish(string account, string name, string arn, string? revisionId, string? description)
    {
        var published = store.Publish(account, name, description, clock.GetUtcNow(), m =>
        {
            if (revisionId is not null && revisionId != m.RevisionId && !(revisionId == "INITIAL" && m.UpdateDate is null))
                throw new StatesConflict($"Failed to publish the State Machine version for revision {revisionId}. The current State Machine revision is {m.RevisionId}.");
        }) ?? throw new StateMachineNotFound(arn);
        return published.Version;
    }

    PublishStateMachineVersionOutput PublishStateMachineVersion(PublishStateMachineVersionInput request, RequestContext ctx)
    {
        var (account, name, qualifier) = ParseQualifiedArn(ctx, request.StateMachineArn!);
        if (qualifier is not null) throw new BadArn($"Invalid ARN: {request.StateMachineArn}");
        var version = Publish(account, name, request.StateMachineArn!, request.RevisionId, request.Description);
        return new PublishStateMachineVersionOutput { StateMachineVersionArn = version.Arn, CreationDate = version.CreationDate };
    }

    ListStateMachineVersionsOutput ListStateMachineVersions(ListStateMachineVersionsInput request, RequestContext ctx)
    {
        var (account, name, qualifier) = ParseQualifiedArn(ctx, request.StateMachineArn!);
        if (qualifier is not null) throw new BadArn($"Invalid ARN: {request.StateMachineArn}");
        // Newest first, as AWS lists them.
        var versions = store.ListVersions(account, name);
        versions.Reverse();
        var (page, next) = Page(versions, request.NextToken, request.MaxResults);
        return new ListStateMachineVersionsOutput
        {
            StateMachineVersions = page.Select(v => new StateMachineVersionListItem { StateMachineVersionArn = v.Arn, CreationDate = v.CreationDate }).ToList(),
            NextToken = next,
        };
    }

    DeleteStateMachineVersionOutput DeleteStateMachineVersion(DeleteStateMachineVersionInput request, RequestContext ctx)
    {
        // Deleting a version that is not there succeeds, as deleting a machine does.
        var (account, name, version) = ParseVersionArn(ctx, request.StateMachineVersionArn!);
        var routing = store.DeleteVersion(account, name, version);
        if (routing.Count > 0)
            throw new StatesConflict("Version to be deleted must not be referenced by an alias. "
                + $"Current list of aliases referencing this version: [{string.Join(", ", routing)}]");
        return new DeleteStateMachineVersionOutput();
    }

    // ---- aliases ----

    CreateStateMachineAliasOutput CreateStateMachineAlias(CreateStateMachineAliasInput request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (machine, routes) = Routing(request.RoutingConfiguration!, account, region);
        var arn = $"{MachineArn(account, machine)}:{request.Name}";
        var now = clock.GetUtcNow();
        var alias = store.PutAlias(account, machine, request.Name!, (existing, versions, count) =>
        {
            CheckVersionsExist(routes, versions, MachineArn(account, machine));
            if (existing is not null)
            {
                // Creating the same alias again is idempotent; a different one of that name is refused.
                if (existing.Description != request.Description || !existing.Routing.SequenceEqual(routes))
                    throw new StatesConflict($"Failed to create alias because an alias with the same name and a different routing configuration already exists: {arn}");
                return existing;
            }
            if (count >= StepFunctionsStore.MaxAliases) throw new AliasQuotaExceeded(MachineArn(account, machine));
            return new StateMachineAliasRow { Name = request.Name!, Arn = arn, Description = request.Description, Routing = routes, CreationDate = now };
        }) ?? throw new StatesResourceNotFound(MachineArn(account, machine));
        return new CreateStateMachineAliasOutput { StateMachineAliasArn = alias.Arn, CreationDate = alias.CreationDate };
    }

    static void CheckVersionsExist(List<AliasRoute> routes, IReadOnlyList<StateMachineVersionRow> versions, string machineArn)
    {
        foreach (var route in routes)
            if (!versions.Any(v => v.Version == route.Version))
                throw new StatesResourceNotFound($"{machineArn}:{route.Version.ToString(CultureInfo.InvariantCulture)}");
    }

    DescribeStateMachineAliasOutput DescribeStateMachineAlias(DescribeStateMachineAliasInput request, RequestContext ctx)
    {
        var (account, name, aliasName) = ParseAliasArn(ctx, request.StateMachineAliasArn!);
        var alias = store.GetAlias(account, name, aliasName) ?? throw new StatesResourceNotFound(request.StateMachineAliasArn!);
        return new DescribeStateMachineAliasOutput
        {
            StateMachineAliasArn = alias.Arn,
            Name = alias.Name,
            Description = alias.Description,
            RoutingConfiguration = RoutingOf(alias),
            CreationDate = alias.CreationDate,
            UpdateDate = alias.UpdateDate ?? alias.CreationDate,
        };
    }

    UpdateStateMachineAliasOutput UpdateStateMachineAlias(UpdateStateMachineAliasInput request, RequestContext ctx)
    {
        var (account, name, aliasName) = ParseAliasArn(ctx, request.StateMachineAliasArn!);
        if (request.Description is null && request.RoutingConfiguration is null)
            throw new StatesValidation("Either the description or the routing configuration must be specified");
        List<AliasRoute>? routes = null;
        if (request.RoutingConfiguration is { } routing)
        {
            (var machine, routes) = Routing(routing, account, region);
            if (machine != name) throw new StatesValidation("Routing configuration must contain state machine versions of the same state machine as the alias.");
        }
        var now = clock.GetUtcNow();
        var alias = store.PutAlias(account, name, aliasName, (existing, versions, _) =>
        {
            if (existing is null) throw new StatesResourceNotFound(request.StateMachineAliasArn!);
            if (routes is not null) CheckVersionsExist(routes, versions, MachineArn(account, name));
            return existing with { Description = request.Description ?? existing.Description, Routing = routes ?? existing.Routing, UpdateDate = now };
        }) ?? throw new StatesResourceNotFound(request.StateMachineAliasArn!);
        return new UpdateStateMachineAliasOutput { UpdateDate = alias.UpdateDate };
    }

    ListStateMachineAliasesOutput ListStateMachineAliases(ListStateMachineAliasesInput request, RequestContext ctx)
    {
        // A machine's ARN lists its aliases; a version's ARN lists those that route to that version.
        var (account, name, qualifier) = ParseQualifiedArn(ctx, request.StateMachineArn!);
        int? version = null;
        if (qualifier is not null && (version = VersionNumber(qualifier)) is null) throw new BadArn($"Invalid ARN: {request.StateMachineArn}");
        if (store.Get(account, name) is null) throw new StateMachineNotFound(request.StateMachineArn!);
        if (version is { } v && store.GetVersion(account, name, v) is null) throw new StatesResourceNotFound(request.StateMachineArn!);
        // The newest alias first, as AWS sorts them (by name among those made at the same instant, so pages are stable).
        var aliases = store.ListAliases(account, name).Where(a => version is null || a.Routing.Any(r => r.Version == version))
            .OrderByDescending(a => a.CreationDate).ThenBy(a => a.Name, StringComparer.Ordinal).ToList();
        var (page, next) = Page(aliases, request.NextToken, request.MaxResults);
        return new ListStateMachineAliasesOutput
        {
            StateMachineAliases = page.Select(a => new StateMachineAliasListItem { StateMachineAliasArn = a.Arn, CreationDate = a.CreationDate }).ToList(),
            NextToken = next,
        };
    }

    DeleteStateMachineAliasOutput DeleteStateMachineAlias(DeleteStateMachineAliasInput request, RequestContext ctx)
    {
        var (account, name, aliasName) = ParseAliasArn(ctx, request.StateMachineAliasArn!);
        if (!store.DeleteAlias(account, name, aliasName)) throw new StatesResourceNotFound(request.StateMachineAliasArn!);
        return new DeleteStateMachineAliasOutput();
    }
}
