namespace Strata.Server.Services.S3;

/// <summary>One page of a listing: keys (with their stored value) and common prefixes, in the
/// order S3 returns them, and where the next page starts.</summary>
public sealed record ListingPage(
    List<KeyValuePair<string, string>> Contents,
    List<string> CommonPrefixes,
    bool IsTruncated,
    /// <summary>The last key or common prefix of this page; the next page starts after it.</summary>
    string? LastEntry,
    bool LastEntryIsPrefix);

/// <summary>
/// S3's listing rules over an ordered key scan: keys under <c>prefix</c>, after the marker,
/// where every key that has <c>delimiter</c> after the prefix is rolled up into one common
/// prefix (counted once against max-keys). Common prefixes are skipped over in one seek, so a
/// folder of a million keys costs one step, not a million.
/// </summary>
public static class S3Listing
{
    public delegate IReadOnlyList<KeyValuePair<string, string>> Scan(string prefix, string? startAfter, int limit, bool skipStartAfterPrefix);

    const int BatchSize = 1000;

    /// <summary>Whether a marker is a common prefix (the NextMarker of a delimited page): the
    /// prefix, then text, then the delimiter once, at its end. A listing resumes past all of it.</summary>
    public static bool IsCommonPrefix(string? marker, string prefix, string? delimiter)
        => marker is not null && !string.IsNullOrEmpty(delimiter)
            && marker.StartsWith(prefix, StringComparison.Ordinal) && marker.EndsWith(delimiter, StringComparison.Ordinal)
            && marker.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal) == marker.Length - delimiter.Length;

    public static ListingPage List(Scan scan, string prefix, string? delimiter, string? startAfter, bool startAfterIsPrefix, int maxKeys)
    {
        var contents = new List<KeyValuePair<string, string>>();
        var prefixes = new List<string>();
        if (maxKeys <= 0) return new ListingPage(contents, prefixes, false, null, false);

        var cursor = startAfter;
        var skip = startAfterIsPrefix;
        string? last = null;
        var lastIsPrefix = false;
        while (true)
        {
            var batch = scan(prefix, cursor, BatchSize, skip);
            if (batch.Count == 0) return new ListingPage(contents, prefixes, false, last, lastIsPrefix);
            var rescan = false;
            foreach (var row in batch)
            {
                var key = row.Key;
                string? commonPrefix = null;
                if (!string.IsNullOrEmpty(delimiter))
                {
                    var at = key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                    if (at >= 0) commonPrefix = key[..(at + delimiter.Length)];
                }
                if (contents.Count + prefixes.Count == maxKeys)
                    return new ListingPage(contents, prefixes, true, last, lastIsPrefix);
                if (commonPrefix is not null)
                {
                    prefixes.Add(commonPrefix);
                    (last, lastIsPrefix) = (commonPrefix, true);
                    // Everything else under this common prefix is already represented: seek past it.
                    (cursor, skip, rescan) = (commonPrefix, true, true);
                    break;
                }
                contents.Add(row);
                (last, lastIsPrefix) = (key, false);
                (cursor, skip) = (key, false);
            }
            if (!rescan && batch.Count < BatchSize) return new ListingPage(contents, prefixes, false, last, lastIsPrefix);
        }
    }
}
