using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Policy;
using Strata.Server.Auth;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Events;

// Event bus permissions: PutPermission and RemovePermission keep a bus's resource policy, the
// authorizer reads it through Lookup (another account's PutEvents by the bus's ARN), and a rule
// whose target is another account's bus is let through by that bus's policy.
public sealed partial class EventsService
{
    /// <summary>AWS's limit on a bus's policy: 10 KB.</summary>
    public const int MaxPolicyBytes = 10 * 1024;

    /// <summary>Parses a resource policy (IAM's parser, as the composition root provides it):
    /// PutPermission's Policy is checked with it and forwarding to another account's bus evaluates
    /// with it. Without it, a Policy is taken unchecked and no other account's bus is reachable.</summary>
    public Func<string, PolicyDocument>? ParsePolicy { get; set; }

    /// <summary>A bus's policy is the resource policy of the <c>events:</c> actions on the bus
    /// (PutEvents from another account, by the bus's ARN). Within the owner's account it need not
    /// allow (identity policies suffice, IAM's rule); across accounts it must.</summary>
    public static ResourcePolicyLookup Lookup(EventsStore store, Func<string, PolicyDocument> parse) => (_, action, resource, _) =>
    {
        if (!action.StartsWith("events:", StringComparison.OrdinalIgnoreCase) || ParseBusArn(resource) is not { } found) return null;
        return store.GetBus(found.Account, found.Bus) is { Policy: { } json } ? new ResourcePolicy(parse(json), found.Account, Required: false) : null;
    };

    /// <summary>The account and name of an <c>arn:aws:events:…:event-bus/NAME</c>, or null.</summary>
    static (string Account, string Bus)? ParseBusArn(string arn)
        => arn.Split(':', 6) is [_, _, "events", _, var account, var resource] && account.Length == 12 && resource.StartsWith("event-bus/", StringComparison.Ordinal)
            && resource.Length > "event-bus/".Length
            ? (account, resource["event-bus/".Length..]) : null;

    /// <summary>The bus a PutEvents entry names: by name, the caller's own; by ARN, whosever the
    /// ARN says (another account's bus receives events when its policy lets the caller in).</summary>
    (string Account, string Bus) EntryBus(string caller, string? nameOrArn)
        => nameOrArn is not null && nameOrArn.StartsWith("arn:", StringComparison.Ordinal) && ParseBusArn(nameOrArn) is { } found
            ? found : (caller, BusName(nameOrArn));

    /// <summary>The ARN PutEvents is authorized on for an entry's bus.</summary>
    string EntryBusArn(string caller, string? nameOrArn)
    {
        var (account, bus) = EntryBus(caller, nameOrArn);
        return BusArn(account, bus);
    }

    // ---- PutPermission ----

    void PutPermission(PutPermissionRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var bus = Bus(account, BusName(r.EventBusName));
        string policy;
        if (r.Policy is { } given)
        {
            // The Policy form replaces the whole policy and takes nothing else.
            if (r.Action is not null || r.Principal is not null || r.StatementId is not null || r.Condition is not null)
                throw EventsErrors.ValidationException("Combination of policy with other arguments is not allowed.");
            CheckLength(given);
            try { ParsePolicy?.Invoke(given); }
            catch (Exception e) when (e is MalformedPolicyException or JsonException)
            {
                throw EventsErrors.ValidationException($"Policy is not valid: {e.Message}");
            }
            policy = given;
        }
        else
        {
            if (r.Action is null || r.Principal is null || r.StatementId is null)
                throw EventsErrors.ValidationException("Parameter(s) Action, Principal and StatementId must be specified, or Policy.");
            if (r.Action != "events:PutEvents")
                throw EventsErrors.ValidationException("Provided value in parameter 'action' is not supported.");
            if (r.Condition is { } c && (c.Type != "StringEquals" || c.Key != "aws:PrincipalOrgID"))
                throw EventsErrors.ValidationException("Condition supports only the type StringEquals and the key aws:PrincipalOrgID.");
            policy = WithStatement(bus.Policy, Statement(r.StatementId, r.Principal, bus.Arn, r.Condition));
            CheckLength(policy);
        }
        store.UpdateBus(account, bus.Name, b => b with { Policy = policy, LastModifiedTime = Now(clock) });
    }

    static void CheckLength(string policy)
    {
        if (Encoding.UTF8.GetByteCount(policy) > MaxPolicyBytes)
            throw EventsErrors.PolicyLengthExceededException($"The policy of an event bus cannot exceed {MaxPolicyBytes / 1024} KB.");
    }

