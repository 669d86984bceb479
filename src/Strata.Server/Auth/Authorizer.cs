using Strata.Server.Protocol;

namespace Strata.Server.Auth;

/// <summary>
/// Decides whether the principal may perform the request's IAM action on its resource. The
/// pipeline has already named both for every operation (<see cref="Operation"/>); today an
/// account's root may do everything in it and anonymous callers nothing. The IAM policy
/// evaluator replaces the body of <see cref="Decide"/>, nothing else.
/// </summary>
public sealed class Authorizer
{
    public Task AuthorizeAsync(RequestContext ctx)
    {
        var op = ctx.Operation!;
        ctx.Action = op.IamAction;
        ctx.ResourceArn = op.Resource(ctx);
        ctx.Authorizer = this;
        Require(ctx, ctx.Action, ctx.ResourceArn);
        return Task.CompletedTask;
    }

    /// <summary>A further permission an operation needs besides its own (CopyObject reads its
    /// source: <c>s3:GetObject</c> on it). Handlers ask through <see cref="RequestContext.Authorize"/>.</summary>
    public void Require(RequestContext ctx, string action, string resource)
    {
        if (!Decide(ctx.Principal, action, resource)) throw Denied(ctx, action, resource);
    }

    static bool Decide(Principal principal, string action, string resource) => principal.Type == PrincipalType.Root;

    static AwsException Denied(RequestContext ctx, string action, string resource)
    {
        var p = ctx.Service?.Protocol ?? AwsProtocol.RestXml;
        // S3 never says who was refused what; the other services do.
        if (p == AwsProtocol.RestXml) return new AwsException("AccessDenied", 403, "Access Denied");
        var message = $"User: {ctx.Principal.Arn} is not authorized to perform: {action} on resource: {resource}";
        return p == AwsProtocol.Query
            ? new AwsException("AccessDenied", 403, message)
            : new AwsException("AccessDeniedException", 400, message);
    }
}
