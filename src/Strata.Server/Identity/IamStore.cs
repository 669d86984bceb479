using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Policy;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Identity;

public sealed record IamTag(string Key, string Value);

/// <summary>What users, groups and roles have in common: a name unique in the account (IAM
/// compares names without case), an id, an ARN, inline policies and attached managed policies.</summary>
public abstract class IamEntity
{
    public string Name { get; set; } = "";
    public string Id { get; set; } = "";
    public string Arn { get; set; } = "";
    public string Path { get; set; } = "/";
    public DateTimeOffset CreateDate { get; set; }
    public SortedDictionary<string, string> InlinePolicies { get; set; } = new(StringComparer.Ordinal);
    public List<string> AttachedPolicies { get; set; } = [];
}

public sealed class IamUser : IamEntity
{
    public string? PermissionsBoundary { get; set; }
    public List<IamTag> Tags { get; set; } = [];
    public List<string> Groups { get; set; } = [];
}

public sealed class IamGroup : IamEntity
{
    public List<string> Members { get; set; } = [];
}

public sealed class IamRole : IamEntity
{
    public string AssumeRolePolicyDocument { get; set; } = "";
    public string? Description { get; set; }
    public int MaxSessionDuration { get; set; } = 3600;
    public string? PermissionsBoundary { get; set; }
    public List<IamTag> Tags { get; set; } = [];
}

public sealed record IamPolicyVersion(string VersionId, string Document, DateTimeOffset CreateDate);

/// <summary>A managed policy: customer managed (stored) or AWS managed (built in, read-only).</summary>
public sealed class IamPolicy
{
    public string PolicyName { get; set; } = "";
    public string PolicyId { get; set; } = "";
    public string Arn { get; set; } = "";
    public string Path { get; set; } = "/";
    public string DefaultVersionId { get; set; } = "v1";
    public int NextVersion { get; set; } = 2;
    public int AttachmentCount { get; set; }
    public int PermissionsBoundaryUsageCount { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreateDate { get; set; }
    public DateTimeOffset UpdateDate { get; set; }
    public List<IamPolicyVersion> Versions { get; set; } = [];
    public List<IamTag> Tags { get; set; } = [];

    [JsonIgnore] public string DefaultDocument => Versions.First(v => v.VersionId == DefaultVersionId).Document;
}

[JsonSerializable(typeof(IamUser))]
[JsonSerializable(typeof(IamGroup))]
[JsonSerializable(typeof(IamRole))]
[JsonSerializable(typeof(IamPolicy))]
internal sealed partial class IamJson : JsonSerializerContext;

/// <summary>
/// IAM's entities in the state store, one JSON document per user, group, role and customer
/// managed policy (keyed by account and lower-cased name: IAM names are unique regardless of
/// case). IAM's operations write them; STS reads roles; and it answers the authorizer's question
/// "which policies apply to this principal" (<see cref="IPolicySource"/>), from a cache that
/// every IAM write invalidates.
/// </summary>
public sealed class IamStore(IStateStore state) : IPolicySource
{
    public const string Users = "iam-users";
    public const string Groups = "iam-groups";
    public const string Roles = "iam-roles";
    public const string Policies = "iam-policies";

    public static string Key(string account, string name) => account + "/" + name.ToLowerInvariant();

    public IStateStore State => state;

    public T Read<T>(Func<IStateReader, T> work) => state.Read(work);

    /// <summary>Every IAM change goes through here, so the policy cache never serves a decision
    /// older than the change.</summary>
    public T Write<T>(Func<IStateWriter, T> work)
    {
        try { return state.Write(work); }
        finally
        {
            Interlocked.Increment(ref _generation);
            _resolved.Clear();
        }
    }

    public static T? Get<T>(IStateReader r, string table, string account, string name) where T : class
        => r.Get(table, Key(account, name)) is { } json ? (T?)JsonSerializer.Deserialize(json, typeof(T), IamJson.Default) : null;

    public static void Put<T>(IStateWriter w, string table, string account, string name, T value)
        => w.Put(table, Key(account, name), JsonSerializer.Serialize(value, typeof(T), IamJson.Default));

    public static List<T> List<T>(IStateReader r, string table, string account) where T : class
        => r.Scan(table, account + "/", null, int.MaxValue).Select(kv => (T)JsonSerializer.Deserialize(kv.Value, typeof(T), IamJson.Default)!).ToList();

