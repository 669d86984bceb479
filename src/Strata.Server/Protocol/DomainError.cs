namespace Strata.Server.Protocol;

/// <summary>
/// A failure of domain or storage code, said in its own terms (a key that is disabled, an entity
/// that does not exist). It knows no wire: each service's <see cref="ErrorTable"/> turns it into
/// the code, status and message AWS gives, and the pipeline writes that.
/// </summary>
public abstract class DomainError(string message) : Exception(message);

/// <summary>One service's map from typed domain errors to AWS errors (the second tier).</summary>
public sealed class ErrorTable
{
    readonly Dictionary<Type, Func<DomainError, AwsException>> _map = [];

    public static readonly ErrorTable None = new();

    public ErrorTable Map<T>(Func<T, AwsException> toWire) where T : DomainError
    {
        _map[typeof(T)] = e => toWire((T)e);
        return this;
    }

    /// <summary>The AWS error for <paramref name="error"/> (its own type or the nearest base
    /// type that is mapped), or null when this service does not map it.</summary>
    public AwsException? TryMap(DomainError error)
    {
        for (var type = error.GetType(); type is not null && type != typeof(DomainError); type = type.BaseType)
            if (_map.TryGetValue(type, out var toWire)) return toWire(error);
        return null;
    }

    /// <summary>The domain error types this table maps, for the test that holds the table
    /// against the service's errors and the model.</summary>
    public IEnumerable<Type> MappedTypes => _map.Keys;
}
