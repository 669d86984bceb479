using Strata.Server.Jobs.Delivery;

namespace Strata.Server.Tests.Unit;

/// <summary>An event bus that only remembers what services put on it, in order, for the tests
/// of each emitter.</summary>
public sealed class ServiceEventRecorder : IServiceEvents
{
    readonly List<ServiceEvent> _events = [];

    public void Put(ServiceEvent e)
    {
        lock (_events) _events.Add(e);
    }

    public IReadOnlyList<ServiceEvent> Events
    {
        get
        {
            lock (_events) return [.. _events];
        }
    }

    public IReadOnlyList<ServiceEvent> OfType(string detailType) => Events.Where(e => e.DetailType == detailType).ToList();

    public void Clear()
    {
        lock (_events) _events.Clear();
    }
}
