using System.Globalization;
using System.Text;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.Logs;

/// <summary>
/// CloudWatch Logs (JSON 1.1, <c>Logs_20140328</c>): log groups and streams, PutLogEvents with
/// AWS's batch rules, GetLogEvents with forward/backward tokens, FilterLogEvents with the filter
/// pattern language, retention and tags, metric filters. Events live in <see cref="LogStore"/>,
/// where Strata's own components (endpoint containers, transform jobs) write theirs too; the
/// metric filters publish from both (<see cref="MetricFilterPublisher"/>).
/// </summary>
public sealed partial class LogsService(LogStore store, TimeProvider clock, string region, MetricFilterPublisher metricFilters)
{
    /// <summary>PutLogEvents' limits (AWS's quotas).</summary>
    public const int MaxBatchBytes = 1_048_576;
    public const int EventOverhead = 26;
    public const int MaxEventBytes = 262_144;
    static readonly TimeSpan MaxBatchSpan = TimeSpan.FromHours(24);
    static readonly TimeSpan TooOld = TimeSpan.FromDays(14);
    static readonly TimeSpan TooNew = TimeSpan.FromHours(2);
    const int MaxResponseBytes = 1_048_576;
    const int MaxTags = 50;

    /// <summary>The retention periods AWS allows (days).</summary>
    public static readonly int[] RetentionDays = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    /// <summary>The operations, each reporting the model's constraint failures as CloudWatch
    /// Logs does: InvalidParameterException with the usual "1 validation error detected: …"
    /// message, where other JSON services say ValidationException. The two legacy tag operations
    /// whose model declares no InvalidParameterException keep the common ValidationException.</summary>
    public IEnumerable<Operation> Operations => Declared.Select(op => op.ReadInput is { } read && op.Name is not ("UntagLogGroup" or "ListTagsLogGroup")
        ? op with
        {
            ReadInput = ctx =>
            {
                try { return read(ctx); }
                catch (AwsException e) when (e.Code == "ValidationException") { throw LogsErrors.InvalidParameterException(e.Message); }
            },
        }
        : op);

    IEnumerable<Operation> Declared =>
    [
        LogsOperations.CreateLogGroup.Bind("logs:CreateLogGroup", (r, ctx) => GroupArn(ctx, r.LogGroupName), CreateLogGroup),
        LogsOperations.DeleteLogGroup.Bind("logs:DeleteLogGroup", (r, ctx) => GroupArn(ctx, r.LogGroupName), DeleteLogGroup),
        LogsOperations.DescribeLogGroups.Bind("logs:DescribeLogGroups", (_, ctx) => GroupArn(ctx, "*", wildcard: false), DescribeLogGroups),
        LogsOperations.CreateLogStream.Bind("logs:CreateLogStream", (r, ctx) => StreamArn(ctx, r.LogGroupName, r.LogStreamName), CreateLogStream),
        LogsOperations.DeleteLogStream.Bind("logs:DeleteLogStream", (r, ctx) => StreamArn(ctx, r.LogGroupName, r.LogStreamName), DeleteLogStream),
        LogsOperations.DescribeLogStreams.Bind("logs:DescribeLogStreams", (r, ctx) => GroupArn(ctx, GroupNameOf(r.LogGroupName, r.LogGroupIdentifier)), DescribeLogStreams),
        LogsOperations.PutLogEvents.Bind("logs:PutLogEvents", (r, ctx) => StreamArn(ctx, r.LogGroupName, r.LogStreamName), PutLogEvents),
        LogsOperations.GetLogEvents.Bind("logs:GetLogEvents", (r, ctx) => StreamArn(ctx, GroupNameOf(r.LogGroupName, r.LogGroupIdentifier), r.LogStreamName), GetLogEvents),
        LogsOperations.FilterLogEvents.Bind("logs:FilterLogEvents", (r, ctx) => GroupArn(ctx, GroupNameOf(r.LogGroupName, r.LogGroupIdentifier)), FilterLogEvents),
        LogsOperations.PutRetentionPolicy.Bind("logs:PutRetentionPolicy", (r, ctx) => GroupArn(ctx, r.LogGroupName), PutRetentionPolicy),
        LogsOperations.DeleteRetentionPolicy.Bind("logs:DeleteRetentionPolicy", (r, ctx) => GroupArn(ctx, r.LogGroupName), DeleteRetentionPolicy),
        LogsOperations.TagResource.Bind("logs:TagResource", (r, _) => r.ResourceArn ?? "*", TagResource),
        LogsOperations.UntagResource.Bind("logs:UntagResource", (r, _) => r.ResourceArn ?? "*", UntagResource),
        LogsOperations.ListTagsForResource.Bind("logs:ListTagsForResource", (r, _) => r.ResourceArn ?? "*", ListTagsForResource),
        LogsOperations.TagLogGroup.Bind("logs:TagLogGroup", (r, ctx) => GroupArn(ctx, r.LogGroupName), TagLogGroup),
        LogsOperations.UntagLogGroup.Bind("logs:UntagLogGroup", (r, ctx) => GroupArn(ctx, r.LogGroupName), UntagLogGroup),
        LogsOperations.ListTagsLogGroup.Bind("logs:ListTagsLogGroup", (r, ctx) => GroupArn(ctx, r.LogGroupName), ListTagsLogGroup),
        LogsOperations.StartQuery.Bind("logs:StartQuery", (r, ctx) => GroupArn(ctx, GroupNameOf(r.LogGroupName, null) ?? GroupNameOf(null, r.LogGroupNames?.FirstOrDefault() ?? r.LogGroupIdentifiers?.FirstOrDefault())), StartQuery),
        LogsOperations.GetQueryResults.Bind("logs:GetQueryResults", (_, ctx) => GroupArn(ctx, "*"), GetQueryResults),
        LogsOperations.PutMetricFilter.Bind("logs:PutMetricFilter", (r, ctx) => GroupArn(ctx, r.LogGroupName), PutMetricFilter),
        LogsOperations.DescribeMetricFilters.Bind("logs:DescribeMetricFilters", (r, ctx) => GroupArn(ctx, r.LogGroupName), DescribeMetricFilters),
        LogsOperations.DeleteMetricFilter.Bind("logs:DeleteMetricFilter", (r, ctx) => GroupArn(ctx, r.LogGroupName), DeleteMetricFilter),
        LogsOperations.TestMetricFilter.Bind("logs:TestMetricFilter", (_, _) => "*", TestMetricFilter),
        LogsOperations.PutSubscriptionFilter.Bind("logs:PutSubscriptionFilter", (r, ctx) => GroupArn(ctx, r.LogGroupName), PutSubscriptionFilter),
        LogsOperations.DescribeSubscriptionFilters.Bind("logs:DescribeSubscriptionFilters", (r, ctx) => GroupArn(ctx, r.LogGroupName), DescribeSubscriptionFilters),
        LogsOperations.DeleteSubscriptionFilter.Bind("logs:DeleteSubscriptionFilter", (r, ctx) => GroupArn(ctx, r.LogGroupName), DeleteSubscriptionFilter),
    ];

