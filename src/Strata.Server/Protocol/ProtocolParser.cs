using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace Strata.Server.Protocol;

/// <summary>
/// Reads what the request's protocol puts where (JSON body and <c>X-Amz-Target</c>, Query
/// form <c>Action</c>, REST method/path/sub-resources) and resolves the operation, or answers
/// with the protocol's own unknown-operation error.
/// </summary>
public static class ProtocolParser
{
    /// <summary>Control-plane bodies are small; anything larger is refused before it is read.</summary>
    const int MaxBufferedBody = 16 * 1024 * 1024;

    public static async Task ParseAsync(RequestContext ctx)
    {
        var service = ctx.Service!;
        switch (service.Protocol)
        {
            case AwsProtocol.Json10:
            case AwsProtocol.Json11:
                if (!HttpMethods.IsPost(ctx.Request.Method))
                    throw new AwsException("UnknownOperationException", 404, $"{ctx.Request.Method} is not a supported method for this service.");
                var target = ctx.Header("X-Amz-Target");
                if (target is null)
                    throw new AwsException("MissingAction", 400, "Missing required header X-Amz-Target.");
                var dot = target.LastIndexOf('.');
                ctx.OperationName = dot < 0 ? target : target[(dot + 1)..];
                var body = await ReadBodyAsync(ctx);
                ctx.BufferedBody = body;
                ctx.Content = Decode(ctx, body);
                break;
            case AwsProtocol.RpcV2Cbor:
                // POST /service/{ServiceName}/operation/{OperationName}: the path names the operation.
                if (!HttpMethods.IsPost(ctx.Request.Method))
                    throw new AwsException("UnknownOperationException", 404, $"{ctx.Request.Method} is not a supported method for this service.");
                var operation = ctx.RawPath.LastIndexOf("/operation/", StringComparison.Ordinal);
                ctx.OperationName = operation < 0 ? "" : Uri.UnescapeDataString(ctx.RawPath[(operation + "/operation/".Length)..]);
                var cbor = await ReadBodyAsync(ctx);
                ctx.BufferedBody = cbor;
                ctx.Content = Decode(ctx, cbor);
                break;
            case AwsProtocol.Query:
                var form = await ReadBodyAsync(ctx);
                ctx.BufferedBody = form;
                var input = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in QueryHelpers.ParseQuery(ctx.Request.QueryString.Value)) input[k] = v.ToString();
                if (ctx.Request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true)
                {
                    ctx.Content = Decode(ctx, form);
                    foreach (var (k, v) in QueryHelpers.ParseQuery(Encoding.UTF8.GetString(ctx.Content))) input[k] = v.ToString();
                }
                ctx.QueryInput = input;
                ctx.OperationName = input.GetValueOrDefault("Action")
                    ?? throw new AwsException("MissingAction", 400, "The request must contain the parameter Action.");
                break;
        }
        if (service.Protocol == AwsProtocol.RestJson)
            ctx.BufferedBody = await ReadPooledBodyAsync(ctx);
        // Every protocol but S3's has bodies read once here: SigV4 hashes them and the handler
        // reads them again from memory.
        if (ctx.BufferedBody is { } buffered) ctx.Body = new MemoryStream(buffered.Array ?? [], buffered.Offset, buffered.Count, writable: false);
        // Null when there is no such operation; answered only once the caller is authenticated,
        // so that an unsigned or forged request learns nothing about what exists.
        ctx.Operation = service.Operations.Resolve(ctx);
    }

    /// <summary>The stage after authentication: the operation must exist.</summary>
    public static Task RequireOperation(RequestContext ctx)
        => ctx.Operation is null ? throw UnknownOperation(ctx) : Task.CompletedTask;

    /// <summary>The stage after that: a generated operation's typed input, read and validated once.</summary>
    public static async Task ReadInput(RequestContext ctx)
    {
        if (ctx.Operation!.ReadInput is { } read) ctx.Input = read(ctx);
        else if (ctx.Operation.ReadInputAsync is { } readAsync) ctx.Input = await readAsync(ctx);
    }

    static AwsException UnknownOperation(RequestContext ctx) => ctx.Service!.Protocol switch
    {
        // Query-compatible JSON services answer with the Query code (in x-amzn-query-error too).
        AwsProtocol.Json10 or AwsProtocol.Json11 or AwsProtocol.RpcV2Cbor when ctx.Service.QueryCompatible => new AwsException("InvalidAction", 400, $"The action {ctx.OperationName} is not valid for this web service."),
        AwsProtocol.Json10 or AwsProtocol.Json11 or AwsProtocol.RpcV2Cbor => new AwsException("UnknownOperationException", 400, $"The operation {ctx.OperationName} is not supported by {ctx.Service.Id} in Strata."),
        AwsProtocol.Query => new AwsException("InvalidAction", 400, $"The action {ctx.OperationName} is not valid for this web service."),
        AwsProtocol.RestJson => new AwsException("UnknownOperationException", 404, $"No operation of {ctx.Service.Id} matches {ctx.Request.Method} {ctx.RawPath}."),
        _ => new AwsException("NotImplemented", 501, "A header you provided implies functionality that is not implemented.", senderFault: false),
    };

    /// <summary>The body with its Content-Encoding undone: gzip (botocore compresses requests of
    /// operations the model marks for it above 10 KiB), bounded like any body; identity otherwise.</summary>
    static byte[] Decode(RequestContext ctx, byte[] body)
    {
        var encoding = ctx.Header("Content-Encoding");
        if (encoding is null || body.Length == 0) return body;
        var codings = encoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (codings.All(c => c.Equals("identity", StringComparison.OrdinalIgnoreCase) || c.Equals("aws-chunked", StringComparison.OrdinalIgnoreCase))) return body;
        if (codings is not [var only] || !only.Equals("gzip", StringComparison.OrdinalIgnoreCase))
            throw new AwsException("UnsupportedContentEncoding", 415, $"The content encoding {encoding} is not supported.");
        try
        {
            using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
            using var plain = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = gzip.Read(chunk)) > 0)
            {
                plain.Write(chunk, 0, n);
                if (plain.Length > MaxBufferedBody) throw new AwsException("RequestEntityTooLargeException", 413, "Request body is too large.");
            }
            return plain.ToArray();
        }
        catch (InvalidDataException)
        {
            throw new AwsException("SerializationException", 400, "The request body is not valid gzip, as its Content-Encoding says.");
        }
    }

    static async Task<byte[]> ReadBodyAsync(RequestContext ctx)
    {
        if (DeclaredLength(ctx) is not { } length) return await ReadUnknownLengthAsync(ctx);
        // The usual case: the length is known, so the body is read straight into its array.
        var body = new byte[length];
        await ReadExactlyAsync(ctx, body);
        return body;
    }

    /// <summary>A SageMaker Runtime payload (up to 6 MB, an image or a tensor): read into a pooled
    /// array the request holds until it ends (<see cref="RequestContext.BodyOwner"/>), as the
    /// worker reads it on its side; the router forwards it from there.</summary>
    static async Task<ArraySegment<byte>> ReadPooledBodyAsync(RequestContext ctx)
    {
        if (DeclaredLength(ctx) is not { } length) return await ReadUnknownLengthAsync(ctx);
        if (length == 0) return new([]);
        var body = Strata.Worker.PooledBody.Rent(length);
        // Held from now on: a body that breaks off mid-read goes back when the request ends.
        ctx.BodyOwner = body;
        await ReadExactlyAsync(ctx, body.Segment);
        return body.Segment;
    }

    /// <summary>The Content-Length, refused when it is over the operation's limit; null when the body is chunked.</summary>
    static int? DeclaredLength(RequestContext ctx)
    {
        var declared = ctx.Request.ContentLength;
        if (declared > MaxBytes(ctx)) throw TooLarge(ctx, declared);
        return (int?)declared;
    }

    static long MaxBytes(RequestContext ctx) => Math.Min(ctx.Service!.Operations.BodyLimit?.MaxBytes ?? MaxBufferedBody, MaxBufferedBody);

    static AwsException TooLarge(RequestContext ctx, long? declared)
        => ctx.Service!.Operations.BodyLimit?.Refuse(ctx, declared) ?? new AwsException("RequestEntityTooLargeException", 413, "Request body is too large.");

    static async Task ReadExactlyAsync(RequestContext ctx, Memory<byte> body)
    {
        var read = 0;
        while (read < body.Length)
        {
            var n = await ctx.Request.Body.ReadAsync(body[read..]);
            if (n == 0) throw new AwsException("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.");
            read += n;
        }
    }

    static async Task<byte[]> ReadUnknownLengthAsync(RequestContext ctx)
    {
        var max = MaxBytes(ctx);
        using var buffer = new MemoryStream();
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(chunk)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > max) throw TooLarge(ctx, null);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    /// <summary>A JSON request body as a document (for operations not generated yet).</summary>
    internal static JsonElement ParseJson(byte[] body)
    {
        if (body.Length == 0) return JsonDocument.Parse("{}").RootElement;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new AwsException("SerializationException", 400, "Start of structure or map found where not expected.");
            RequireReadableStrings(doc.RootElement);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new AwsException("SerializationException", 400, "The request body is not valid JSON.");
        }
    }

    /// <summary>JSON may escape half a surrogate pair ("\ud800"), which no .NET string can be
    /// read from (GetString throws): such a document is refused here, once, so that no reader of
    /// the input (a handler, authorization's condition keys) meets it.</summary>
    static void RequireReadableStrings(JsonElement element)
    {
        try
        {
            Walk(element);
        }
        catch (InvalidOperationException)
        {
            throw new AwsException("SerializationException", 400, "The request body contains a string that is not valid UTF-16 (an unpaired surrogate).");
        }

        static void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    e.GetString();
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) Walk(item);
                    break;
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        _ = p.Name;
                        Walk(p.Value);
                    }
                    break;
            }
        }
    }
}
