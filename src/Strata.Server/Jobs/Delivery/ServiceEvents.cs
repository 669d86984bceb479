using System.Text.Json.Nodes;

namespace Strata.Server.Jobs.Delivery;

/// <summary>
/// An event a service of Strata emits about a resource of its own, as AWS services do on the
/// account's default event bus: <paramref name="Source"/> is AWS's (<c>aws.sagemaker</c>,
/// <c>aws.cloudwatch</c>, <c>aws.s3</c>…), <paramref name="DetailType"/> and
/// <paramref name="Detail"/> are the shapes AWS documents for that event.
/// </summary>
public sealed record ServiceEvent(string Account, string Source, string DetailType, IReadOnlyList<string> Resources, JsonObject Detail, DateTimeOffset Time);

/// <summary>
/// Where services put their <see cref="ServiceEvent"/>s (EventBridge's default bus, in the
/// composition root). It lives below the services so that any of them may emit without knowing
/// EventBridge; it never throws at the emitter, so a rule's failing target never fails the
/// change that caused the event.
/// </summary>
public interface IServiceEvents
{
    void Put(ServiceEvent e);
}

/// <summary>For parts of Strata built without an event bus (unit tests, tools): events go nowhere.</summary>
public sealed class NoServiceEvents : IServiceEvents
{
    public static readonly NoServiceEvents Instance = new();

    public void Put(ServiceEvent e) { }
}
