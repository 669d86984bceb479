using Xunit.Abstractions;

[assembly: TestCollectionOrderer("Strata.Server.Tests.LongestFirst", "Strata.Server.Tests")]

namespace Strata.Server.Tests;

/// <summary>Marks a test class that runs for minutes (a client script against servers of its own,
/// waiting on jobs or endpoints): <see cref="LongestFirst"/> starts it before the rest.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RunsLongAttribute : Attribute;

/// <summary>
/// Orders the test classes (xUnit's collections) so that those marked <see cref="RunsLongAttribute"/>
/// start first. xUnit runs as many classes at once as xunit.runner.json allows, taking them in this
/// order: a long class started last would run alone at the end, with the cores idle beside it,
/// while started first it overlaps with the many short ones (the longest-first rule of scheduling).
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    const string Prefix = "Test collection for ";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections)
        => testCollections.OrderBy(c => RunsLong(c) ? 0 : 1);

    static bool RunsLong(ITestCollection collection)
    {
        // A class without a [Collection] is a collection of its own, named after it.
        var name = collection.DisplayName.StartsWith(Prefix, StringComparison.Ordinal) ? collection.DisplayName[Prefix.Length..] : null;
        var type = name is null ? null : typeof(LongestFirst).Assembly.GetType(name);
        return type?.IsDefined(typeof(RunsLongAttribute), inherit: false) == true;
    }
}
