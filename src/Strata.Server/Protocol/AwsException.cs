namespace Strata.Server.Protocol;

/// <summary>
/// An AWS error: the code clients switch on, the HTTP status, a message, and whether the caller
/// (Sender) or the service (Receiver) is at fault. Services throw it; the pipeline serializes it
/// once, in the request's protocol (<see cref="ErrorWriter"/>). Extra members (S3's
/// <c>Key</c>/<c>BucketName</c>, runtime's <c>OriginalStatusCode</c>) travel in <see cref="Fields"/>.
/// </summary>
public class AwsException(string code, int status, string message, bool senderFault = true) : Exception(message)
{
    public string Code { get; } = code;
    public int Status { get; } = status;
    public bool SenderFault { get; } = senderFault;
    public List<KeyValuePair<string, string>> Fields { get; } = [];

    public AwsException With(string name, string? value)
    {
        if (value is not null) Fields.Add(new(name, value));
        return this;
    }

    public static AwsException Internal(string message = "We encountered an internal error. Please try again.")
        => new("InternalError", 500, message, senderFault: false);
}
