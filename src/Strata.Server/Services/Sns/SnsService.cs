using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Strata.Policy;
using Strata.Server.Auth;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Sns;

/// <summary>What SNS needs from the host: its state, its signing key, the clock, the region,
/// the URL this server is reached at (for SubscribeURL, UnsubscribeURL and SigningCertURL), how
/// policies are parsed, and how the deliverer is woken.</summary>
public sealed record SnsEnvironment(SnsStore Store, SnsSigning Signing, TimeProvider Clock, string Region, string BaseUrl,
    Func<string, PolicyDocument> ParsePolicy, Action WakeDeliverer, bool EmailEnabled);

/// <summary>
/// Amazon SNS's Query API: topics, subscriptions (http, https, email, email-json), publishing,
/// tags. Publish renders, signs and queues every matching subscription's delivery in the same
/// transaction that records it and returns; <see cref="SnsDeliveryService"/> delivers. Topic
/// policies are resource policies, enforced by the pipeline's authorizer (<see cref="Lookup"/>).
/// </summary>
public sealed partial class SnsService(SnsEnvironment env)
{
    /// <summary>Unsigned requests may confirm a subscription (the token is the credential, as the
    /// SubscribeURL an endpoint receives is fetched without a signature) and unsubscribe (the
    /// UnsubscribeURL; the subscription's ARN is unguessable), as in AWS.</summary>
    public IEnumerable<Operation> Operations =>
    [
        SnsOperations.CreateTopic.Bind("sns:CreateTopic", (r, ctx) => TopicArnOf(ctx.Principal.AccountId, r.Name ?? ""), CreateTopic),
        SnsOperations.DeleteTopic.Bind("sns:DeleteTopic", (r, _) => r.TopicArn!, DeleteTopic),
        SnsOperations.GetTopicAttributes.Bind("sns:GetTopicAttributes", (r, _) => r.TopicArn!, GetTopicAttributes),
        SnsOperations.SetTopicAttributes.Bind("sns:SetTopicAttributes", (r, _) => r.TopicArn!, SetTopicAttributes),
        SnsOperations.ListTopics.Bind("sns:ListTopics", (_, _) => "*", ListTopics),
        SnsOperations.Subscribe.Bind("sns:Subscribe", (r, _) => r.TopicArn!, Subscribe),
        SnsOperations.ConfirmSubscription.Bind("sns:ConfirmSubscription", (r, _) => r.TopicArn!, ConfirmSubscription) with { AllowUnsigned = true },
        SnsOperations.Unsubscribe.Bind("sns:Unsubscribe", (r, _) => TopicOfSubscription(r.SubscriptionArn), Unsubscribe) with { AllowUnsigned = true },
        SnsOperations.ListSubscriptions.Bind("sns:ListSubscriptions", (_, _) => "*", ListSubscriptions),
        SnsOperations.ListSubscriptionsByTopic.Bind("sns:ListSubscriptionsByTopic", (r, _) => r.TopicArn!, ListSubscriptionsByTopic),
        SnsOperations.GetSubscriptionAttributes.Bind("sns:GetSubscriptionAttributes", (r, _) => TopicOfSubscription(r.SubscriptionArn), GetSubscriptionAttributes),
        SnsOperations.SetSubscriptionAttributes.Bind("sns:SetSubscriptionAttributes", (r, _) => TopicOfSubscription(r.SubscriptionArn), SetSubscriptionAttributes),
        SnsOperations.Publish.Bind("sns:Publish", (r, _) => r.TopicArn ?? r.TargetArn ?? "*", Publish),
        SnsOperations.PublishBatch.Bind("sns:Publish", (r, _) => r.TopicArn!, PublishBatch),
        SnsOperations.TagResource.Bind("sns:TagResource", (r, _) => r.ResourceArn!, TagResource),
        SnsOperations.UntagResource.Bind("sns:UntagResource", (r, _) => r.ResourceArn!, UntagResource),
        SnsOperations.ListTagsForResource.Bind("sns:ListTagsForResource", (r, _) => r.ResourceArn!, ListTagsForResource),
    ];

    SnsStore Store => env.Store;

    // ---- policies ----

    static readonly ConcurrentDictionary<string, PolicyDocument> ParsedPolicies = new(StringComparer.Ordinal);

    /// <summary>A topic's policy (AWS's default one until SetTopicAttributes replaces it) is the
    /// resource policy of every <c>sns:</c> action on the topic. It need not allow within the
    /// owner's account (identity policies suffice there); across accounts it must.</summary>
    public static ResourcePolicyLookup Lookup(SnsStore store, Func<string, PolicyDocument> parse) => (_, action, resource, _) =>
    {
        if (!action.StartsWith("sns:", StringComparison.OrdinalIgnoreCase) || !resource.StartsWith("arn:aws:sns:", StringComparison.Ordinal)) return null;
        if (store.GetTopic(resource) is not { } topic) return null;
        var json = topic.Attributes.GetValueOrDefault("Policy") ?? DefaultPolicy(topic.TopicArn, topic.Owner);
        if (ParsedPolicies.Count > 1024) ParsedPolicies.Clear();
        return new ResourcePolicy(ParsedPolicies.GetOrAdd(json, parse), topic.Owner, Required: false);
    };

    /// <summary>The policy AWS gives a new topic: the owner's account may do the topic's actions.</summary>
    public static string DefaultPolicy(string topicArn, string owner) => new JsonObject
    {
        ["Version"] = "2008-10-17",
        ["Id"] = "__default_policy_ID",
        ["Statement"] = new JsonArray(new JsonObject
        {
            ["Sid"] = "__default_statement_ID",
            ["Effect"] = "Allow",
            ["Principal"] = new JsonObject { ["AWS"] = "*" },
            ["Action"] = new JsonArray("SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"),
            ["Resource"] = topicArn,
            ["Condition"] = new JsonObject { ["StringEquals"] = new JsonObject { ["AWS:SourceOwner"] = owner } },
        }),
    }.ToJsonString();