    // ---- ARNs ----

    /// <summary>A group's ARN as DescribeLogGroups' <c>arn</c> and IAM policies spell it (with
    /// <c>:*</c>, which covers its streams), or without it (<c>logGroupArn</c>).</summary>
    string GroupArn(RequestContext ctx, string? name, bool wildcard = true) => GroupArn(ctx.Principal.AccountId, name ?? "*", wildcard);

    string GroupArn(string account, string name, bool wildcard = true) => $"arn:aws:logs:{region}:{account}:log-group:{name}" + (wildcard ? ":*" : "");

    string StreamArn(RequestContext ctx, string? group, string? stream)
        => $"arn:aws:logs:{region}:{ctx.Principal.AccountId}:log-group:{group ?? "*"}:log-stream:{stream ?? "*"}";

    /// <summary>The group a request names by <c>logGroupName</c> or <c>logGroupIdentifier</c>
    /// (a name or an ARN, with or without <c>:*</c>).</summary>
    static string? GroupNameOf(string? name, string? identifier)
    {
        if (name is not null || identifier is null) return name;
        if (!identifier.StartsWith("arn:", StringComparison.Ordinal)) return identifier;
        var parts = identifier.Split(':');
        return parts.Length >= 7 && parts[5] == "log-group" ? parts[6] : identifier;
    }

    LogGroupRow Group(RequestContext ctx, string? name, string? identifier = null)
    {
        if (name is not null && identifier is not null)
            throw new InvalidLogsParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
        var groupName = GroupNameOf(name, identifier)
            ?? throw new InvalidLogsParameter("Should provide either name or ARN of the log group.");
        return store.GetGroup(ctx.Principal.AccountId, groupName) ?? throw new LogGroupNotFound();
    }

    long Now => clock.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- groups ----

    void CreateLogGroup(CreateLogGroupRequest request, RequestContext ctx)
    {
        // AWS keeps names beginning "aws/" for itself ("/aws/…", with the slash first, is anyone's).
        if (request.LogGroupName!.StartsWith("aws/", StringComparison.OrdinalIgnoreCase))
            throw new InvalidLogsParameter("Log groups starting with AWS/ are reserved for AWS.");
        if (request.LogGroupClass is { } cls && cls != "STANDARD")
            throw new InvalidLogsParameter($"Log group class {cls} is not supported; Strata keeps every log group STANDARD.");
        if (!store.CreateGroup(ctx.Principal.AccountId, request.LogGroupName!, Now, request.KmsKeyId, request.Tags))
            throw new LogGroupAlreadyExists();
    }

