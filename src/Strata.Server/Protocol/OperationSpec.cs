using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Strata.Server.Protocol;

/// <summary>
/// The wire binding of one operation, generated from the service model: how its typed input is
/// read (and validated against the model's constraints) and how its typed output is written.
/// A service binds it to a handler with <see cref="OperationBinding"/>; parsing, validation and
/// serialisation then happen in the pipeline, once.
/// </summary>
public abstract class OperationSpec<TIn, TOut>(string name)
{
    public string Name { get; } = name;

    /// <summary>Reads and validates the request's input.</summary>
    public abstract TIn Read(RequestContext ctx);

    public abstract Task WriteAsync(RequestContext ctx, TOut output);

    /// <summary>The output as JSON (CloudTrail's responseElements), where the protocol has a JSON form.</summary>
    public virtual string? OutputJson(TOut output) => null;

    protected static T Checked<T>(T input, string validationCode)
    {
        if (input is IValidatable shape)
        {
            var validator = new Validator();
            shape.Validate(validator);
            validator.ThrowIfInvalid(validationCode);
        }
        return input;
    }
}

/// <summary>An operation of a JSON 1.0/1.1 service: input and output through source-generated
/// System.Text.Json metadata; a missing input/output shape reads/writes as <c>{}</c>. The same
/// metadata serves RPC v2 CBOR (<see cref="CborWire"/>), which carries JSON's data model.</summary>
public sealed class JsonOperation<TIn, TOut>(string name, JsonTypeInfo<TIn>? input, JsonTypeInfo<TOut>? output) : OperationSpec<TIn, TOut>(name)
{
    public override TIn Read(RequestContext ctx)
    {
        if (input is null) return (TIn)(object)Empty.Instance;
        TIn? value;
        var body = ctx.Service!.Protocol == AwsProtocol.RpcV2Cbor ? CborWire.ToJson(ctx.Content ?? []) : ctx.Content;
        // A query-compatible service (CloudWatch) answers validation failures with its Query code.
        var validationCode = ctx.Service.QueryCompatible ? "ValidationError" : "ValidationException";
        try
        {
            value = body is { Length: > 0 } ? JsonSerializer.Deserialize(body, input) : JsonSerializer.Deserialize("{}"u8, input);
        }
        catch (JsonException e)
        {
            throw new AwsException("SerializationException", 400, SerializationMessage(e));
        }
        return Checked(value ?? throw new AwsException("SerializationException", 400, "Start of structure or map found where not expected."), validationCode);
    }

    public override async Task WriteAsync(RequestContext ctx, TOut output1)
    {
        byte[] body;
        ctx.Response.StatusCode = 200;
        switch (ctx.Service!.Protocol)
        {
            case AwsProtocol.RpcV2Cbor:
                body = CborWire.FromValue(output is null ? null : output1, output!);
                ctx.Response.ContentType = CborWire.ContentType;
                ctx.Response.Headers["smithy-protocol"] = "rpc-v2-cbor";
                break;
            default:
                body = output is null ? "{}"u8.ToArray() : JsonSerializer.SerializeToUtf8Bytes(output1, output);
                ctx.Response.ContentType = ctx.Service.Protocol == AwsProtocol.Json10 ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1";
                break;
        }
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    }

    public override string? OutputJson(TOut value) => output is null ? null : JsonSerializer.Serialize(value, output);

    /// <summary>Says which member was wrong, without System.Text.Json's type names.</summary>
    static string SerializationMessage(JsonException e)
        => e.Path is { Length: > 2 } path ? $"The value at {path[2..]} is not of the type the operation expects." : "The request body is not valid for this operation.";
}

/// <summary>An operation of a Query service (IAM, STS): input from form parameters, output as
/// <c>&lt;{Operation}Response&gt;&lt;{resultWrapper}&gt;…</c> XML.</summary>
public sealed class QueryOperation<TIn, TOut>(string name, Func<QueryReader, string, TIn>? input, string? resultWrapper, Action<System.Xml.XmlWriter, TOut>? output)
    : OperationSpec<TIn, TOut>(name)
{
    public override TIn Read(RequestContext ctx)
        => input is null ? (TIn)(object)Empty.Instance : Checked(input(new QueryReader(ctx.QueryInput ?? []), ""), "ValidationError");

    public override Task WriteAsync(RequestContext ctx, TOut value)
        => QueryProtocol.WriteAsync(ctx, output is null || resultWrapper is null ? null : xml => output(xml, value), resultWrapper);
}

/// <summary>An operation of a service that speaks several protocols (CloudWatch: RPC v2 CBOR,
/// JSON 1.0 and Query): each request is read and answered in the protocol it came in.</summary>
public sealed class MultiProtocolOperation<TIn, TOut>(JsonOperation<TIn, TOut> json, QueryOperation<TIn, TOut> query) : OperationSpec<TIn, TOut>(json.Name)
{
    public override TIn Read(RequestContext ctx) => ctx.Service!.Protocol == AwsProtocol.Query ? query.Read(ctx) : json.Read(ctx);

    public override Task WriteAsync(RequestContext ctx, TOut output)
        => ctx.Service!.Protocol == AwsProtocol.Query ? query.WriteAsync(ctx, output) : json.WriteAsync(ctx, output);

    public override string? OutputJson(TOut output) => json.OutputJson(output);
}

/// <summary>Binds a generated operation to its handler: the typed input is read in the pipeline's
/// read-input stage, the resource function and the handler receive it, the output is written
/// in the service's protocol.</summary>
public static class OperationBinding
{
    public static Operation Bind<TIn, TOut>(this OperationSpec<TIn, TOut> spec, string iamAction, Func<TIn, RequestContext, string> resource,
        Func<TIn, RequestContext, Task<TOut>> handler)
        => new(spec.Name, iamAction, ctx => resource(Input<TIn>(ctx), ctx), async ctx =>
        {
            var output = await handler(Input<TIn>(ctx), ctx);
            ctx.OutputJson = () => spec.OutputJson(output);
            await spec.WriteAsync(ctx, output);
        })
        {
            ReadInput = ctx => spec.Read(ctx)!,
        };

    public static Operation Bind<TIn, TOut>(this OperationSpec<TIn, TOut> spec, string iamAction, Func<TIn, RequestContext, string> resource,
        Func<TIn, RequestContext, TOut> handler)
        => spec.Bind(iamAction, resource, (input, ctx) => Task.FromResult(handler(input, ctx)));

    /// <summary>An operation without output members.</summary>
    public static Operation Bind<TIn>(this OperationSpec<TIn, Empty> spec, string iamAction, Func<TIn, RequestContext, string> resource,
        Action<TIn, RequestContext> handler)
        => spec.Bind(iamAction, resource, (input, ctx) => { handler(input, ctx); return Empty.Instance; });

    static T Input<T>(RequestContext ctx) => ctx.Input is T input ? input : throw new InvalidOperationException($"{ctx.OperationName}: input not read");
}
