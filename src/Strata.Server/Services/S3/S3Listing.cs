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

    /// <summary>The first <paramref name="limit"/> distinct keys of two key-ordered sequences, in
    /// order (the state store's order: UTF-8 bytes).</summary>
    public static List<string> MergeKeys(IEnumerable<string> first, IEnumerable<string> second, int limit)
    {
        var merged = new List<string>();
        using var a = first.GetEnumerator();
        using var b = second.GetEnumerator();
        bool hasA = a.MoveNext(), hasB = b.MoveNext();
        while ((hasA || hasB) && merged.Count < limit)
        {
            var c = !hasA ? 1 : !hasB ? -1 : S3VersionListing.CompareUtf8(a.Current, b.Current);
            merged.Add(c <= 0 ? a.Current : b.Current);
            if (c <= 0) hasA = a.MoveNext();
            if (c >= 0) hasB = b.MoveNext();
        }
        return merged;
    }
}

/// <summary>One entry of a ListObjectVersions page: a version of <paramref name="Key"/> (and
/// whether it is the key's latest), or, when <paramref name="Version"/> is null, a common prefix.</summary>
public sealed record VersionListingEntry<T>(string Key, T? Version, bool IsLatest) where T : class;

/// <summary>One page of ListObjectVersions, in S3's order (key order, each key's versions newest
/// first), and where the next page starts (<c>NextKeyMarker</c>, <c>NextVersionIdMarker</c>).</summary>
public sealed record VersionListingPage<T>(List<VersionListingEntry<T>> Entries, bool IsTruncated, string? NextKeyMarker, string? NextVersionIdMarker) where T : class;

public static class S3VersionListing
{
    /// <summary>
    /// ListObjectVersions over S3's key listing (<see cref="S3Listing.List"/>, so prefixes,
    /// delimiters and markers mean what they mean there): each key expands into its versions,
    /// newest first, and max-keys counts versions and common prefixes. A page may end inside a
    /// key; it then resumes from <paramref name="keyMarker"/>'s versions after
    /// <paramref name="versionIdMarker"/>, then the keys after it.
    /// </summary>
    public static VersionListingPage<T> List<T>(S3Listing.Scan scan, Func<string, IReadOnlyList<T>> versionsOf, Func<T, string> idOf,
        string prefix, string? delimiter, string? keyMarker, string? versionIdMarker, int maxKeys) where T : class
    {
        var entries = new List<VersionListingEntry<T>>();
        if (maxKeys <= 0) return new VersionListingPage<T>(entries, false, null, null);
        var markerIsPrefix = S3Listing.IsCommonPrefix(keyMarker, prefix, delimiter);
        if (keyMarker is not null && !string.IsNullOrEmpty(versionIdMarker) && !markerIsPrefix)
        {
            var versions = versionsOf(keyMarker);
            var at = versions.ToList().FindIndex(v => idOf(v) == versionIdMarker);
            for (var i = at + 1; at >= 0 && i < versions.Count; i++) entries.Add(new(keyMarker, versions[i], i == 0));
        }
        // Every key has a version, so this many keys or prefixes are enough to fill the page and
        // to know whether anything follows it.
        var page = S3Listing.List(scan, prefix, delimiter, keyMarker, markerIsPrefix, Math.Max(maxKeys + 1 - entries.Count, 1));
        int k = 0, p = 0;
        while (k < page.Contents.Count || p < page.CommonPrefixes.Count)
        {
            if (p == page.CommonPrefixes.Count || k < page.Contents.Count && CompareUtf8(page.Contents[k].Key, page.CommonPrefixes[p]) < 0)
            {
                var key = page.Contents[k++].Key;
                var versions = versionsOf(key);
                for (var i = 0; i < versions.Count; i++) entries.Add(new(key, versions[i], i == 0));
            }
            else
            {
                entries.Add(new(page.CommonPrefixes[p++], null, false));
            }
        }
        if (entries.Count <= maxKeys && !page.IsTruncated) return new VersionListingPage<T>(entries, false, null, null);
        if (entries.Count > maxKeys) entries.RemoveRange(maxKeys, entries.Count - maxKeys);
        // Only a key deleted since it was scanned has no versions; the next page starts after it.
        if (entries.Count == 0) return new VersionListingPage<T>(entries, true, page.LastEntry, null);
        var last = entries[^1];
        return new VersionListingPage<T>(entries, true, last.Key, last.Version is null ? null : idOf(last.Version));
    }

    /// <summary>Keys in the state store's order (UTF-8 bytes), which differs from UTF-16 ordinal
    /// order for characters beyond the Basic Multilingual Plane.</summary>
    public static int CompareUtf8(string a, string b)
        => System.Text.Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b));
}
