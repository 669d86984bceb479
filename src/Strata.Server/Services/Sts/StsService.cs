using System.Text.RegularExpressions;
using Strata.Policy;
using Strata.Server.Identity;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Sts;

/// <summary>
/// STS's Query API: who am I, temporary credentials for the caller (GetSessionToken), and
/// AssumeRole. Whether a caller may assume a role is decided by the pipeline like any other
/// request: the role's trust policy is the resource policy of <c>sts:AssumeRole</c> (see
/// <c>Authorizer.RoleTrust</c>). Temporary keys live beside long-term ones in the identity store
/// and carry their session token, expiry and session policies.
/// </summary>
public sealed partial class StsService(IamStore iam, CredentialStore credentials, TimeProvider clock)
{
    public IEnumerable<Operation> Operations =>
    [
        StsOperations.GetCallerIdentity.Bind("sts:GetCallerIdentity", Anywhere, GetCallerIdentity),
        StsOperations.AssumeRole.Bind("sts:AssumeRole", (r, _) => r.RoleArn ?? "*", AssumeRole),
        StsOperations.GetSessionToken.Bind("sts:GetSessionToken", Anywhere, GetSessionToken),
    ];

    static string Anywhere<TIn>(TIn request, RequestContext ctx) => "*";

    GetCallerIdentityResponse GetCallerIdentity(GetCallerIdentityRequest request, RequestContext ctx)
        => new() { UserId = ctx.Principal.UserId, Account = ctx.Principal.AccountId, Arn = ctx.Principal.Arn };

    [GeneratedRegex(@"^[\w+=,.@-]{2,64}$")]
    private static partial Regex SessionNamePattern();

    /// <summary>The model checks lengths and the duration's range (900–43200 s) before this runs.</summary>
    AssumeRoleResponse AssumeRole(AssumeRoleRequest request, RequestContext ctx)
    {
        var roleArn = request.RoleArn!;
        var sessionName = request.RoleSessionName!;
        if (!SessionNamePattern().IsMatch(sessionName))
            throw new AwsException("ValidationError", 400,
                $"1 validation error detected: Value '{sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*");
        var duration = request.DurationSeconds ?? 3600;
        // The authorizer has already refused a role that does not exist (without a trust policy
        // nothing is allowed); it may have gone since.
        var role = iam.FindRole(roleArn)
            ?? throw new AwsException("AccessDenied", 403, $"User: {ctx.Principal.Arn} is not authorized to perform: sts:AssumeRole on resource: {roleArn}");
        if (ctx.Principal.Type == PrincipalType.AssumedRole && duration > 3600)
            throw new AwsException("ValidationError", 400, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
        if (duration > role.MaxSessionDuration)
            throw new AwsException("ValidationError", 400, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");

        // Session policies: the inline one and managed ones by ARN; they only ever narrow.
        var sessionPolicies = new List<string>();
        if (request.Policy is { } inline)
        {
            try { PolicyDocument.Parse(inline); }
            catch (MalformedPolicyException e) { throw StsErrors.MalformedPolicyDocumentException(e.Message); }
            sessionPolicies.Add(inline);
        }
        foreach (var arn in request.PolicyArns?.Select(d => d.Arn ?? "") ?? [])
        {
            var policy = iam.Read(r => IamStore.GetPolicy(r, arn))
                ?? throw new AwsException("InvalidParameterValue", 400, $"The policy {arn} does not exist or is not attachable.");
            sessionPolicies.Add(policy.DefaultDocument);
        }
        var packed = sessionPolicies.Sum(p => p.Length);
        if (packed > 2048) throw StsErrors.PackedPolicyTooLargeException($"Packed policy consumes {packed * 100 / 2048}% of allotted space, please use smaller policy.");

        var account = role.Arn.Split(':')[4];
        var key = Issue(new AccessKeyRecord("", "", account, PrincipalType.AssumedRole, $"arn:aws:sts::{account}:assumed-role/{role.Name}/{sessionName}", "Active",
            clock.GetUtcNow(), UserName: role.Name, UserId: $"{role.Id}:{sessionName}", RoleArn: role.Arn,
            SessionPolicies: sessionPolicies.Count > 0 ? sessionPolicies : null), duration);
        return new()
        {
            Credentials = CredentialsOf(key),
            AssumedRoleUser = new AssumedRoleUser { AssumedRoleId = key.UserId, Arn = key.PrincipalArn },
            PackedPolicySize = sessionPolicies.Count > 0 ? packed * 100 / 2048 : null,
        };
    }

    GetSessionTokenResponse GetSessionToken(GetSessionTokenRequest request, RequestContext ctx)
    {
        var p = ctx.Principal;
        if (p.Type == PrincipalType.AssumedRole || p.Temporary)
            throw new AwsException("AccessDenied", 403, "Cannot call GetSessionToken with session credentials");
        // The root's sessions last at most an hour; users' up to 36 hours (the model checks 900–129600 s).
        var duration = request.DurationSeconds ?? 43200;
        if (p.Type == PrincipalType.Root) duration = Math.Min(duration, 3600);
        // The session is the caller's long-term key's principal, as authentication found it.
        var caller = credentials.FindAccessKey(p.AccessKeyId!)
            ?? throw new AwsException("InvalidClientTokenId", 403, "The security token included in the request is invalid.");
        var key = Issue(caller with { AccessKeyId = "", CreatedAt = clock.GetUtcNow() }, duration);
        return new() { Credentials = CredentialsOf(key) };
    }

    /// <summary>Stores a new temporary key for <paramref name="template"/>'s principal.</summary>
    AccessKeyRecord Issue(AccessKeyRecord template, int durationSeconds)
        => credentials.IssueTemporary(template, clock.GetUtcNow().AddSeconds(durationSeconds));

    static Credentials CredentialsOf(AccessKeyRecord key) => new()
    {
        AccessKeyId = key.AccessKeyId,
        SecretAccessKey = key.SecretAccessKey,
        SessionToken = key.SessionToken,
        Expiration = key.Expiration,
    };
}
