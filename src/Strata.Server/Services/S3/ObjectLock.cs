using System.Globalization;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>
/// S3 Object Lock, decided from the records and the time alone (no I/O), so the handlers, the
/// store's checks inside its transactions and lifecycle all decide the same way.
/// <para>A version is protected while its retention has not passed (its retain-until date is after
/// now) or its legal hold is ON. A protected version cannot be removed; a retention can always be
/// extended, but shortened, removed or weakened (COMPLIANCE to GOVERNANCE) only once it has passed,
/// or, for GOVERNANCE, by a caller who bypasses it. A legal hold blocks removal whatever the
/// retention, and nothing bypasses it.</para>
/// </summary>
public static class ObjectLock
{
    public const string Governance = "GOVERNANCE";
    public const string Compliance = "COMPLIANCE";
    public const string On = "ON";
    public const string Off = "OFF";

    /// <summary>Whether the version's retention is in force at <paramref name="now"/>.</summary>
    public static bool IsRetained(ObjectRecord version, DateTimeOffset now)
        => version.ObjectLockMode is not null && version.ObjectLockRetainUntilDate is { } until && until > now;

    /// <summary>Whether anything stops the version from being removed at <paramref name="now"/>.</summary>
    public static bool IsProtected(ObjectRecord version, DateTimeOffset now)
        => version.ObjectLockLegalHold == On || IsRetained(version, now);

    /// <summary>Whether the version may be removed for good: it is not protected, or only by a
    /// GOVERNANCE retention that the caller bypasses.</summary>
    public static bool MayRemove(ObjectRecord version, DateTimeOffset now, bool bypassGovernance)
        => version.ObjectLockLegalHold != On && (!IsRetained(version, now) || version.ObjectLockMode == Governance && bypassGovernance);

    /// <summary>Whether the version's retention may become <paramref name="mode"/> until
    /// <paramref name="until"/> (both null: no retention at all).</summary>
    public static bool MayChangeRetention(ObjectRecord version, string? mode, DateTimeOffset? until, DateTimeOffset now, bool bypassGovernance)
    {
        if (!IsRetained(version, now)) return true;
        var notShorter = until is { } u && u >= version.ObjectLockRetainUntilDate!.Value;
        if (version.ObjectLockMode == Compliance) return mode == Compliance && notShorter;
        return mode is not null && notShorter || bypassGovernance;
    }

    /// <summary>When a version written at <paramref name="now"/> is retained until under the
    /// bucket's default retention (null: the bucket has none).</summary>
    public static DateTimeOffset? DefaultRetainUntil(ObjectLockConfigurationRecord config, DateTimeOffset now)
        => config.DefaultDays is { } days ? now.AddDays(days) : config.DefaultYears is { } years ? now.AddYears(years) : null;

    /// <summary>The retention and legal hold a new version gets: those its request names, else the
    /// bucket's default retention. Null fields: none.</summary>
    public static Settings ForNewVersion(ObjectLockConfigurationRecord config, Settings requested, DateTimeOffset now)
        => requested.Mode is not null ? requested
            : requested with { Mode = config.DefaultMode, RetainUntilDate = DefaultRetainUntil(config, now) };

    /// <summary>A version's (or a request's) Object Lock settings.</summary>
    public sealed record Settings(string? Mode, DateTimeOffset? RetainUntilDate, string? LegalHold)
    {
        public static readonly Settings None = new(null, null, null);

        public bool IsEmpty => Mode is null && RetainUntilDate is null && LegalHold is null;

        public ObjectRecord ApplyTo(ObjectRecord record)
            => record with { ObjectLockMode = Mode, ObjectLockRetainUntilDate = RetainUntilDate, ObjectLockLegalHold = LegalHold };
    }

    /// <summary>The settings a write's <c>x-amz-object-lock-*</c> headers name, checked as S3 checks
    /// them: a mode and a date come together, the mode and the hold are S3's values, and the date
    /// is a timestamp in the future.</summary>
    public static Settings FromHeaders(Func<string, string?> header, DateTimeOffset now)
    {
        var mode = header("x-amz-object-lock-mode");
        var untilText = header("x-amz-object-lock-retain-until-date");
        var hold = header("x-amz-object-lock-legal-hold");
        if (mode is not null && mode is not (Governance or Compliance))
            throw S3Errors.InvalidArgument("Unknown wormMode directive.", "x-amz-object-lock-mode", mode);
        if (hold is not null && hold is not (On or Off))
            throw S3Errors.InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'", "x-amz-object-lock-legal-hold", hold);
        if (mode is null != untilText is null)
            throw S3Errors.InvalidArgument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
                mode is null ? "x-amz-object-lock-mode" : "x-amz-object-lock-retain-until-date", mode is null ? untilText : mode);
        DateTimeOffset? until = null;
        if (untilText is not null)
        {
            if (!DateTimeOffset.TryParse(untilText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                throw S3Errors.InvalidArgument("The retain until date must be provided in ISO 8601 format", "x-amz-object-lock-retain-until-date", untilText);
            if (parsed <= now) throw RetainUntilInThePast();
            until = parsed;
        }
        return new Settings(mode, until, hold);
    }

    public static AwsException RetainUntilInThePast() => S3Errors.InvalidArgument("The retain until date must be in the future!");

    /// <summary>What S3 answers for a lock setting on a bucket without Object Lock.</summary>
    public static AwsException NotEnabled() => S3Errors.InvalidRequest("Bucket is missing Object Lock Configuration");

    /// <summary>What S3 answers for removing, or weakening the retention of, a locked version.</summary>
    public static AwsException Locked() => new("AccessDenied", 403, "Access Denied because object protected by object lock.");

    /// <summary>The <c>x-amz-object-lock-*</c> headers of a version's GET and HEAD.</summary>
    public static void WriteHeaders(IHeaderDictionary headers, ObjectRecord version, bool retention, bool legalHold)
    {
        if (retention && version.ObjectLockMode is { } mode && version.ObjectLockRetainUntilDate is { } until)
        {
            headers["x-amz-object-lock-mode"] = mode;
            headers["x-amz-object-lock-retain-until-date"] = Xml.Timestamp(until);
        }
        if (legalHold && version.ObjectLockLegalHold is { } hold) headers["x-amz-object-lock-legal-hold"] = hold;
    }
}