    void DeleteLogGroup(DeleteLogGroupRequest request, RequestContext ctx)
    {
        var group = store.GetGroup(ctx.Principal.AccountId, request.LogGroupName!);
        // Its metric filters go with it (the store cascades); the publisher forgets them.
        if (group is null || !store.DeleteGroup(ctx.Principal.AccountId, request.LogGroupName!)) throw new LogGroupNotFound();
        metricFilters.Changed(group.Id);
    }

    DescribeLogGroupsResponse DescribeLogGroups(DescribeLogGroupsRequest request, RequestContext ctx)
    {
        if (request.LogGroupNamePrefix is not null && request.LogGroupNamePattern is not null)
            throw new InvalidLogsParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
        var limit = request.Limit ?? 50;
        var after = request.NextToken is { } token ? DecodeToken(token, "g") : null;
        // logGroupClass: every group is STANDARD. Groups named by identifier are those (in name order).
        var rows = request.LogGroupClass is "INFREQUENT_ACCESS" or "DELIVERY" ? []
            : request.LogGroupIdentifiers is { } ids
                ? ids.Select(id => GroupNameOf(null, id)!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                    .Where(n => after is null || string.CompareOrdinal(n, after) > 0)
                    .Select(n => store.GetGroup(ctx.Principal.AccountId, n)).OfType<LogGroupRow>().Take(limit + 1).ToList()
                : store.ListGroups(ctx.Principal.AccountId, request.LogGroupNamePrefix, request.LogGroupNamePattern is { Length: > 0 } p ? p : null, after, limit + 1);
        var more = rows.Count > limit;
        var page = rows.Take(limit).ToList();
        return new DescribeLogGroupsResponse
        {
            LogGroups = page.Select(ToLogGroup).ToList(),
            NextToken = more ? EncodeToken("g", page[^1].Name) : null,
        };
    }

    LogGroup ToLogGroup(LogGroupRow row) => new()
    {
        LogGroupName = row.Name,
        CreationTime = row.CreationTime,
        RetentionInDays = row.RetentionInDays,
        MetricFilterCount = row.MetricFilterCount,
        Arn = GroupArn(row.Account, row.Name),
        LogGroupArn = GroupArn(row.Account, row.Name, wildcard: false),
        StoredBytes = row.StoredBytes,
        KmsKeyId = row.KmsKeyId,
        LogGroupClass = "STANDARD",
    };

    void PutRetentionPolicy(PutRetentionPolicyRequest request, RequestContext ctx)
    {
        if (Array.IndexOf(RetentionDays, request.RetentionInDays!.Value) < 0)
            throw new InvalidLogsParameter($"1 validation error detected: Value '{request.RetentionInDays}' at 'retentionInDays' failed to satisfy constraint: "
                + $"Member must satisfy enum value set: [{string.Join(", ", RetentionDays)}]");
        if (!store.SetRetention(ctx.Principal.AccountId, request.LogGroupName!, request.RetentionInDays)) throw new LogGroupNotFound();
    }

    void DeleteRetentionPolicy(DeleteRetentionPolicyRequest request, RequestContext ctx)
    {
        if (!store.SetRetention(ctx.Principal.AccountId, request.LogGroupName!, null)) throw new LogGroupNotFound();
    }

    // ---- tags ----

    void TagLogGroup(TagLogGroupRequest request, RequestContext ctx) => ChangeTags(Group(ctx, request.LogGroupName), request.Tags!, []);

    void UntagLogGroup(UntagLogGroupRequest request, RequestContext ctx) => ChangeTags(Group(ctx, request.LogGroupName), new Dictionary<string, string>(), request.Tags!);

    ListTagsLogGroupResponse ListTagsLogGroup(ListTagsLogGroupRequest request, RequestContext ctx) => new() { Tags = store.Tags(Group(ctx, request.LogGroupName).Id) };

    void TagResource(TagResourceRequest request, RequestContext ctx) => ChangeTags(GroupOfArn(ctx, request.ResourceArn!), request.Tags!, []);

    void UntagResource(UntagResourceRequest request, RequestContext ctx) => ChangeTags(GroupOfArn(ctx, request.ResourceArn!), new Dictionary<string, string>(), request.TagKeys!);

    ListTagsForResourceResponse ListTagsForResource(ListTagsForResourceRequest request, RequestContext ctx) => new() { Tags = store.Tags(GroupOfArn(ctx, request.ResourceArn!).Id) };

    void ChangeTags(LogGroupRow group, Dictionary<string, string> set, List<string> remove)
    {
        if (!store.ChangeTags(group.Id, set, remove, MaxTags)) throw new TooManyLogTags();
    }

    /// <summary>The group a tagging ARN names (log groups are the taggable resources Strata has).</summary>
    LogGroupRow GroupOfArn(RequestContext ctx, string arn)
    {
        var parts = arn.Split(':');
        if (parts.Length < 7 || parts[0] != "arn" || parts[2] != "logs" || parts[5] != "log-group" || (parts.Length > 7 && !(parts.Length == 8 && parts[7] == "*")))
            throw new InvalidLogsParameter($"Invalid resource arn: {arn}");
        if (parts[3] != region || parts[4] != ctx.Principal.AccountId) throw new LogGroupNotFound();
        return store.GetGroup(ctx.Principal.AccountId, parts[6]) ?? throw new LogGroupNotFound();
    }

    // ---- streams ----

    void CreateLogStream(CreateLogStreamRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName);
        if (!store.CreateStream(group.Id, request.LogStreamName!, Now)) throw new LogStreamAlreadyExists();
    }

