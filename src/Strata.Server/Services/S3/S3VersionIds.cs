using System.Security.Cryptography;

namespace Strata.Server.Services.S3;

/// <summary>
/// Version ids: opaque to clients, URL-safe (no character needs escaping in a query or in
/// <c>x-amz-copy-source</c>), 32 characters. The first 11 encode the write's time inverted, in
/// an alphabet whose characters sort in their ASCII order, so a newer version's id sorts before
/// an older one's (a convenience for reading stored rows; a key's versions are kept in order
/// by position, not by id); the other 21 are random, so two writes in the same tick differ.
/// </summary>
public static class S3VersionIds
{
    public const string Null = "null";
    public const int Length = 32;
    const int TimeChars = 11;

    /// <summary>64 characters in ascending ASCII order: '.', digits, upper case, '_', lower case.</summary>
    internal const string Alphabet = ".0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

    public static string New(DateTimeOffset at)
    {
        Span<char> id = stackalloc char[Length];
        var inverted = (ulong)(long.MaxValue - at.UtcTicks);
        for (var i = TimeChars - 1; i >= 0; i--)
        {
            id[i] = Alphabet[(int)(inverted & 63)];
            inverted >>= 6;
        }
        Span<byte> random = stackalloc byte[Length - TimeChars];
        RandomNumberGenerator.Fill(random);
        for (var i = TimeChars; i < Length; i++) id[i] = Alphabet[random[i - TimeChars] & 63];
        return new string(id);
    }

    /// <summary>Whether <paramref name="versionId"/> could name a version: <c>null</c>, or an id
    /// of this shape. Anything else is refused as invalid, not looked up.</summary>
    public static bool IsWellFormed(string versionId)
        => versionId == Null || versionId.Length == Length && versionId.All(c => Alphabet.Contains(c));
}
