using Strata.Server.Jobs.Trail;
using Strata.Server.Protocol;

namespace Strata.Server.Services.CloudTrail;

/// <summary>
/// Which records a trail logs: its basic event selectors (management events by read/write type,
/// data events by resource type and ARN prefix) or its advanced ones (field conditions over
/// <c>eventCategory</c>, <c>eventSource</c>, <c>eventName</c>, <c>readOnly</c>,
/// <c>resources.type</c> and <c>resources.ARN</c>). Pure: the delivery job keeps one per logging
/// trail, so that a record is matched without reading the store.
/// </summary>
public sealed class TrailSelectors
{
    /// <summary>The data resource types Strata records data events for, and their event sources.</summary>
    public static readonly IReadOnlyDictionary<string, string> DataEventSources = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["AWS::S3::Object"] = "s3.amazonaws.com",
        ["AWS::SageMaker::Endpoint"] = "sagemaker.amazonaws.com",
    };

    /// <summary>The types basic selectors take (AWS's three; Strata has no Lambda or DynamoDB, so
    /// those two are kept and match nothing).</summary>
    static readonly HashSet<string> BasicTypes = ["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"];

    static readonly HashSet<string> AdvancedFields = ["eventCategory", "eventSource", "eventName", "readOnly", "resources.type", "resources.ARN", "eventType"];

    readonly List<EventSelectorRow>? _basic;
    readonly List<AdvancedEventSelectorRow>? _advanced;

    public TrailSelectors(List<EventSelectorRow>? basic, List<AdvancedEventSelectorRow>? advanced)
    {
        _basic = advanced is null ? basic ?? [new EventSelectorRow()] : null;
        _advanced = advanced;
    }

    public static TrailSelectors Of(TrailRow trail) => new(trail.EventSelectors, trail.AdvancedEventSelectors);

    /// <summary>Whether data events of <paramref name="eventSource"/> could match (the pipeline's
    /// question before it builds a data event's record).</summary>
    public bool WantsDataEvents(string eventSource)
    {
        if (_basic is not null)
            return _basic.Any(s => s.DataResources.Any(d => DataEventSources.TryGetValue(d.Type, out var source) && source == eventSource));
        return _advanced!.Any(s => Test(s, "eventCategory", "Data")
            && (!HasField(s, "eventSource") || Test(s, "eventSource", eventSource))
            && (!HasField(s, "resources.type") || DataEventSources.Any(kv => kv.Value == eventSource && Test(s, "resources.type", kv.Key))));
    }

    public bool Matches(AuditRecord record)
    {
        if (_basic is not null) return _basic.Any(s => MatchesBasic(s, record));
        return _advanced!.Any(s => MatchesAdvanced(s, record));
    }

    static bool MatchesBasic(EventSelectorRow s, AuditRecord r)
    {
        var readWrite = s.ReadWriteType switch { "ReadOnly" => r.ReadOnly, "WriteOnly" => !r.ReadOnly, _ => true };
        if (!readWrite) return false;
        if (r.ManagementEvent) return s.IncludeManagementEvents && !s.ExcludeManagementEventSources.Contains(r.EventSource);
        return s.DataResources.Any(d => ResourceArns(r, d.Type).Any(arn => d.Values.Any(v => DataValueMatches(d.Type, v, arn))));
    }

    /// <summary>A basic data resource value: the whole service (<c>arn:aws:s3</c>, or S3's
    /// <c>arn:aws:s3:::</c>), else a prefix of the resource's ARN (<c>arn:aws:s3:::bucket/</c>).</summary>
    static bool DataValueMatches(string type, string value, string arn)
    {
        var service = type switch { "AWS::S3::Object" => "arn:aws:s3", "AWS::SageMaker::Endpoint" => "arn:aws:sagemaker", _ => null };
        if (service is null) return false;
        if (value == service || value == service + ":::") return true;
        return arn.StartsWith(value, StringComparison.Ordinal);
    }

    /// <summary>The ARNs of the record's resources of <paramref name="type"/> (an S3 object named
    /// <c>bucket/key</c> becomes <c>arn:aws:s3:::bucket/key</c>).</summary>
    static IEnumerable<string> ResourceArns(AuditRecord r, string type)
        => r.Resources.Where(x => x.Type == type).Select(x => x.Name.StartsWith("arn:", StringComparison.Ordinal) ? x.Name
            : type == "AWS::S3::Object" ? "arn:aws:s3:::" + x.Name : x.Name);

    static bool HasField(AdvancedEventSelectorRow s, string field) => s.FieldSelectors.Any(f => f.Field == field);

    /// <summary>Whether every condition on <paramref name="field"/> holds for <paramref name="value"/>.</summary>
    static bool Test(AdvancedEventSelectorRow s, string field, string value)
        => s.FieldSelectors.Where(f => f.Field == field).All(f => Holds(f, value));

    static bool MatchesAdvanced(AdvancedEventSelectorRow s, AuditRecord r)
    {
        foreach (var f in s.FieldSelectors)
        {
            var ok = f.Field switch
            {
                "eventCategory" => Holds(f, r.ManagementEvent ? "Management" : "Data"),
                "eventSource" => Holds(f, r.EventSource),
                "eventName" => Holds(f, r.EventName),
                "readOnly" => Holds(f, r.ReadOnly ? "true" : "false"),
                "eventType" => Holds(f, "AwsApiCall"),
                "resources.type" => r.Resources.Any(x => Holds(f, x.Type)),
                "resources.ARN" => r.Resources.Any(x => Holds(f, ResourceArns(r, x.Type).FirstOrDefault() ?? x.Name)),
                _ => false,
            };
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>One field condition: any of its positive operators' values (when it has any), and
    /// none of its negative ones.</summary>
    static bool Holds(FieldSelectorRow f, string value)
    {
        var positive = f.EqualsValue is not null || f.StartsWith is not null || f.EndsWith is not null;
        if (positive && !((f.EqualsValue?.Contains(value) ?? false)
            || (f.StartsWith?.Any(p => value.StartsWith(p, StringComparison.Ordinal)) ?? false)
            || (f.EndsWith?.Any(p => value.EndsWith(p, StringComparison.Ordinal)) ?? false))) return false;
        if (f.NotEquals?.Contains(value) == true) return false;
        if (f.NotStartsWith?.Any(p => value.StartsWith(p, StringComparison.Ordinal)) == true) return false;
        if (f.NotEndsWith?.Any(p => value.EndsWith(p, StringComparison.Ordinal)) == true) return false;
        return true;
    }

    // ---- PutEventSelectors' checks, with AWS's messages ----

    /// <summary>The rows of basic selectors, or InvalidEventSelectorsException as AWS words it
    /// ("Value arn:aws:s3:::bucket for DataResources.Values is invalid.").</summary>
    public static List<EventSelectorRow> Basic(List<EventSelector> selectors)
    {
        if (selectors.Count > 5)
            throw CloudTrailErrors.InvalidEventSelectorsException("The number of event selectors must not be greater than 5.");
        var rows = new List<EventSelectorRow>();
        foreach (var s in selectors)
        {
            var resources = new List<DataResourceRow>();
            foreach (var d in s.DataResources ?? [])
            {
                if (d.Type is null || !BasicTypes.Contains(d.Type))
                    throw CloudTrailErrors.InvalidEventSelectorsException($"Value {d.Type} for DataResources.Type is invalid.");
                var values = d.Values ?? [];
                foreach (var v in values)
                    if (!ValidDataValue(d.Type, v)) throw CloudTrailErrors.InvalidEventSelectorsException($"Value {v} for DataResources.Values is invalid.");
                resources.Add(new DataResourceRow(d.Type, values));
            }
            rows.Add(new EventSelectorRow
            {
                ReadWriteType = s.ReadWriteType ?? "All",
                IncludeManagementEvents = s.IncludeManagementEvents ?? true,
                DataResources = resources,
                ExcludeManagementEventSources = s.ExcludeManagementEventSources ?? [],
            });
        }
        return rows;
    }

    static bool ValidDataValue(string type, string value) => type switch
    {
        // The whole service, or a bucket and key prefix: "arn:aws:s3:::bucket" alone (no slash),
        // and wildcards, AWS refuses.
        "AWS::S3::Object" => value is "arn:aws:s3" or "arn:aws:s3:::"
            || (value.StartsWith("arn:aws:s3:::", StringComparison.Ordinal) && value.IndexOf('/') > "arn:aws:s3:::".Length && !value.Contains('*')),
        "AWS::Lambda::Function" => value is "arn:aws:lambda" || value.StartsWith("arn:aws:lambda:", StringComparison.Ordinal) && !value.Contains('*'),
        "AWS::DynamoDB::Table" => value is "arn:aws:dynamodb" || value.StartsWith("arn:aws:dynamodb:", StringComparison.Ordinal) && !value.Contains('*'),
        _ => false,
    };

    public static List<AdvancedEventSelectorRow> Advanced(List<AdvancedEventSelector> selectors)
    {
        var rows = new List<AdvancedEventSelectorRow>();
        foreach (var s in selectors)
        {
            var fields = new List<FieldSelectorRow>();
            foreach (var f in s.FieldSelectors ?? [])
            {
                if (!AdvancedFields.Contains(f.Field!))
                    throw CloudTrailErrors.InvalidEventSelectorsException($"Invalid field {f.Field} in advanced event selector. Strata supports {string.Join(", ", AdvancedFields)}.");
                if (f.EqualsValue is null && f.StartsWith is null && f.EndsWith is null && f.NotEquals is null && f.NotStartsWith is null && f.NotEndsWith is null)
                    throw CloudTrailErrors.InvalidEventSelectorsException($"Field {f.Field} must have at least one operator.");
                if (f.Field == "eventCategory" && (f.EqualsValue is null || f.EqualsValue.Any(v => v is not ("Management" or "Data"))
                    || f.StartsWith is not null || f.EndsWith is not null || f.NotEquals is not null || f.NotStartsWith is not null || f.NotEndsWith is not null))
                    throw CloudTrailErrors.InvalidEventSelectorsException("The eventCategory field only supports the Equals operator with the values Management and Data.");
                fields.Add(new FieldSelectorRow
                {
                    Field = f.Field!,
                    EqualsValue = f.EqualsValue,
                    StartsWith = f.StartsWith,
                    EndsWith = f.EndsWith,
                    NotEquals = f.NotEquals,
                    NotStartsWith = f.NotStartsWith,
                    NotEndsWith = f.NotEndsWith,
                });
            }
            if (!fields.Any(f => f.Field == "eventCategory"))
                throw CloudTrailErrors.InvalidEventSelectorsException("eventCategory is a required field in advanced event selectors.");
            var data = fields.Any(f => f.Field == "eventCategory" && f.EqualsValue!.Contains("Data"));
            if (data && !fields.Any(f => f.Field == "resources.type"))
                throw CloudTrailErrors.InvalidEventSelectorsException("resources.type is a required field for data events in advanced event selectors.");
            rows.Add(new AdvancedEventSelectorRow { Name = s.Name, FieldSelectors = fields });
        }
        return rows;
    }
}