    void DeleteLogStream(DeleteLogStreamRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName);
        if (!store.DeleteStream(group.Id, request.LogStreamName!)) throw new LogStreamNotFound();
    }

    DescribeLogStreamsResponse DescribeLogStreams(DescribeLogStreamsRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName, request.LogGroupIdentifier);
        var byLastEvent = request.OrderBy == "LastEventTime";
        if (byLastEvent && request.LogStreamNamePrefix is not null)
            throw new InvalidLogsParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
        var limit = request.Limit ?? 50;
        var offset = 0;
        if (request.NextToken is { } token && !int.TryParse(DecodeToken(token, "s"), NumberStyles.None, CultureInfo.InvariantCulture, out offset))
            throw new InvalidLogsParameter("The specified nextToken is invalid.");
        var rows = store.ListStreams(group.Id, request.LogStreamNamePrefix, byLastEvent, request.Descending == true, offset, limit + 1);
        var page = rows.Take(limit).ToList();
        return new DescribeLogStreamsResponse
        {
            LogStreams = page.Select(s => new LogStream
            {
                LogStreamName = s.Name,
                CreationTime = s.CreationTime,
                FirstEventTimestamp = s.FirstEventTimestamp,
                LastEventTimestamp = s.LastEventTimestamp,
                LastIngestionTime = s.LastIngestionTime,
                UploadSequenceToken = SequenceToken(s.Sequence),
                Arn = $"{GroupArn(group.Account, group.Name, wildcard: false)}:log-stream:{s.Name}",
                StoredBytes = s.StoredBytes,
            }).ToList(),
            NextToken = rows.Count > limit ? EncodeToken("s", (offset + limit).ToString(CultureInfo.InvariantCulture)) : null,
        };
    }

    /// <summary>AWS's sequence tokens are 56 digits; Strata's count the stream's batches.</summary>
    static string SequenceToken(long sequence) => sequence.ToString("D56", CultureInfo.InvariantCulture);

    // ---- events ----

    PutLogEventsResponse PutLogEvents(PutLogEventsRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName);
        var stream = store.GetStream(group.Id, request.LogStreamName!) ?? throw new LogStreamNotFound();
        var events = request.LogEvents!;
        long bytes = 0;
        for (var i = 0; i < events.Count; i++)
        {
            var size = Encoding.UTF8.GetByteCount(events[i].Message!) + EventOverhead;
            if (size > MaxEventBytes) throw new InvalidLogsParameter($"Log event too large: {size} bytes exceeds limit of {MaxEventBytes}");
            bytes += size;
            if (i > 0 && events[i].Timestamp < events[i - 1].Timestamp)
                throw new InvalidLogsParameter("Log events in a single PutLogEvents request must be in chronological order.");
        }
        if (bytes > MaxBatchBytes) throw new InvalidLogsParameter($"Upload too large: {bytes} bytes exceeds limit of {MaxBatchBytes}");
        if (events[^1].Timestamp!.Value - events[0].Timestamp!.Value > (long)MaxBatchSpan.TotalMilliseconds)
            throw new InvalidLogsParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");

        // Events too old, older than the group keeps, or too new are refused one by one (the
        // batch is chronological, so they are a prefix and a suffix), and the rest go in.
        var now = Now;
        int? tooOldEnd = null, expiredEnd = null, tooNewStart = null;
        for (var i = 0; i < events.Count; i++)
        {
            var ts = events[i].Timestamp!.Value;
            if (ts < now - (long)TooOld.TotalMilliseconds) tooOldEnd = i + 1;
            else if (group.RetentionInDays is { } days && ts < now - days * 86_400_000L) expiredEnd = i + 1;
            else if (ts > now + (long)TooNew.TotalMilliseconds)
            {
                tooNewStart = i;
                break;
            }
        }
        var from = Math.Max(tooOldEnd ?? 0, expiredEnd ?? 0);
        var to = tooNewStart ?? events.Count;
        var accepted = events.Skip(from).Take(Math.Max(0, to - from)).Select(e => (e.Timestamp!.Value, e.Message!)).ToList();
        var sequence = accepted.Count > 0 ? store.Append(group.Id, stream.Id, accepted, now) : stream.Sequence;
        if (accepted.Count > 0) metricFilters.Appended(new AppendedLogEvents(group.Account, group.Id, accepted));
        return new PutLogEventsResponse
        {
            NextSequenceToken = SequenceToken(sequence),
            RejectedLogEventsInfo = tooOldEnd is null && expiredEnd is null && tooNewStart is null ? null : new RejectedLogEventsInfo
            {
                TooOldLogEventEndIndex = tooOldEnd,
                ExpiredLogEventEndIndex = expiredEnd,
                TooNewLogEventStartIndex = tooNewStart,
            },
        };
    }

    /// <summary>
    /// A stream's events, oldest first, a page at a time. Tokens are positions between events:
    /// <c>f/…</c> reads forward from one, <c>b/…</c> backward. With nothing further that way the
    /// answer repeats the token it was given, which is how clients (the CLI's paginator) know
    /// they have reached the end.
    /// </summary>
    GetLogEventsResponse GetLogEvents(GetLogEventsRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName, request.LogGroupIdentifier);
        var stream = store.GetStream(group.Id, request.LogStreamName!) ?? throw new LogStreamNotFound();
        var limit = request.Limit ?? 10_000;
        bool forward;
        LogCursor? cursor = null;
        if (request.NextToken is { } token)
        {
            if (token.Length < 3 || token[1] != '/' || token[0] is not ('f' or 'b') || ParseCursor(token[2..]) is not { } c)
                throw new InvalidLogsParameter("The specified nextToken is invalid.");
            forward = token[0] == 'f';
            cursor = c;
        }
        else
        {
            forward = request.StartFromHead == true;
        }
        var rows = FitResponse(store.ReadStream(stream, request.StartTime, request.EndTime, cursor, forward, limit), forward);
        var origin = cursor ?? new LogCursor(request.StartTime ?? 0, 0);
        return new GetLogEventsResponse
        {
            Events = rows.Select(e => new OutputLogEvent { Timestamp = e.Timestamp, Message = e.Message, IngestionTime = e.IngestionTime }).ToList(),
            NextForwardToken = rows.Count > 0 ? "f/" + CursorText(rows[^1]) : forward && request.NextToken is { } f ? f : "f/" + CursorText(Before(origin)),
            NextBackwardToken = rows.Count > 0 ? "b/" + CursorText(rows[0]) : !forward && request.NextToken is { } b ? b : "b/" + CursorText(origin),
        };
    }

    /// <summary>The position just before <paramref name="c"/>, so that reading forward from it
    /// includes the event at <paramref name="c"/>.</summary>
    static LogCursor Before(LogCursor c) => c.Id > 0 ? c with { Id = c.Id - 1 } : c;

    /// <summary>At most 1 MB of events: a page is cut where it would grow past it, keeping
    /// the events nearest the cursor.</summary>
    static List<LogEventRow> FitResponse(List<LogEventRow> rows, bool forward)
    {
        long size = 0;
        var keep = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[forward ? i : rows.Count - 1 - i];
            size += Encoding.UTF8.GetByteCount(row.Message) + EventOverhead;
            if (size > MaxResponseBytes && keep > 0) break;
            keep++;
        }
        return forward ? rows.Take(keep).ToList() : rows.Skip(rows.Count - keep).ToList();
    }

    /// <summary>
    /// A group's events (all streams, those named, or those with a prefix) in time order that
    /// match the filter pattern. Scans at most <see cref="ScanBudget"/> events a call; when it
    /// stops before the end (the limit, 1 MB, or the budget) the nextToken says where to go on.
    /// </summary>
    FilterLogEventsResponse FilterLogEvents(FilterLogEventsRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName, request.LogGroupIdentifier);
        if (request.LogStreamNames is not null && request.LogStreamNamePrefix is not null)
            throw new InvalidLogsParameter("Cannot specify both logStreamNames and logStreamNamePrefix.");
        if (request.StartTime is { } s && request.EndTime is { } e && e < s)
            throw new InvalidLogsParameter("End time must be greater than or equal to start time.");
        var pattern = FilterPattern.Parse(request.FilterPattern);
        var limit = request.Limit ?? 10_000;
        LogCursor? cursor = null;
        if (request.NextToken is { } token)
            cursor = ParseCursor(DecodeToken(token, "e") ?? "") ?? throw new InvalidLogsParameter("The specified nextToken is invalid.");
        var all = request.LogStreamNames is null && request.LogStreamNamePrefix is null;
        var streams = store.StreamsOf(group.Id, request.LogStreamNames?.ToHashSet(StringComparer.Ordinal), request.LogStreamNamePrefix);
        var names = streams.ToDictionary(x => x.Id, x => x.Name);
        var events = new List<FilteredLogEvent>();
        var scanned = 0;
        long size = 0;
        var more = false;
        if (all || names.Count > 0)
        {
            while (true)
            {
                var chunk = store.ReadGroup(group.Id, names, all, request.StartTime, request.EndTime, cursor, ScanChunk);
                foreach (var row in chunk)
                {
                    scanned++;
                    if (pattern.Matches(row.Message))
                    {
                        var rowSize = Encoding.UTF8.GetByteCount(row.Message) + EventOverhead;
                        if (size + rowSize > MaxResponseBytes && events.Count > 0)
                        {
                            more = true;
                            break;
                        }
                        size += rowSize;
                        events.Add(new FilteredLogEvent
                        {
                            LogStreamName = row.StreamName,
                            Timestamp = row.Timestamp,
                            Message = row.Message,
                            IngestionTime = row.IngestionTime,
                            EventId = CursorText(row),
                        });
                    }
                    cursor = new LogCursor(row.Timestamp, row.Id);
                    if (events.Count >= limit)
                    {
                        more = true;
                        break;
                    }
                }
                if (more || chunk.Count < ScanChunk) break;
                if (scanned >= ScanBudget)
                {
                    more = true;
                    break;
                }
            }
        }
        return new FilterLogEventsResponse
        {
            Events = events,
            SearchedLogStreams = all ? [] : streams.Select(x => new SearchedLogStream { LogStreamName = x.Name, SearchedCompletely = !more }).ToList(),
            NextToken = more && cursor is { } next ? EncodeToken("e", CursorText(next)) : null,
        };
    }

    const int ScanChunk = 1_000;
    const int ScanBudget = 200_000;

    // ---- Logs Insights ----

    /// <summary>Finished queries by id (the newest <see cref="KeptQueries"/>; AWS keeps results 7
    /// days, Strata until restart). A query runs to completion inside StartQuery, so
    /// GetQueryResults always finds it Complete.</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Account, long Started, GetQueryResultsResponse Results)> _queries = new();
    readonly System.Collections.Concurrent.ConcurrentQueue<string> _queryOrder = new();
    const int KeptQueries = 1_000;
    const int QueryScanLimit = 1_000_000;

    StartQueryResponse StartQuery(StartQueryRequest request, RequestContext ctx)
    {
        if (request.QueryLanguage is { } language && language != "CWLI")
            throw new InvalidLogsParameter($"Query language {language} is not supported; Strata runs Logs Insights (CWLI) queries.");
        var names = new List<string>();
        if (request.LogGroupName is { } one) names.Add(one);
        names.AddRange(request.LogGroupNames ?? []);
        names.AddRange((request.LogGroupIdentifiers ?? []).Select(id => GroupNameOf(null, id)!));
        if (names.Count == 0) throw new InvalidLogsParameter("Either logGroupName, logGroupNames or logGroupIdentifiers must be specified.");
        if ((request.LogGroupName is not null ? 1 : 0) + (request.LogGroupNames is not null ? 1 : 0) + (request.LogGroupIdentifiers is not null ? 1 : 0) > 1)
            throw new InvalidLogsParameter("LogGroupName, LogGroupNames and LogGroupIdentifiers are mutually exclusive parameters.");
        if (request.EndTime < request.StartTime) throw new InvalidLogsParameter("End time should not be before the start time.");
        var groups = names.Distinct(StringComparer.Ordinal).Select(n => store.GetGroup(ctx.Principal.AccountId, n) ?? throw new LogGroupNotFound()).ToList();
        var query = InsightsQuery.Parse(request.QueryString!);
        // Times are epoch seconds, both ends inclusive.
        var (start, end) = (request.StartTime!.Value * 1000, request.EndTime!.Value * 1000 + 999);
        var result = query.Run(groups.SelectMany(g => QueryEvents(g, start, end)).Take(QueryScanLimit), request.Limit ?? 1000);
        var id = Guid.NewGuid().ToString();
        _queries[id] = (ctx.Principal.AccountId, Now, new GetQueryResultsResponse
        {
            Status = "Complete",
            Results = result.Rows.Select(row => row.Select(f => new ResultField { Field = f.Field, Value = f.Value }).ToList()).ToList(),
            Statistics = new QueryStatistics { RecordsMatched = result.Matched, RecordsScanned = result.Scanned, BytesScanned = result.BytesScanned },
        });
        _queryOrder.Enqueue(id);
        while (_queryOrder.Count > KeptQueries && _queryOrder.TryDequeue(out var old)) _queries.TryRemove(old, out _);
        return new StartQueryResponse { QueryId = id };
    }

    IEnumerable<InsightsEvent> QueryEvents(LogGroupRow group, long start, long end)
    {
        var names = store.StreamsOf(group.Id, null, null).ToDictionary(s => s.Id, s => s.Name);
        LogCursor? cursor = null;
        while (true)
        {
            var chunk = store.ReadGroup(group.Id, names, true, start, end, cursor, ScanChunk);
            foreach (var row in chunk)
                yield return new InsightsEvent($"{group.Account}:{group.Name}", row.StreamName, row.Timestamp, row.IngestionTime, row.Message, CursorText(row));
            if (chunk.Count < ScanChunk) yield break;
            cursor = new LogCursor(chunk[^1].Timestamp, chunk[^1].Id);
        }
    }

    GetQueryResultsResponse GetQueryResults(GetQueryResultsRequest request, RequestContext ctx)
        => _queries.TryGetValue(request.QueryId!, out var q) && q.Account == ctx.Principal.AccountId ? q.Results
            : throw new QueryNotFound(request.QueryId!);

    // ---- metric filters ----

    /// <summary>AWS's quota of metric filters per log group.</summary>
    public const int MaxMetricFiltersPerGroup = 100;

    /// <summary>Creates or replaces a filter once its pattern and transformation pass the checks
    /// AWS makes (<see cref="MetricFilterRule.Create"/>); from then on the group's new events are
    /// held against it.</summary>
    void PutMetricFilter(PutMetricFilterRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName);
        // Log transformers and system fields (centralized logging) are features Strata has not got;
        // a filter that asked for them would publish what AWS would not.
        if (request.ApplyOnTransformedLogs == true)
            throw new InvalidLogsParameter("applyOnTransformedLogs is not supported: Strata has no log transformers, so there are no transformed logs to apply a metric filter to.");
        if (request.FieldSelectionCriteria is { Length: > 0 } || request.EmitSystemFieldDimensions is { Count: > 0 })
            throw new InvalidLogsParameter("fieldSelectionCriteria and emitSystemFieldDimensions are not supported: Strata's log events carry no system fields.");
        var t = request.MetricTransformations![0];
        MetricFilterRule.Create(request.FilterPattern, t.MetricValue!, t.DefaultValue, t.Dimensions);
        var row = new LogMetricFilterRow(group.Id, group.Name, request.FilterName!, request.FilterPattern!, t.MetricName!, t.MetricNamespace!, t.MetricValue!,
            t.DefaultValue, t.Unit, (t.Dimensions ?? []).ToList(), Now);
        switch (store.PutMetricFilter(row, MaxMetricFiltersPerGroup))
        {
            case MetricFilterPut.LimitExceeded: throw new MetricFilterLimitExceeded();
            case MetricFilterPut.NoGroup: throw new LogGroupNotFound();
        }
        metricFilters.Changed(group.Id);
    }

    /// <summary>An account's filters in (group, name) order: of one group (with a name prefix,
    /// which AWS heeds only with a group), of one metric, or all.</summary>
    DescribeMetricFiltersResponse DescribeMetricFilters(DescribeMetricFiltersRequest request, RequestContext ctx)
    {
        if ((request.MetricName is null) != (request.MetricNamespace is null))
            throw new InvalidLogsParameter("metricName and metricNamespace must be specified together: if you include one of them in your request, include the other.");
        var group = request.LogGroupName is { } name ? Group(ctx, name) : null;
        var limit = request.Limit ?? 50;
        (string, string)? after = null;
        if (request.NextToken is { } token)
        {
            // Group names cannot hold a colon, so the first one ends the group's.
            var position = DecodeToken(token, "m")!;
            var colon = position.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) throw new InvalidLogsParameter("The specified nextToken is invalid.");
            after = (position[..colon], position[(colon + 1)..]);
        }
        var rows = store.ListMetricFilters(ctx.Principal.AccountId, group?.Id, group is null ? null : request.FilterNamePrefix,
            request.MetricName is { } metric ? (request.MetricNamespace!, metric) : null, after, limit + 1);
        var page = rows.Take(limit).ToList();
        return new DescribeMetricFiltersResponse
        {
            MetricFilters = page.Select(f => new MetricFilter
            {
                FilterName = f.Name,
                FilterPattern = f.Pattern,
                MetricTransformations =
                [
                    new MetricTransformation
                    {
                        MetricName = f.MetricName,
                        MetricNamespace = f.MetricNamespace,
                        MetricValue = f.MetricValue,
                        DefaultValue = f.DefaultValue,
                        Dimensions = f.Dimensions.Count > 0 ? f.Dimensions.ToDictionary(d => d.Key, d => d.Value) : null,
                        Unit = f.Unit,
                    },
                ],
                CreationTime = f.CreationTime,
                LogGroupName = f.GroupName,
                ApplyOnTransformedLogs = false,
            }).ToList(),
            NextToken = rows.Count > limit ? EncodeToken("m", page[^1].GroupName + ":" + page[^1].Name) : null,
        };
    }

    void DeleteMetricFilter(DeleteMetricFilterRequest request, RequestContext ctx)
    {
        var group = Group(ctx, request.LogGroupName);
        if (!store.DeleteMetricFilter(group.Id, request.FilterName!)) throw new MetricFilterNotFound();
        metricFilters.Changed(group.Id);
    }

    // ---- subscription filters ----
    // A subscription filter streams a group's events to Kinesis Data Streams, Firehose, Lambda or
    // a cross-account destination; Strata has none of them, so none can be made (and a group has
    // none to describe or delete). The refusal says so rather than pretending to deliver.

    void PutSubscriptionFilter(PutSubscriptionFilterRequest request, RequestContext ctx)
    {
        Group(ctx, request.LogGroupName);
        FilterPattern.Parse(request.FilterPattern);
        throw new InvalidLogsParameter($"Strata has no Kinesis Data Streams, Firehose, Lambda or CloudWatch Logs destinations, so the destination {request.DestinationArn} cannot receive this log group's events; use a metric filter, FilterLogEvents or `aws logs tail` instead.");
    }

    DescribeSubscriptionFiltersResponse DescribeSubscriptionFilters(DescribeSubscriptionFiltersRequest request, RequestContext ctx)
    {
        Group(ctx, request.LogGroupName);
        return new() { SubscriptionFilters = [] };
    }

    void DeleteSubscriptionFilter(DeleteSubscriptionFilterRequest request, RequestContext ctx)
    {
        Group(ctx, request.LogGroupName);
        throw new SubscriptionFilterNotFound();
    }

    /// <summary>The messages the pattern matches, numbered from 1 in the order given, with the
    /// values of the fields the pattern names.</summary>
    TestMetricFilterResponse TestMetricFilter(TestMetricFilterRequest request, RequestContext ctx)
    {
        var pattern = FilterPattern.Parse(request.FilterPattern);
        var matches = new List<MetricFilterMatchRecord>();
        for (var i = 0; i < request.LogEventMessages!.Count; i++)
        {
            var message = request.LogEventMessages[i];
            if (pattern.Extract(message) is { } values)
                matches.Add(new MetricFilterMatchRecord { EventNumber = i + 1, EventMessage = message, ExtractedValues = values.ToDictionary() });
        }
        return new TestMetricFilterResponse { Matches = matches };
    }

    // ---- tokens ----

    /// <summary>A position as AWS spells event ids and GetLogEvents tokens: 56 digits (the
    /// timestamp, then the store's id).</summary>
    static string CursorText(LogEventRow row) => CursorText(new LogCursor(row.Timestamp, row.Id));

    static string CursorText(LogCursor c) => c.Timestamp.ToString("D20", CultureInfo.InvariantCulture) + c.Id.ToString("D36", CultureInfo.InvariantCulture);

    static LogCursor? ParseCursor(string text)
        => text.Length == 56 && long.TryParse(text.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var ts)
            && long.TryParse(text.AsSpan(20), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? new LogCursor(ts, id) : null;

    /// <summary>An opaque pagination token: a kind and a position, base64url.</summary>
    static string EncodeToken(string kind, string position)
        => Convert.ToBase64String(Encoding.UTF8.GetBytes(kind + "/" + position)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    static string? DecodeToken(string token, string kind)
    {
        try
        {
            var b64 = token.Replace('-', '+').Replace('_', '/');
            b64 += new string('=', (4 - b64.Length % 4) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            return text.StartsWith(kind + "/", StringComparison.Ordinal) ? text[(kind.Length + 1)..] : throw new InvalidLogsParameter("The specified nextToken is invalid.");
        }
        catch (FormatException)
        {
            throw new InvalidLogsParameter("The specified nextToken is invalid.");
        }
    }
}