    /// <summary>The statement AWS writes for the legacy form: the account's root (or everyone)
    /// may PutEvents onto the bus, under the request's Condition as an IAM condition block.</summary>
    static JsonObject Statement(string sid, string principal, string busArn, Condition? condition)
    {
        var statement = new JsonObject
        {
            ["Sid"] = sid,
            ["Effect"] = "Allow",
            ["Principal"] = principal == "*" ? "*" : new JsonObject { ["AWS"] = $"arn:aws:iam::{principal}:root" },
            ["Action"] = "events:PutEvents",
            ["Resource"] = busArn,
        };
        if (condition is not null)
            statement["Condition"] = new JsonObject { [condition.Type!] = new JsonObject { [condition.Key!] = condition.Value } };
        return statement;
    }

    /// <summary>The policy with the statement added, replacing one of the same Sid (PutPermission
    /// again with a StatementId changes that grant).</summary>
    static string WithStatement(string? policy, JsonObject statement)
    {
        var statements = Statements(policy, out var document);
        statements.RemoveAll(s => Sid(s) == Sid(statement));
        statements.Add(statement);
        document["Statement"] = new JsonArray([.. statements]);
        return document.ToJsonString();
    }

    /// <summary>A policy's statements, detached from it (a Policy-form document may hold a single
    /// statement object rather than a list).</summary>
    static List<JsonNode?> Statements(string? policy, out JsonObject document)
    {
        document = (policy is null ? null : JsonNode.Parse(policy) as JsonObject) ?? new JsonObject { ["Version"] = "2012-10-17" };
        var statements = document["Statement"] switch
        {
            JsonArray list => list.Select(s => s?.DeepClone()).ToList(),
            JsonObject one => [one.DeepClone()],
            _ => new List<JsonNode?>(),
        };
        document.Remove("Statement");
        return statements;
    }

    static string? Sid(JsonNode? statement)
        => statement is JsonObject o && o["Sid"] is JsonValue v && v.TryGetValue<string>(out var sid) ? sid : null;

    // ---- RemovePermission ----

    void RemovePermission(RemovePermissionRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var bus = Bus(account, BusName(r.EventBusName));
        if (r.RemoveAllPermissions == true)
        {
            store.UpdateBus(account, bus.Name, b => b with { Policy = null, LastModifiedTime = Now(clock) });
            return;
        }
        if (r.StatementId is not { } sid)
            throw EventsErrors.ValidationException("Parameter StatementId must be specified unless RemoveAllPermissions is true.");
        store.UpdateBus(account, bus.Name, b =>
        {
            if (b.Policy is null) throw EventsErrors.ResourceNotFoundException("EventBus does not have a policy.");
            var statements = Statements(b.Policy, out var document);
            if (statements.RemoveAll(s => Sid(s) == sid) == 0)
                throw EventsErrors.ResourceNotFoundException("Statement with the provided id does not exist.");
            document["Statement"] = new JsonArray([.. statements]);
            // The last statement gone, the bus has no policy at all (DescribeEventBus shows none).
            return b with { Policy = statements.Count == 0 ? null : document.ToJsonString(), LastModifiedTime = Now(clock) };
        });
    }

    // ---- another account's bus as a rule's target ----

    /// <summary>Whether a bus's policy lets a rule of <paramref name="account"/> put events onto
    /// it: IAM's evaluation, the rule's account asking as its root, across accounts (so the
    /// policy must allow it, and an explicit deny in it wins).</summary>
    bool AllowsForward(string account, EventBusRow bus, string owner)
    {
        if (bus.Policy is null || ParsePolicy is null) return false;
        PolicyDocument policy;
        try { policy = ParsePolicy(bus.Policy); }
        catch (Exception e) when (e is MalformedPolicyException or JsonException) { return false; }
        var now = clock.GetUtcNow();
        var root = $"arn:aws:iam::{account}:root";
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["aws:SecureTransport"] = ["true"],
            ["aws:CurrentTime"] = [now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)],
            ["aws:EpochTime"] = [now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)],
            ["aws:PrincipalAccount"] = [account],
            ["aws:PrincipalArn"] = [root],
            ["aws:PrincipalType"] = ["Account"],
            ["aws:SourceAccount"] = [account],
        };
        var request = new PolicyRequest("events:PutEvents", bus.Arn, context);
        var principal = new RequestPrincipal(root, account, IsRoot: true);
        return Evaluator.Authorize(new AuthorizationRequest(request, principal, owner, [], policy)).IsAllowed;
    }
}