    /// <summary>A managed policy by ARN: AWS managed from the built-in set, else the account's own.</summary>
    public static IamPolicy? GetPolicy(IStateReader r, string arn)
    {
        if (AwsManagedPolicies.Find(arn) is { } managed) return managed;
        if (ParsePolicyArn(arn) is not { } parsed) return null;
        var policy = Get<IamPolicy>(r, Policies, parsed.Account, parsed.Name);
        return policy?.Arn == arn ? policy : null;
    }

    public static (string Account, string Name)? ParsePolicyArn(string arn)
    {
        const string prefix = "arn:aws:iam::";
        if (!arn.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = arn[prefix.Length..];
        var colon = rest.IndexOf(':');
        if (colon != 12 || !rest[(colon + 1)..].StartsWith("policy/", StringComparison.Ordinal)) return null;
        return (rest[..colon], rest[(rest.LastIndexOf('/') + 1)..]);
    }

    public static string NewId(string prefix)
        => prefix + string.Create(17, 0, (span, _) =>
        {
            const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            for (var i = 0; i < span.Length; i++) span[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        });

    /// <summary>The role an ARN names, or null (a role of that name whose ARN has another path is
    /// not it).</summary>
    public static IamRole? FindRole(IStateReader r, string roleArn)
    {
        var parts = roleArn.Split(':', 6);
        if (parts.Length != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[5].StartsWith("role/", StringComparison.Ordinal)) return null;
        var role = Get<IamRole>(r, Roles, parts[4], parts[5][(parts[5].LastIndexOf('/') + 1)..]);
        return role?.Arn == roleArn ? role : null;
    }

    public IamRole? FindRole(string roleArn) => Read(r => FindRole(r, roleArn));

    /// <summary>Creates a role with one inline policy unless it exists (the demo's execution role).</summary>
    public IamRole EnsureRole(string account, string name, string trustPolicy, string policyName, string policy, DateTimeOffset now) => Write(w =>
    {
        if (Get<IamRole>(w, Roles, account, name) is { } existing) return existing;
        var role = new IamRole
        {
            Name = name,
            Id = NewId("AROA"),
            Arn = $"arn:aws:iam::{account}:role/{name}",
            CreateDate = now,
            AssumeRolePolicyDocument = trustPolicy,
            InlinePolicies = new(StringComparer.Ordinal) { [policyName] = policy },
        };
        Put(w, Roles, account, name, role);
        return role;
    });

    // ---- the authorizer's view ----

    long _generation;
    readonly ConcurrentDictionary<string, PrincipalPolicies> _resolved = new();
    readonly ConcurrentDictionary<string, PolicyDocument> _parsed = new();

    /// <summary>The identity policies and boundary of a user (with its groups') or a role. Parsed
    /// documents are cached until the next IAM write.</summary>
    public PrincipalPolicies PoliciesOf(Principal principal)
    {
        var cacheKey = principal.Type + ":" + principal.AccountId + ":" + principal.EntityName;
        if (_resolved.TryGetValue(cacheKey, out var cached)) return cached;
        var generation = Interlocked.Read(ref _generation);
        var resolved = state.Read(r =>
        {
            var identity = new List<PolicyDocument>();
            string? boundaryArn = null;
            List<IamTag> tags = [];
            void Add(IamEntity entity)
            {
                identity.AddRange(entity.InlinePolicies.Values.Select(Parse));
                foreach (var arn in entity.AttachedPolicies)
                    if (GetPolicy(r, arn) is { } policy) identity.Add(Parse(policy.DefaultDocument));
            }
            switch (principal.Type)
            {
                case PrincipalType.User when Get<IamUser>(r, Users, principal.AccountId, principal.EntityName!) is { } user:
                    Add(user);
                    foreach (var g in user.Groups)
                        if (Get<IamGroup>(r, Groups, principal.AccountId, g) is { } group) Add(group);
                    boundaryArn = user.PermissionsBoundary;
                    tags = user.Tags;
                    break;
                case PrincipalType.AssumedRole when Get<IamRole>(r, Roles, principal.AccountId, principal.EntityName!) is { } role:
                    Add(role);
                    boundaryArn = role.PermissionsBoundary;
                    tags = role.Tags;
                    break;
            }
            var boundary = boundaryArn is not null && GetPolicy(r, boundaryArn) is { } b ? Parse(b.DefaultDocument) : null;
            return new PrincipalPolicies(identity, boundary, tags);
        });
        // Only cache what was read after the last write began.
        if (Interlocked.Read(ref _generation) == generation) _resolved[cacheKey] = resolved;
        return resolved;
    }

    /// <summary>A stored document, parsed (documents were validated when written).</summary>
    public PolicyDocument Parse(string json) => Parse(json, PolicyKind.Identity);

    public PolicyDocument Parse(string json, PolicyKind kind)
    {
        var key = (int)kind + json;
        if (_parsed.TryGetValue(key, out var doc)) return doc;
        doc = PolicyDocument.Parse(json, kind);
        if (_parsed.Count > 10_000) _parsed.Clear();
        return _parsed[key] = doc;
    }
}

/// <summary>
/// The AWS managed policies Strata knows: the ones ML teams attach most, with the statements
/// that matter for the services Strata runs. They are read-only and shared by all accounts.
/// </summary>
public static class AwsManagedPolicies
{
    static readonly DateTimeOffset Published = new(2015, 2, 6, 18, 40, 0, TimeSpan.Zero);

    static readonly (string Name, string Path, string Description, string Document)[] Definitions =
    [
        ("AdministratorAccess", "/", "Provides full access to AWS services and resources.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"""),
        ("ReadOnlyAccess", "/", "Provides read-only access to AWS services and resources.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","sagemaker:Describe*","sagemaker:List*","iam:Get*","iam:List*","kms:Describe*","kms:List*","cloudwatch:Get*","cloudwatch:List*","cloudwatch:Describe*","logs:Get*","logs:Describe*","logs:FilterLogEvents"],"Resource":"*"}]}"""),
        ("AmazonS3FullAccess", "/", "Provides full access to all buckets via the AWS Management Console.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"""),
        ("AmazonS3ReadOnlyAccess", "/", "Provides read only access to all buckets via the AWS Management Console.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"""),
        ("AmazonSageMakerFullAccess", "/", "Provides full access to Amazon SageMaker via the AWS Management Console and SDK.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:*","application-autoscaling:*","cloudwatch:*","logs:*","kms:DescribeKey","kms:ListAliases"],"Resource":"*"},{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload"],"Resource":["arn:aws:s3:::*SageMaker*","arn:aws:s3:::*Sagemaker*","arn:aws:s3:::*sagemaker*"]},{"Effect":"Allow","Action":["s3:CreateBucket","s3:GetBucketLocation","s3:ListBucket","s3:ListAllMyBuckets"],"Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/*","Condition":{"StringEquals":{"iam:PassedToService":"sagemaker.amazonaws.com"}}}]}"""),
        ("AmazonSageMakerReadOnly", "/", "Provides read only access to Amazon SageMaker via the AWS Management Console and SDK.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:Describe*","sagemaker:List*","sagemaker:Get*","application-autoscaling:Describe*","cloudwatch:Get*","cloudwatch:List*","cloudwatch:Describe*"],"Resource":"*"}]}"""),
        ("IAMFullAccess", "/", "Provides full access to IAM via the AWS Management Console.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization"],"Resource":"*"}]}"""),
        ("IAMReadOnlyAccess", "/", "Provides read only access to IAM via the AWS Management Console.",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"""),
        ("AWSKeyManagementServicePowerUser", "/", "Provides access to AWS Key Management Service (AWS KMS).",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}"""),
    ];

    static readonly Dictionary<string, IamPolicy> ByArn = Definitions.ToDictionary(d => Arn(d.Name, d.Path), d => new IamPolicy
    {
        PolicyName = d.Name,
        PolicyId = "ANPA" + Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(d.Name)))[..17],
        Arn = Arn(d.Name, d.Path),
        Path = d.Path,
        Description = d.Description,
        CreateDate = Published,
        UpdateDate = Published,
        Versions = [new IamPolicyVersion("v1", d.Document, Published)],
    });

    static string Arn(string name, string path) => $"arn:aws:iam::aws:policy{path}{name}";

    public static IamPolicy? Find(string arn) => ByArn.GetValueOrDefault(arn);

    public static IEnumerable<IamPolicy> All => ByArn.Values;
}
