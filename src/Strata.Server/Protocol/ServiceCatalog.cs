namespace Strata.Server.Protocol;

/// <summary>
/// The services one Strata port speaks, and how a request finds its service: the SigV4
/// credential scope's service name, then <c>X-Amz-Target</c>, then the path. A service that
/// is known but has no operations yet still answers in its own protocol (unknown operation).
/// </summary>
public sealed class ServiceCatalog(IEnumerable<ServiceDescriptor> services)
{
    readonly ServiceDescriptor[] _services = services.ToArray();
    // Looked up on every request: the services of each signing name, grouped once.
    readonly Dictionary<string, List<ServiceDescriptor>> _bySigningName = services.GroupBy(s => s.SigningName).ToDictionary(g => g.Key, g => g.ToList());

    public IReadOnlyList<ServiceDescriptor> Services => _services;

    /// <summary>The AWS services and their protocols (botocore's service models' metadata).
    /// Services whose operations are not built yet have no operations.</summary>
    public static IEnumerable<ServiceDescriptor> AwsServices(IOperationResolver s3, IOperationResolver sageMaker, IOperationResolver runtime,
        IOperationResolver iam, IOperationResolver sts, IOperationResolver kms, IOperationResolver autoScaling, IOperationResolver cloudWatch,
        IOperationResolver logs, IOperationResolver sns, IOperationResolver events, IOperationResolver cloudTrail, IOperationResolver states) =>
    [
        new("s3", "s3", AwsProtocol.RestXml, s3, XmlNamespace: "http://s3.amazonaws.com/doc/2006-03-01/"),
        new("sagemaker", "sagemaker", AwsProtocol.Json11, sageMaker, TargetPrefix: "SageMaker"),
        new("sagemaker-runtime", "sagemaker", AwsProtocol.RestJson, runtime, PathPrefix: "/endpoints/"),
        new("kms", "kms", AwsProtocol.Json11, kms, TargetPrefix: "TrentService"),
        new("iam", "iam", AwsProtocol.Query, iam, XmlNamespace: "https://iam.amazonaws.com/doc/2010-05-08/"),
        new("sts", "sts", AwsProtocol.Query, sts, XmlNamespace: "https://sts.amazonaws.com/doc/2011-06-15/"),
        new("sns", "sns", AwsProtocol.Query, sns, XmlNamespace: "http://sns.amazonaws.com/doc/2010-03-31/", AccessDeniedCode: "AuthorizationError"),
        // CloudWatch speaks three protocols with one set of operations: the newest clients RPC v2 CBOR
        // (botocore ≥ 1.40), others JSON 1.0 in query-compatible mode, old ones Query.
        new("cloudwatch-cbor", "monitoring", AwsProtocol.RpcV2Cbor, cloudWatch, PathPrefix: "/service/GraniteServiceVersion20100801/", QueryCompatible: true),
        new("cloudwatch", "monitoring", AwsProtocol.Json10, cloudWatch, TargetPrefix: "GraniteServiceVersion20100801", QueryCompatible: true),
        new("cloudwatch-query", "monitoring", AwsProtocol.Query, cloudWatch, XmlNamespace: "http://monitoring.amazonaws.com/doc/2010-08-01/"),
        new("logs", "logs", AwsProtocol.Json11, logs, TargetPrefix: "Logs_20140328"),
        new("events", "events", AwsProtocol.Json11, events, TargetPrefix: "AWSEvents"),
        new("states", "states", AwsProtocol.Json10, states, TargetPrefix: "AWSStepFunctions"),
        new("cloudtrail", "cloudtrail", AwsProtocol.Json11, cloudTrail, TargetPrefix: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"),
        new("application-autoscaling", "application-autoscaling", AwsProtocol.Json11, autoScaling, TargetPrefix: "AnyScaleFrontendService"),
    ];

    public ServiceDescriptor Detect(RequestContext ctx)
    {
        var signingName = SigningName(ctx);
        var target = ctx.Header("X-Amz-Target");
        var targetPrefix = target is null ? null : target.LastIndexOf('.') is var dot and > 0 ? target[..dot] : target;
        var path = ctx.RawPath;

        IReadOnlyList<ServiceDescriptor> list = signingName is null ? _services
            : _bySigningName.TryGetValue(signingName, out var named) ? named : [];
        if (list.Count == 0) return Unknown(signingName!, target is not null, IsForm(ctx));
        if (list.Count == 1 && signingName is not null) return list[0];

        // Several services share a signing name (sagemaker/sagemaker-runtime, the two
        // CloudWatch protocols), or the request is unsigned: the target and path decide.
        if (targetPrefix is not null && list.FirstOrDefault(s => s.TargetPrefix == targetPrefix) is { } byTarget) return byTarget;
        // An unsigned Query URL (SNS's SubscribeURL: GET /?Action=ConfirmSubscription&…) belongs to
        // the one service that lets that action be called unsigned.
        if (signingName is null && target is null && path == "/" && ctx.Request.Query.TryGetValue("Action", out var action)
            && list.FirstOrDefault(s => s.Protocol == AwsProtocol.Query && s.Operations.AllowsUnsigned(action.ToString())) is { } unsigned) return unsigned;
        if (list.FirstOrDefault(s => s.PathPrefix is not null && path.StartsWith(s.PathPrefix, StringComparison.Ordinal)) is { } byPath) return byPath;
        if (target is not null && list.FirstOrDefault(s => s.IsJson) is { } json) return json;
        if (signingName is null && IsSigV2(ctx)) return list.First(s => s.Protocol == AwsProtocol.RestXml);
        if (list.FirstOrDefault(s => s.Protocol == AwsProtocol.Query) is { } query
            && (signingName is not null || (HttpMethods.IsPost(ctx.Request.Method) && IsForm(ctx) && ctx.RawPath == "/"))) return query;
        return list.FirstOrDefault(s => s.Protocol == AwsProtocol.RestXml) ?? list[0];
    }

    /// <summary>The legacy signature only S3 still accepts (header or presigned query).</summary>
    static bool IsSigV2(RequestContext ctx)
        => ctx.Header("Authorization")?.StartsWith("AWS ", StringComparison.Ordinal) == true || ctx.Request.Query.ContainsKey("AWSAccessKeyId");

    static bool IsForm(RequestContext ctx)
        => ctx.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A service Strata does not know: answered in the protocol the request looks
    /// like, so the client can at least read the error.</summary>
    static ServiceDescriptor Unknown(string signingName, bool json, bool form)
        => new(signingName, signingName, json ? AwsProtocol.Json11 : form ? AwsProtocol.Query : AwsProtocol.RestXml, NamedOperations.None);

    /// <summary>The service name of the SigV4 credential scope, from the Authorization
    /// header or a presigned URL's X-Amz-Credential; null when the request is unsigned.</summary>
    static string? SigningName(RequestContext ctx)
    {
        string? credential = null;
        if (ctx.Header("Authorization") is { } auth)
        {
            var at = auth.IndexOf("Credential=", StringComparison.Ordinal);
            if (at >= 0)
            {
                var end = auth.IndexOf(',', at);
                credential = end < 0 ? auth[(at + 11)..] : auth[(at + 11)..end];
            }
        }
        else if (ctx.Request.Query.TryGetValue("X-Amz-Credential", out var q))
        {
            credential = q.ToString();
        }
        var parts = credential?.Trim().Split('/');
        return parts is { Length: 5 } ? parts[3] : null;
    }
}
