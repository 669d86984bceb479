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
        if (!Decide(ctx.Principal, ctx.Action, ctx.ResourceArn)) throw Denied(ctx);
        return Task.CompletedTask;
    }

    static bool Decide(Principal principal, string action, string resource) => principal.Type == PrincipalType.Root;

    static AwsException Denied(RequestContext ctx)
    {
        var p = ctx.Service?.Protocol ?? AwsProtocol.RestXml;
        if (ctx.Principal.IsAnonymous)
        {
            return p switch
            {
                AwsProtocol.RestXml => new AwsException("AccessDenied", 403, "Access Denied"),
                AwsProtocol.Query => new AwsException("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
                _ => new AwsException("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
            };
        }
        var message = $"User: {ctx.Principal.Arn} is not authorized to perform: {ctx.Action} on resource: {ctx.ResourceArn}";
        return p switch
        {
            AwsProtocol.RestXml => new AwsException("AccessDenied", 403, "Access Denied"),
            AwsProtocol.Query => new AwsException("AccessDenied", 403, message),
            _ => new AwsException("AccessDeniedException", 400, message),
        };
    }
}