    // ---- ARNs ----

    string TopicArnOf(string account, string name) => $"arn:aws:sns:{env.Region}:{account}:{name}";

    [GeneratedRegex(@"^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")]
    private static partial Regex TopicArnPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,256}$")]
    private static partial Regex TopicNamePattern();

    /// <summary>The topic an ARN names; NotFound when it does not exist, InvalidParameter when it is no topic ARN.</summary>
    SnsTopic TopicOf(string? arn, string member = "TopicArn")
    {
        if (arn is null || !TopicArnPattern().IsMatch(arn)) throw Invalid(member);
        return Store.GetTopic(arn) ?? throw SnsErrors.NotFoundException("Topic does not exist");
    }

    /// <summary>A subscription's ARN is its topic's ARN, a colon and an id: authorization acts on the topic.</summary>
    static string TopicOfSubscription(string? arn)
        => arn is not null && arn.StartsWith("arn:aws:sns:", StringComparison.Ordinal) && arn.LastIndexOf(':') is var colon and > 12 ? arn[..colon] : "*";

    SnsSubscription SubscriptionOf(string? arn)
    {
        if (arn is null || TopicOfSubscription(arn) == "*" || !TopicArnPattern().IsMatch(TopicOfSubscription(arn))) throw Invalid("SubscriptionArn");
        return Store.GetSubscription(arn) ?? throw SnsErrors.NotFoundException("Subscription does not exist");
    }

    static AwsException Invalid(string what, string? reason = null)
        => SnsErrors.InvalidParameterException(reason is null ? $"Invalid parameter: {what}" : $"Invalid parameter: {what} Reason: {reason}");

    // ---- topics ----

    static readonly string[] TopicSettable = ["DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion", "TracingConfig",
        "HTTPSuccessFeedbackRoleArn", "HTTPSuccessFeedbackSampleRate", "HTTPFailureFeedbackRoleArn", "ArchivePolicy"];

    CreateTopicResponse CreateTopic(CreateTopicInput request, RequestContext ctx)
    {
        var name = request.Name!;
        var attributes = request.Attributes ?? [];
        if (name.EndsWith(".fifo", StringComparison.Ordinal) || attributes.GetValueOrDefault("FifoTopic")?.Equals("true", StringComparison.OrdinalIgnoreCase) == true)
            throw Invalid("FifoTopic", "FIFO topics are not supported by Strata (standard topics only)");
        if (!TopicNamePattern().IsMatch(name))
            throw SnsErrors.InvalidParameterException("Invalid parameter: Topic Name");
        foreach (var (key, value) in attributes)
        {
            if (key == "FifoTopic" || key == "ContentBasedDeduplication")
            {
                if (value.Equals("false", StringComparison.OrdinalIgnoreCase)) continue;
                throw Invalid("Attributes", $"{key} is only for FIFO topics, which Strata does not support");
            }
            CheckTopicAttribute(key, value, ctx);
        }
        var tags = CheckTags(request.Tags);
        var arn = TopicArnOf(ctx.Principal.AccountId, name);
        var given = attributes.Where(a => a.Key is not ("FifoTopic" or "ContentBasedDeduplication")).ToDictionary();
        Store.State.Write(w =>
        {
            if (SnsStore.GetTopic(w, arn) is { } existing)
            {
                // Idempotent: the same name with the same attributes answers the same topic.
                if (given.Any(a => existing.Attributes.GetValueOrDefault(a.Key) != a.Value))
                    throw Invalid("Attributes", "Topic already exists with different attributes");
                if (tags.Count > 0 && !tags.All(t => existing.Tags.Contains(t)))
                    throw Invalid("Tags", "Topic already exists with different tags");
                return 0;
            }
            SnsStore.PutTopic(w, new SnsTopic { TopicArn = arn, Name = name, Owner = ctx.Principal.AccountId, CreatedAt = env.Clock.GetUtcNow(), Attributes = given, Tags = tags });
            return 0;
        });
        return new() { TopicArn = arn };
    }

    void CheckTopicAttribute(string name, string value, RequestContext ctx)
    {
        if (!TopicSettable.Contains(name)) throw Invalid("AttributeName");
        switch (name)
        {
            case "Policy":
                try { env.ParsePolicy(value); }
                catch (Exception e) when (e is MalformedPolicyException or JsonException)
                {
                    throw Invalid("Policy", e.Message);
                }
                break;
            case "DeliveryPolicy":
                DeliveryPolicies.CheckTopicPolicy(value);
                break;
            case "SignatureVersion":
                if (value is not ("1" or "2")) throw Invalid("SignatureVersion", "SignatureVersion must be 1 or 2");
                break;
            case "TracingConfig":
                if (value is not ("Active" or "PassThrough")) throw Invalid("TracingConfig", "TracingConfig must be Active or PassThrough");
                break;
            case "DisplayName":
                if (value.Length > 100) throw Invalid("DisplayName", "DisplayName must be at most 100 characters");
                break;
        }
    }

    void DeleteTopic(DeleteTopicInput request, RequestContext ctx)
    {
        var arn = request.TopicArn!;
        if (!TopicArnPattern().IsMatch(arn)) throw Invalid("TopicArn");
        // Deleting a topic that is not there succeeds, as in AWS; its subscriptions go with it.
        Store.State.Write(w =>
        {
            foreach (var s in SnsStore.SubscriptionsOf(w, arn)) SnsStore.DeleteSubscription(w, s.SubscriptionArn);
            SnsStore.DeleteTopic(w, arn);
            return 0;
        });
    }

    GetTopicAttributesResponse GetTopicAttributes(GetTopicAttributesInput request, RequestContext ctx)
    {
        var topic = TopicOf(request.TopicArn);
        var subscriptions = Store.State.Read(r => SnsStore.SubscriptionsOf(r, topic.TopicArn));
        var attributes = new Dictionary<string, string>
        {
            ["TopicArn"] = topic.TopicArn,
            ["Owner"] = topic.Owner,
            ["Policy"] = DefaultPolicy(topic.TopicArn, topic.Owner),
            ["DisplayName"] = "",
            ["SubscriptionsConfirmed"] = subscriptions.Count(s => !s.PendingConfirmation).ToString(CultureInfo.InvariantCulture),
            ["SubscriptionsPending"] = subscriptions.Count(s => s.PendingConfirmation).ToString(CultureInfo.InvariantCulture),
            ["SubscriptionsDeleted"] = topic.SubscriptionsDeleted.ToString(CultureInfo.InvariantCulture),
            ["EffectiveDeliveryPolicy"] = DeliveryPolicies.EffectiveTopicPolicy(topic.Attributes.GetValueOrDefault("DeliveryPolicy")),
        };
        foreach (var (key, value) in topic.Attributes) attributes[key] = value;
        return new() { Attributes = attributes };
    }

    void SetTopicAttributes(SetTopicAttributesInput request, RequestContext ctx)
    {
        var topic = TopicOf(request.TopicArn);
        var name = request.AttributeName!;
        var value = request.AttributeValue ?? "";
        if (name is "FifoTopic" or "ContentBasedDeduplication") throw Invalid("AttributeName", $"{name} is only for FIFO topics, which Strata does not support");
        if (value.Length > 0) CheckTopicAttribute(name, value, ctx);
        else if (!TopicSettable.Contains(name)) throw Invalid("AttributeName");
        Store.State.Write(w =>
        {
            var current = SnsStore.GetTopic(w, topic.TopicArn) ?? throw SnsErrors.NotFoundException("Topic does not exist");
            var attributes = new Dictionary<string, string>(current.Attributes);
            // An empty value resets an attribute to its default.
            if (value.Length == 0) attributes.Remove(name);
            else attributes[name] = value;
            SnsStore.PutTopic(w, current with { Attributes = attributes });
            return 0;
        });
    }

    const int PageSize = 100;

    ListTopicsResponse ListTopics(ListTopicsInput request, RequestContext ctx)
    {
        var prefix = TopicArnOf(ctx.Principal.AccountId, "");
        var after = DecodeToken(request.NextToken, prefix);
        var page = Store.ListTopics(prefix, after, PageSize + 1);
        var more = page.Count > PageSize;
        if (more) page.RemoveAt(PageSize);
        return new()
        {
            Topics = page.Select(t => new Topic { TopicArn = t.TopicArn }).ToList(),
            NextToken = more ? EncodeToken(page[^1].TopicArn) : null,
        };
    }

    static string EncodeToken(string last) => Convert.ToBase64String(Encoding.UTF8.GetBytes(last));

    /// <summary>A page token is the last ARN of the page before, which must be within the listing.</summary>
    static string? DecodeToken(string? token, string prefix)
    {
        if (string.IsNullOrEmpty(token)) return null;
        try
        {
            var last = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (last.StartsWith(prefix, StringComparison.Ordinal)) return last;
        }
        catch (FormatException) { }
        throw Invalid("NextToken");
    }

    // ---- tags ----

    static List<SnsTag> CheckTags(List<Tag>? tags)
    {
        var list = (tags ?? []).Select(t => new SnsTag(t.Key!, t.Value ?? "")).ToList();
        foreach (var t in list)
        {
            if (t.Key.Length is 0 or > 128) throw Invalid("Tags", "Tag keys must be between 1 and 128 characters");
            if (t.Value.Length > 256) throw Invalid("Tags", "Tag values must be at most 256 characters");
            if (t.Key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase)) throw Invalid("Tags", "Tag keys may not start with aws:");
        }
        if (list.Count > 50) throw SnsErrors.TagLimitExceededException("Could not complete request: tag quota of per resource exceeded");
        if (list.Select(t => t.Key).Distinct().Count() != list.Count) throw Invalid("Tags", "Duplicated keys are not allowed.");
        return list;
    }

    SnsTopic TaggedTopic(string arn)
    {
        if (!TopicArnPattern().IsMatch(arn)) throw Invalid("ResourceArn");
        return Store.GetTopic(arn) ?? throw SnsErrors.ResourceNotFoundException("Resource does not exist");
    }

    TagResourceResponse TagResource(TagResourceRequest request, RequestContext ctx)
    {
        var topic = TaggedTopic(request.ResourceArn!);
        var tags = CheckTags(request.Tags);
        Store.State.Write(w =>
        {
            var current = SnsStore.GetTopic(w, topic.TopicArn)!;
            var merged = current.Tags.Where(t => !tags.Any(n => n.Key == t.Key)).Concat(tags).ToList();
            if (merged.Count > 50) throw SnsErrors.TagLimitExceededException("Could not complete request: tag quota of per resource exceeded");
            SnsStore.PutTopic(w, current with { Tags = merged });
            return 0;
        });
        return new();
    }

    UntagResourceResponse UntagResource(UntagResourceRequest request, RequestContext ctx)
    {
        var topic = TaggedTopic(request.ResourceArn!);
        var keys = request.TagKeys ?? [];
        Store.State.Write(w =>
        {
            var current = SnsStore.GetTopic(w, topic.TopicArn)!;
            SnsStore.PutTopic(w, current with { Tags = current.Tags.Where(t => !keys.Contains(t.Key)).ToList() });
            return 0;
        });
        return new();
    }

    ListTagsForResourceResponse ListTagsForResource(ListTagsForResourceRequest request, RequestContext ctx)
        => new() { Tags = TaggedTopic(request.ResourceArn!).Tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() };

    // ---- subscriptions ----

    static readonly Dictionary<string, string> Elsewhere = new(StringComparer.Ordinal)
    {
        ["sqs"] = "Amazon SQS",
        ["lambda"] = "AWS Lambda",
        ["application"] = "mobile push (platform applications)",
        ["sms"] = "SMS text messaging",
        ["firehose"] = "Amazon Data Firehose",
    };

    static readonly string[] SubscriptionSettable = ["DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "SubscriptionRoleArn"];

    SubscribeResponse Subscribe(SubscribeInput request, RequestContext ctx)
    {
        var topic = TopicOf(request.TopicArn);
        var protocol = request.Protocol!;
        if (Elsewhere.TryGetValue(protocol, out var service))
            throw Invalid("Protocol", $"Strata has no {service} service to deliver to; subscribe an http, https, email or email-json endpoint");
        if (protocol is not ("http" or "https" or "email" or "email-json"))
            throw SnsErrors.InvalidParameterException($"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}");
        var endpoint = request.Endpoint ?? throw Invalid("Endpoint");
        switch (protocol)
        {
            case "http" or "https":
                if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme != protocol || uri.Host.Length == 0)
                    throw SnsErrors.InvalidParameterException("Invalid parameter: Endpoint must match the specified protocol");
                break;
            default:
                if (!EmailPattern().IsMatch(endpoint)) throw SnsErrors.InvalidParameterException("Invalid parameter: Email address");
                if (!env.EmailEnabled)
                    throw Invalid("Protocol", "email delivery needs an SMTP server: start Strata with --smtp-url smtp://host:port");
                break;
        }
        var attributes = request.Attributes ?? [];
        foreach (var (key, value) in attributes) CheckSubscriptionAttribute(protocol, key, value, attributes);

        var now = env.Clock.GetUtcNow();
        var (subscription, isNew) = Store.State.Write(w =>
        {
            _ = SnsStore.GetTopic(w, topic.TopicArn) ?? throw SnsErrors.NotFoundException("Topic does not exist");
            var existing = SnsStore.SubscriptionsOf(w, topic.TopicArn).FirstOrDefault(s => s.Protocol == protocol && s.Endpoint == endpoint);
            if (existing is not null)
            {
                if (attributes.Any(a => existing.Attributes.GetValueOrDefault(a.Key) != a.Value))
                    throw Invalid("Attributes", "Subscription already exists with different attributes");
                if (!existing.PendingConfirmation) return (existing, false);
            }
            // A pending subscription asked for again gets a fresh confirmation message.
            var s = existing is not null
                ? existing with { Token = NewToken(), TokenExpires = now.AddDays(3) }
                : new SnsSubscription
                {
                    SubscriptionArn = $"{topic.TopicArn}:{Guid.NewGuid()}",
                    TopicArn = topic.TopicArn,
                    Owner = ctx.Principal.AccountId,
                    Protocol = protocol,
                    Endpoint = endpoint,
                    PendingConfirmation = true,
                    Token = NewToken(),
                    TokenExpires = now.AddDays(3),
                    Attributes = attributes.ToDictionary(),
                };
            SnsStore.PutSubscription(w, s);
            SnsStore.PutDelivery(w, Confirmation(topic, s, now));
            return (s, true);
        });
        if (isNew) env.WakeDeliverer();
        return new()
        {
            SubscriptionArn = subscription.PendingConfirmation && request.ReturnSubscriptionArn != true ? "pending confirmation" : subscription.SubscriptionArn,
        };
    }

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    private static partial Regex EmailPattern();

    static string NewToken() => Convert.ToHexString(RandomNumberGenerator.GetBytes(64)).ToLowerInvariant();

    void CheckSubscriptionAttribute(string protocol, string name, string value, IReadOnlyDictionary<string, string> all)
    {
        if (!SubscriptionSettable.Contains(name)) throw Invalid("AttributeName");
        switch (name)
        {
            case "RawMessageDelivery":
                if (!value.Equals("true", StringComparison.OrdinalIgnoreCase) && !value.Equals("false", StringComparison.OrdinalIgnoreCase))
                    throw Invalid("RawMessageDelivery", "Invalid value [" + value + "] for RawMessageDelivery");
                if (protocol is not ("http" or "https") && value.Equals("true", StringComparison.OrdinalIgnoreCase))
                    throw Invalid("Attributes", $"Delivery protocol [{protocol}] does not support raw message delivery.");
                break;
            case "FilterPolicyScope":
                if (value is not ("MessageAttributes" or "MessageBody")) throw Invalid("FilterPolicyScope", "Invalid value [" + value + "]. Please use either MessageBody or MessageAttributes");
                if (all.GetValueOrDefault("FilterPolicy") is { Length: > 0 } policy) ParseFilter(policy, value);
                break;
            case "FilterPolicy":
                if (value.Length > 0) ParseFilter(value, all.GetValueOrDefault("FilterPolicyScope") ?? "MessageAttributes");
                break;
            case "DeliveryPolicy":
                if (protocol is not ("http" or "https")) throw Invalid("DeliveryPolicy", $"Delivery protocol [{protocol}] does not support delivery policies.");
                DeliveryPolicies.CheckSubscriptionPolicy(value);
                break;
            case "RedrivePolicy":
                throw Invalid("RedrivePolicy", "Strata has no Amazon SQS service to hold a dead-letter queue");
            case "SubscriptionRoleArn":
                throw Invalid("SubscriptionRoleArn", "Strata has no Amazon Data Firehose service to deliver to");
        }
    }

    static FilterPolicy ParseFilter(string json, string scope)
    {
        try
        {
            return FilterPolicy.Parse(json, allowNesting: scope == "MessageBody");
        }
        catch (FilterPolicyException e)
        {
            if (e.Message.StartsWith("Filter policy can not have more than", StringComparison.Ordinal) || e.Message == "Filter policy is too complex")
                throw SnsErrors.InvalidParameterException($"Invalid parameter: FilterPolicy: {e.Message}");
            throw SnsErrors.InvalidParameterException($"Invalid parameter: FilterPolicy: {e.Message}");
        }
    }

    ConfirmSubscriptionResponse ConfirmSubscription(ConfirmSubscriptionInput request, RequestContext ctx)
    {
        var topic = TopicOf(request.TopicArn);
        var token = request.Token!;
        var now = env.Clock.GetUtcNow();
        var authenticated = !ctx.Principal.IsAnonymous;
        var arn = Store.State.Write(w =>
        {
            bool Matches(SnsSubscription x) => x.Token is { } t && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(t), Encoding.ASCII.GetBytes(token));
            var s = SnsStore.SubscriptionsOf(w, topic.TopicArn).FirstOrDefault(Matches);
            if (s is null && SnsStore.UnsubscribedOf(w, topic.TopicArn).FirstOrDefault(Matches) is { } removed && removed.TokenExpires >= now)
            {
                // The SubscribeURL of an UnsubscribeConfirmation: the subscription comes back as it was.
                SnsStore.DeleteUnsubscribed(w, removed.SubscriptionArn);
                SnsStore.PutSubscription(w, removed);
                return removed.SubscriptionArn;
            }
            if (s is null || s.TokenExpires < now) throw Invalid("Token");
            if (s.PendingConfirmation)
            {
                s = s with
                {
                    PendingConfirmation = false,
                    ConfirmationWasAuthenticated = authenticated,
                    AuthenticateOnUnsubscribe = authenticated && request.AuthenticateOnUnsubscribe?.Equals("true", StringComparison.OrdinalIgnoreCase) == true,
                };
                SnsStore.PutSubscription(w, s);
            }
            return s.SubscriptionArn;
        });
        return new() { SubscriptionArn = arn };
    }

    void Unsubscribe(UnsubscribeInput request, RequestContext ctx)
    {
        var subscription = SubscriptionOf(request.SubscriptionArn);
        // Through the UnsubscribeURL (unsigned) only where the subscription allows it.
        if (ctx.Principal.IsAnonymous && subscription.AuthenticateOnUnsubscribe)
            throw SnsErrors.AuthorizationErrorException("Unsubscribe requires authentication for this subscription");
        var now = env.Clock.GetUtcNow();
        var told = Store.State.Write(w =>
        {
            if (!SnsStore.DeleteSubscription(w, subscription.SubscriptionArn) || SnsStore.GetTopic(w, subscription.TopicArn) is not { } topic) return false;
            SnsStore.PutTopic(w, topic with { SubscriptionsDeleted = topic.SubscriptionsDeleted + 1 });
            if (subscription.PendingConfirmation || subscription.Protocol is not ("http" or "https")) return false;
            // As AWS does, an HTTP/S endpoint is told, with a SubscribeURL that undoes it.
            var removed = subscription with { Token = NewToken(), TokenExpires = now.AddDays(3) };
            SnsStore.PutUnsubscribed(w, removed);
            SnsStore.PutDelivery(w, Confirmation(topic, removed, now, "UnsubscribeConfirmation"));
            return true;
        });
        if (told) env.WakeDeliverer();
    }

    static Subscription Listed(SnsSubscription s) => new()
    {
        SubscriptionArn = s.PendingConfirmation ? "PendingConfirmation" : s.SubscriptionArn,
        Owner = s.Owner,
        Protocol = s.Protocol,
        Endpoint = s.Endpoint,
        TopicArn = s.TopicArn,
    };

    ListSubscriptionsResponse ListSubscriptions(ListSubscriptionsInput request, RequestContext ctx)
    {
        var prefix = TopicArnOf(ctx.Principal.AccountId, "");
        var after = DecodeToken(request.NextToken, prefix);
        var page = Store.ListSubscriptions(prefix, after, PageSize + 1);
        var more = page.Count > PageSize;
        if (more) page.RemoveAt(PageSize);
        return new() { Subscriptions = page.Select(Listed).ToList(), NextToken = more ? EncodeToken(page[^1].SubscriptionArn) : null };
    }

    ListSubscriptionsByTopicResponse ListSubscriptionsByTopic(ListSubscriptionsByTopicInput request, RequestContext ctx)
    {
        var topic = TopicOf(request.TopicArn);
        var after = DecodeToken(request.NextToken, topic.TopicArn + ":");
        var page = Store.State.Read(r => SnsStore.SubscriptionsOf(r, topic.TopicArn, after, PageSize + 1));
        var more = page.Count > PageSize;
        if (more) page.RemoveAt(PageSize);
        return new() { Subscriptions = page.Select(Listed).ToList(), NextToken = more ? EncodeToken(page[^1].SubscriptionArn) : null };
    }

    GetSubscriptionAttributesResponse GetSubscriptionAttributes(GetSubscriptionAttributesInput request, RequestContext ctx)
    {
        var s = SubscriptionOf(request.SubscriptionArn);
        var topic = Store.GetTopic(s.TopicArn);
        var attributes = new Dictionary<string, string>
        {
            ["SubscriptionArn"] = s.SubscriptionArn,
            ["TopicArn"] = s.TopicArn,
            ["Owner"] = s.Owner,
            ["Protocol"] = s.Protocol,
            ["Endpoint"] = s.Endpoint,
            ["PendingConfirmation"] = s.PendingConfirmation ? "true" : "false",
            ["ConfirmationWasAuthenticated"] = s.ConfirmationWasAuthenticated ? "true" : "false",
            ["RawMessageDelivery"] = "false",
            ["SubscriptionPrincipal"] = $"arn:aws:iam::{s.Owner}:root",
        };
        if (s.Protocol is "http" or "https")
            attributes["EffectiveDeliveryPolicy"] = DeliveryPolicies.EffectiveSubscriptionPolicy(s.Attributes.GetValueOrDefault("DeliveryPolicy"), topic?.Attributes.GetValueOrDefault("DeliveryPolicy"));
        foreach (var (key, value) in s.Attributes) attributes[key] = value;
        if (attributes.ContainsKey("FilterPolicy") && !attributes.ContainsKey("FilterPolicyScope")) attributes["FilterPolicyScope"] = "MessageAttributes";
        return new() { Attributes = attributes };
    }

    void SetSubscriptionAttributes(SetSubscriptionAttributesInput request, RequestContext ctx)
    {
        var s = SubscriptionOf(request.SubscriptionArn);
        var name = request.AttributeName!;
        var value = request.AttributeValue ?? "";
        var merged = new Dictionary<string, string>(s.Attributes) { [name] = value };
        CheckSubscriptionAttribute(s.Protocol, name, value, merged);
        Store.State.Write(w =>
        {
            var current = SnsStore.GetSubscription(w, s.SubscriptionArn) ?? throw SnsErrors.NotFoundException("Subscription does not exist");
            var attributes = new Dictionary<string, string>(current.Attributes);
            if (value.Length == 0 && name is "FilterPolicy" or "DeliveryPolicy") attributes.Remove(name);
            else attributes[name] = value;
            SnsStore.PutSubscription(w, current with { Attributes = attributes });
            return 0;
        });
    }

    // ---- publishing ----

    PublishResponse Publish(PublishInput request, RequestContext ctx)
    {
        if (request.PhoneNumber is not null)
            throw Invalid("PhoneNumber", "Strata has no SMS service to send text messages with");
        if (request.TopicArn is not null && request.TargetArn is not null)
            throw SnsErrors.InvalidParameterException("Invalid parameter: TopicArn or TargetArn Reason: Only one of TopicArn or TargetArn may be specified");
        var arn = request.TopicArn ?? request.TargetArn ?? throw SnsErrors.InvalidParameterException("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter");
        var topic = TopicOf(arn, request.TopicArn is null ? "TargetArn" : "TopicArn");
        var message = CheckMessage(request.Message!, request.Subject, request.MessageStructure, request.MessageAttributes, request.MessageGroupId, request.MessageDeduplicationId);
        var id = Enqueue(topic, message);
        env.WakeDeliverer();
        return new() { MessageId = id };
    }

    /// <summary>Publish without a request (<see cref="SnsPublisher"/>).</summary>
    internal string PublishInternal(string topicArn, string? subject, string message)
    {
        var topic = Store.GetTopic(topicArn) ?? throw new TopicNotFound(topicArn);
        var id = Enqueue(topic, CheckMessage(message, subject, null, null));
        env.WakeDeliverer();
        return id;
    }

    PublishBatchResponse PublishBatch(PublishBatchInput request, RequestContext ctx)
    {
        var entries = request.PublishBatchRequestEntries ?? [];
        if (entries.Count == 0) throw SnsErrors.EmptyBatchRequestException("The batch request doesn't contain any entries.");
        if (entries.Count > 10) throw SnsErrors.TooManyEntriesInBatchRequestException("The batch request contains more entries than permissible.");
        if (entries.Select(e => e.Id).Distinct().Count() != entries.Count) throw SnsErrors.BatchEntryIdsNotDistinctException("Two or more batch entries in the request have the same Id.");
        if (entries.Any(e => e.Id is null || !BatchIdPattern().IsMatch(e.Id)))
            throw SnsErrors.InvalidBatchEntryIdException("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.");
        if (entries.Sum(e => MessageSize(e.Message ?? "", e.MessageAttributes)) > MaxMessageBytes)
            throw SnsErrors.BatchRequestTooLongException("The length of all the messages put together is more than the limit.");
        var topic = TopicOf(request.TopicArn);
        var successful = new List<PublishBatchResultEntry>();
        var failed = new List<BatchResultErrorEntry>();
        foreach (var entry in entries)
        {
            try
            {
                var message = CheckMessage(entry.Message ?? "", entry.Subject, entry.MessageStructure, entry.MessageAttributes, entry.MessageGroupId, entry.MessageDeduplicationId);
                successful.Add(new PublishBatchResultEntry { Id = entry.Id, MessageId = Enqueue(topic, message) });
            }
            catch (AwsException e) when (e.Status < 500)
            {
                failed.Add(new BatchResultErrorEntry { Id = entry.Id, Code = e.Code, Message = e.Message, SenderFault = true });
            }
        }
        if (successful.Count > 0) env.WakeDeliverer();
        return new() { Successful = successful, Failed = failed };
    }

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,80}$")]
    private static partial Regex BatchIdPattern();

    /// <summary>A message as published: the text per protocol (MessageStructure json) and attributes.</summary>
    internal sealed record OutgoingMessage(string Message, string? Subject, JsonObject? PerProtocol, Dictionary<string, MessageAttributeValue> Attributes)
    {
        public string For(string protocol) => PerProtocol is null ? Message : (PerProtocol[protocol] ?? PerProtocol["default"])!.GetValue<string>();
    }

    const int MaxMessageBytes = 256 * 1024;

    static int MessageSize(string message, Dictionary<string, MessageAttributeValue>? attributes)
        => Encoding.UTF8.GetByteCount(message) + (attributes ?? []).Sum(a => Encoding.UTF8.GetByteCount(a.Key) + Encoding.UTF8.GetByteCount(a.Value.DataType ?? "")
            + Encoding.UTF8.GetByteCount(a.Value.StringValue ?? "") + (a.Value.BinaryValue?.Length ?? 0));

    [GeneratedRegex(@"^[A-Za-z0-9_\-.]{1,256}$")]
    private static partial Regex AttributeNamePattern();

    internal static OutgoingMessage CheckMessage(string message, string? subject, string? structure, Dictionary<string, MessageAttributeValue>? attributes, string? groupId = null, string? dedupId = null)
    {
        if (groupId is not null) throw Invalid("MessageGroupId", "The request includes MessageGroupId parameter that is not valid for this topic type");
        if (dedupId is not null) throw Invalid("MessageDeduplicationId", "The request includes MessageDeduplicationId parameter that is not valid for this topic type");
        if (message.Length == 0) throw SnsErrors.InvalidParameterException("Invalid parameter: Empty message");
        if (MessageSize(message, attributes) > MaxMessageBytes) throw SnsErrors.InvalidParameterException("Invalid parameter: Message too long");
        if (subject is not null && (subject.Length is 0 or > 100 || subject.Any(c => c < 0x20 || c > 0x7e)))
            throw SnsErrors.InvalidParameterException("Invalid parameter: Subject");
        JsonObject? perProtocol = null;
        if (structure is not null)
        {
            if (structure != "json") throw SnsErrors.InvalidParameterException("Invalid parameter: MessageStructure");
            try { perProtocol = JsonNode.Parse(message) as JsonObject; }
            catch (JsonException) { }
            if (perProtocol is null || perProtocol.Any(p => p.Value is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
                throw SnsErrors.InvalidParameterException("Invalid parameter: Message Structure - JSON message body failed to parse");
            if (!perProtocol.ContainsKey("default"))
                throw SnsErrors.InvalidParameterException("Invalid parameter: Message Structure - No default entry in JSON message body");
        }
        var checkedAttributes = new Dictionary<string, MessageAttributeValue>(StringComparer.Ordinal);
        if (attributes is { Count: > 10 }) throw SnsErrors.InvalidParameterException("Invalid parameter: MessageAttributes Reason: Number of message attributes [" + attributes.Count + "] exceeds the allowed maximum [10].");
        foreach (var (name, value) in attributes ?? [])
        {
            if (!AttributeNamePattern().IsMatch(name) || name.StartsWith("AWS.", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Amazon.", StringComparison.OrdinalIgnoreCase))
                throw Invalid($"MessageAttributes Reason: Message attribute name '{name}' is not valid");
            var type = value.DataType;
            if (string.IsNullOrEmpty(type))
                throw SnsErrors.InvalidParameterValueException($"The message attribute '{name}' must contain non-empty message attribute type.");
            var baseType = type.Split('.')[0];
            if (baseType is not ("String" or "Number" or "Binary"))
                throw SnsErrors.InvalidParameterValueException($"The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.");
            if (baseType == "Binary" ? value.BinaryValue is null : string.IsNullOrEmpty(value.StringValue))
                throw SnsErrors.InvalidParameterValueException($"The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{baseType}'.");
            if (baseType == "Number" && !double.TryParse(value.StringValue, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                throw SnsErrors.InvalidParameterValueException($"Could not cast message attribute '{name}' value to number.");
            if (type == "String.Array")
            {
                JsonNode? parsed = null;
                try { parsed = JsonNode.Parse(value.StringValue!); }
                catch (JsonException) { }
                if (parsed is not JsonArray array || array.Any(x => x is JsonObject or JsonArray))
                    throw SnsErrors.InvalidParameterValueException($"The message attribute '{name}' with type 'String.Array' must be a JSON array of strings, numbers, true, false or null.");
            }
            checkedAttributes[name] = value;
        }
        return new OutgoingMessage(message, subject, perProtocol, checkedAttributes);
    }

    /// <summary>Records a message: one delivery per confirmed subscription whose filter policy
    /// matches, rendered and signed now, all in one transaction. Returns the MessageId.</summary>
    internal string Enqueue(SnsTopic topic, OutgoingMessage message)
    {
        var messageId = Guid.NewGuid().ToString();
        var now = env.Clock.GetUtcNow();
        Store.State.Write(w =>
        {
            var current = SnsStore.GetTopic(w, topic.TopicArn) ?? throw new TopicNotFound(topic.TopicArn);
            foreach (var s in SnsStore.SubscriptionsOf(w, current.TopicArn))
            {
                if (s.PendingConfirmation || !Passes(s, message)) continue;
                SnsStore.PutDelivery(w, Notification(current, s, message, messageId, now));
            }
            return 0;
        });
        return messageId;
    }

    /// <summary>Whether a subscription's filter policy lets the message through (no policy: all do).</summary>
    static bool Passes(SnsSubscription s, OutgoingMessage message)
    {
        if (s.Attributes.GetValueOrDefault("FilterPolicy") is not { Length: > 0 } json) return true;
        var scope = s.Attributes.GetValueOrDefault("FilterPolicyScope") ?? "MessageAttributes";
        FilterPolicy policy;
        try { policy = FilterPolicy.Parse(json, scope == "MessageBody"); }
        catch (FilterPolicyException) { return false; }
        if (scope == "MessageBody")
        {
            try { return JsonNode.Parse(message.For(s.Protocol)) is JsonObject body && policy.Matches(body); }
            catch (JsonException) { return false; }
        }
        var document = new JsonObject();
        foreach (var (name, value) in message.Attributes)
        {
            if (value.DataType!.StartsWith("Number", StringComparison.Ordinal))
                document[name] = double.Parse(value.StringValue!, CultureInfo.InvariantCulture);
            else if (value.DataType == "String.Array")
                document[name] = JsonNode.Parse(value.StringValue!);
            else if (value.DataType.StartsWith("String", StringComparison.Ordinal))
                document[name] = value.StringValue;
        }
        return policy.Matches(document);
    }

    // ---- rendering ----

    string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    string SigningCertUrl => env.BaseUrl + env.Signing.CertificatePath;

    string UnsubscribeUrl(string subscriptionArn) => $"{env.BaseUrl}/?Action=Unsubscribe&SubscriptionArn={Uri.EscapeDataString(subscriptionArn)}";

    /// <summary>The SubscriptionConfirmation message an endpoint gets on Subscribe.</summary>
    SnsDelivery Confirmation(SnsTopic topic, SnsSubscription s, DateTimeOffset now, string type = "SubscriptionConfirmation")
    {
        var messageId = Guid.NewGuid().ToString();
        var subscribeUrl = $"{env.BaseUrl}/?Action=ConfirmSubscription&TopicArn={Uri.EscapeDataString(topic.TopicArn)}&Token={s.Token}";
        var text = type == "SubscriptionConfirmation"
            ? $"You have chosen to subscribe to the topic {topic.TopicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
            : $"You have chosen to deactivate subscription {s.SubscriptionArn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.";
        var fields = new Dictionary<string, string>
        {
            ["Type"] = type,
            ["MessageId"] = messageId,
            ["Token"] = s.Token!,
            ["TopicArn"] = topic.TopicArn,
            ["Message"] = text,
            ["SubscribeURL"] = subscribeUrl,
            ["Timestamp"] = Timestamp(now),
        };
        string body, subject;
        if (s.Protocol == "email")
        {
            var display = topic.Attributes.GetValueOrDefault("DisplayName") is { Length: > 0 } d ? d : "AWS Notifications";
            subject = $"{display} - Subscription Confirmation";
            body = $"You have chosen to subscribe to the topic: \n{topic.TopicArn}\n\nTo confirm this subscription, click or visit the link below (If this was in error no action is necessary):\n{subscribeUrl}\n";
        }
        else
        {
            subject = "AWS Notification - Subscription Confirmation";
            body = Signed(topic, fields, ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp"], null);
        }
        return new SnsDelivery
        {
            Id = Guid.NewGuid().ToString("N"),
            Protocol = s.Protocol,
            Endpoint = s.Endpoint,
            MessageType = type,
            MessageId = messageId,
            TopicArn = topic.TopicArn,
            SubscriptionArn = null,
            Body = body,
            Subject = subject,
            DueAt = now,
            DeliveryPolicy = DeliveryPolicies.RetryPolicyFor(s.Attributes.GetValueOrDefault("DeliveryPolicy"), topic.Attributes.GetValueOrDefault("DeliveryPolicy")),
        };
    }

    SnsDelivery Notification(SnsTopic topic, SnsSubscription s, OutgoingMessage message, string messageId, DateTimeOffset now)
    {
        var text = message.For(s.Protocol);
        var raw = s.Attributes.GetValueOrDefault("RawMessageDelivery")?.Equals("true", StringComparison.OrdinalIgnoreCase) == true;
        string body;
        if (raw) body = text;
        else if (s.Protocol == "email")
            body = text + $"\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the link below to unsubscribe:\n{UnsubscribeUrl(s.SubscriptionArn)}\n\nPlease do not reply directly to this email. If you have any questions or comments regarding this email, please contact us at https://aws.amazon.com/support\n";
        else
        {
            var fields = new Dictionary<string, string>
            {
                ["Type"] = "Notification",
                ["MessageId"] = messageId,
                ["TopicArn"] = topic.TopicArn,
                ["Message"] = text,
                ["Timestamp"] = Timestamp(now),
                ["UnsubscribeURL"] = UnsubscribeUrl(s.SubscriptionArn),
            };
            if (message.Subject is not null) fields["Subject"] = message.Subject;
            body = Signed(topic, fields, ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp"], message.Attributes);
        }
        return new SnsDelivery
        {
            Id = Guid.NewGuid().ToString("N"),
            Protocol = s.Protocol,
            Endpoint = s.Endpoint,
            MessageType = "Notification",
            MessageId = messageId,
            TopicArn = topic.TopicArn,
            SubscriptionArn = s.SubscriptionArn,
            Body = body,
            Raw = raw,
            Subject = message.Subject ?? (topic.Attributes.GetValueOrDefault("DisplayName") is { Length: > 0 } d ? d : "AWS Notification Message"),
            DueAt = now,
            DeliveryPolicy = DeliveryPolicies.RetryPolicyFor(s.Attributes.GetValueOrDefault("DeliveryPolicy"), topic.Attributes.GetValueOrDefault("DeliveryPolicy")),
        };
    }

    /// <summary>The JSON document AWS delivers: the fields in AWS's order, then the signature
    /// fields, the UnsubscribeURL and the message attributes.</summary>
    string Signed(SnsTopic topic, Dictionary<string, string> fields, string[] order, Dictionary<string, MessageAttributeValue>? attributes)
    {
        var version = topic.Attributes.GetValueOrDefault("SignatureVersion") ?? "2";
        var json = new JsonObject();
        foreach (var name in order)
            if (fields.TryGetValue(name, out var v)) json[name] = v;
        json["SignatureVersion"] = version;
        json["Signature"] = env.Signing.Sign(fields, version);
        json["SigningCertURL"] = SigningCertUrl;
        if (fields.TryGetValue("UnsubscribeURL", out var unsubscribe)) json["UnsubscribeURL"] = unsubscribe;
        if (attributes is { Count: > 0 })
        {
            var map = new JsonObject();
            foreach (var (name, value) in attributes)
                map[name] = new JsonObject
                {
                    ["Type"] = value.DataType,
                    ["Value"] = value.BinaryValue is { } bytes ? Convert.ToBase64String(bytes) : value.StringValue,
                };
            json["MessageAttributes"] = map;
        }
        return json.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
