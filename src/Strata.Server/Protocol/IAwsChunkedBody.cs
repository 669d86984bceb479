namespace Strata.Server.Protocol;

/// <summary>A request body sent <c>aws-chunked</c> (S3 streaming uploads), as the handler sees it
/// once it has read the body to the end: the trailing headers (checksums) and the decoded length.
/// Authentication decodes and verifies it (the chunk signatures are SigV4's).</summary>
public interface IAwsChunkedBody
{
    IReadOnlyDictionary<string, string> Trailers { get; }
    long DecodedLength { get; }
}
