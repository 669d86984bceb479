using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>The members SageMaker's List operations share: their requests are separate generated
/// shapes, each declared below as one of these, so that one <see cref="ListRequests.Page"/> serves all.</summary>
public interface IListRequest
{
    string? NameContains { get; }
    DateTimeOffset? CreationTimeAfter { get; }
    DateTimeOffset? CreationTimeBefore { get; }
    string? SortBy { get; }
    string? SortOrder { get; }
    string? NextToken { get; }
    int? MaxResults { get; }
}

/// <summary>The List operations of resources with a status that changes (endpoints, jobs).</summary>
public interface IListByStatusRequest : IListRequest
{
    string? StatusEquals { get; }
    DateTimeOffset? LastModifiedTimeAfter { get; }
    DateTimeOffset? LastModifiedTimeBefore { get; }
}

public sealed partial record ListModelsInput : IListRequest;

public sealed partial record ListEndpointConfigsInput : IListRequest;

public sealed partial record ListModelPackageGroupsInput : IListRequest;

public sealed partial record ListModelPackagesInput : IListRequest;

public sealed partial record ListEndpointsInput : IListByStatusRequest;

public sealed partial record ListTransformJobsRequest : IListByStatusRequest;

public sealed partial record ListTrainingJobsRequest : IListByStatusRequest;

public sealed partial record ListProcessingJobsRequest : IListByStatusRequest;

public sealed partial record ListHyperParameterTuningJobsRequest : IListByStatusRequest;

/// <summary>The List operations' filters, order and pages, in one place.</summary>
static class ListRequests
{
    /// <summary>One page of the resources a List request asks for, and the token of the next:
    /// NameContains (any case), CreationTimeBefore/After, then SortBy (Name | CreationTime | Status;
    /// default <paramref name="sortBy"/>, else CreationTime) and SortOrder (default
    /// <paramref name="sortOrder"/>, else newest first), then MaxResults and NextToken as
    /// <see cref="PageToken"/> pages. The model's validation has checked SortBy and SortOrder
    /// against each operation's values.</summary>
    public static (List<T> Page, string? Next) Page<T>(IListRequest input, IEnumerable<T> items, Func<T, string> name, Func<T, DateTimeOffset> created,
        string? sortBy = null, string? sortOrder = null)
        => PageOf(input, items, name, created, _ => "", sortBy, sortOrder);

    /// <summary>As the other, with StatusEquals and LastModifiedTimeAfter/Before too.</summary>
    public static (List<T> Page, string? Next) Page<T>(IListByStatusRequest input, IEnumerable<T> items, Func<T, string> name, Func<T, DateTimeOffset> created,
        Func<T, string> status, Func<T, DateTimeOffset> lastModified, string? sortBy = null, string? sortOrder = null)
    {
        if (input.StatusEquals is { } equals) items = items.Where(i => status(i) == equals);
        if (input.LastModifiedTimeAfter is { } after) items = items.Where(i => Seconds(lastModified(i)) > Seconds(after));
        if (input.LastModifiedTimeBefore is { } before) items = items.Where(i => Seconds(lastModified(i)) < Seconds(before));
        return PageOf(input, items, name, created, status, sortBy, sortOrder);
    }

    static (List<T> Page, string? Next) PageOf<T>(IListRequest input, IEnumerable<T> items, Func<T, string> name, Func<T, DateTimeOffset> created, Func<T, string> status,
        string? sortBy, string? sortOrder)
    {
        if (input.NameContains is { } contains) items = items.Where(i => name(i).Contains(contains, StringComparison.OrdinalIgnoreCase));
        if (input.CreationTimeBefore is { } before) items = items.Where(i => Seconds(created(i)) < Seconds(before));
        if (input.CreationTimeAfter is { } after) items = items.Where(i => Seconds(created(i)) > Seconds(after));
        var descending = (input.SortOrder ?? sortOrder) switch
        {
            null or "Descending" => true,
            "Ascending" => false,
            var other => throw JsonProtocol.Invalid("SortOrder", other, "Member must satisfy enum value set: [Ascending, Descending]"),
        };
        Func<T, IComparable> key = (input.SortBy ?? sortBy) switch
        {
            null or "CreationTime" => i => created(i),
            "Name" => i => name(i),
            "Status" => i => status(i),
            var other => throw JsonProtocol.Invalid("SortBy", other, "Member must satisfy enum value set: [Name, CreationTime, Status]"),
        };
        return PageToken.Page((descending ? items.OrderByDescending(key) : items.OrderBy(key)).ToList(), input.NextToken, input.MaxResults);
    }

    /// <summary>Epoch seconds to the millisecond, as the wire carries them.</summary>
    static double Seconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds() / 1000.0;
}
