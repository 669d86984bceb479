namespace Strata.Server.Protocol;

/// <summary>The AWS wire protocols (botocore's <c>metadata.protocol</c>).</summary>
public enum AwsProtocol
{
    /// <summary>AWS JSON 1.0: POST /, <c>X-Amz-Target</c>, JSON body.</summary>
    Json10,
    /// <summary>AWS JSON 1.1: as 1.0 with content type application/x-amz-json-1.1.</summary>
    Json11,
    /// <summary>AWS Query: form-encoded <c>Action=…</c> in, XML out.</summary>
    Query,
    /// <summary>REST with XML bodies (S3).</summary>
    RestXml,
    /// <summary>REST with JSON bodies (SageMaker Runtime).</summary>
    RestJson,
    /// <summary>Smithy RPC v2 CBOR: POST /service/{service}/operation/{operation}, CBOR bodies
    /// (CloudWatch's first protocol for botocore ≥ 1.40).</summary>
    RpcV2Cbor,
}
