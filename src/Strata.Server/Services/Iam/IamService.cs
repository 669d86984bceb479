using System.Text.RegularExpressions;
using Strata.Policy;
using Strata.Server.Identity;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.Iam;

/// <summary>
/// IAM's Query API: users, groups, roles, managed and inline policies, access keys, permissions
/// boundaries and the policy simulator, all scoped to the caller's account. Policy documents
/// are validated on write with IAM's MalformedPolicyDocument messages, and returned URL-encoded
/// as IAM returns them. The model checks required members, lengths, ranges and enums before a
/// handler runs; the handlers check what the model only documents (name and path patterns).
/// </summary>
public sealed partial class IamService(IamStore store, CredentialStore credentials, TimeProvider clock)
{
    public const int MaxAccessKeysPerUser = 2;
    public const int MaxPolicyVersions = 5;

    public IEnumerable<Operation> Operations =>
    [
        IamOperations.CreateUser.Bind("iam:CreateUser", (r, ctx) => Arn(ctx, "user", r.UserName), CreateUser),
        IamOperations.GetUser.Bind("iam:GetUser", (r, ctx) => SelfOrUser(ctx, r.UserName), GetUser),
        IamOperations.ListUsers.Bind("iam:ListUsers", (_, ctx) => EveryOf(ctx, "user"), ListUsers),
        IamOperations.DeleteUser.Bind("iam:DeleteUser", (r, ctx) => Arn(ctx, "user", r.UserName), DeleteUser),
        IamOperations.CreateAccessKey.Bind("iam:CreateAccessKey", (r, ctx) => SelfOrUser(ctx, r.UserName), CreateAccessKey),
        IamOperations.ListAccessKeys.Bind("iam:ListAccessKeys", (r, ctx) => SelfOrUser(ctx, r.UserName), ListAccessKeys),
        IamOperations.UpdateAccessKey.Bind("iam:UpdateAccessKey", (r, ctx) => SelfOrUser(ctx, r.UserName), UpdateAccessKey),
        IamOperations.DeleteAccessKey.Bind("iam:DeleteAccessKey", (r, ctx) => SelfOrUser(ctx, r.UserName), DeleteAccessKey),
        IamOperations.CreateGroup.Bind("iam:CreateGroup", (r, ctx) => Arn(ctx, "group", r.GroupName), CreateGroup),
        IamOperations.GetGroup.Bind("iam:GetGroup", (r, ctx) => Arn(ctx, "group", r.GroupName), GetGroup),
        IamOperations.ListGroups.Bind("iam:ListGroups", (_, ctx) => EveryOf(ctx, "group"), ListGroups),
        IamOperations.DeleteGroup.Bind("iam:DeleteGroup", (r, ctx) => Arn(ctx, "group", r.GroupName), DeleteGroup),
        IamOperations.AddUserToGroup.Bind("iam:AddUserToGroup", (r, ctx) => Arn(ctx, "group", r.GroupName), AddUserToGroup),
        IamOperations.RemoveUserFromGroup.Bind("iam:RemoveUserFromGroup", (r, ctx) => Arn(ctx, "group", r.GroupName), RemoveUserFromGroup),
        IamOperations.ListGroupsForUser.Bind("iam:ListGroupsForUser", (r, ctx) => Arn(ctx, "user", r.UserName), ListGroupsForUser),
        IamOperations.CreateRole.Bind("iam:CreateRole", (r, ctx) => Arn(ctx, "role", r.RoleName), CreateRole),
        IamOperations.GetRole.Bind("iam:GetRole", (r, ctx) => Arn(ctx, "role", r.RoleName), GetRole),
        IamOperations.ListRoles.Bind("iam:ListRoles", (_, ctx) => EveryOf(ctx, "role"), ListRoles),
        IamOperations.UpdateAssumeRolePolicy.Bind("iam:UpdateAssumeRolePolicy", (r, ctx) => Arn(ctx, "role", r.RoleName), UpdateAssumeRolePolicy),
        IamOperations.DeleteRole.Bind("iam:DeleteRole", (r, ctx) => Arn(ctx, "role", r.RoleName), DeleteRole),
        IamOperations.CreatePolicy.Bind("iam:CreatePolicy", (r, ctx) => Arn(ctx, "policy", r.PolicyName), CreatePolicy),
        IamOperations.GetPolicy.Bind("iam:GetPolicy", (r, _) => r.PolicyArn ?? "*", GetPolicy),
        IamOperations.ListPolicies.Bind("iam:ListPolicies", (_, ctx) => EveryOf(ctx, "policy"), ListPolicies),
        IamOperations.DeletePolicy.Bind("iam:DeletePolicy", (r, _) => r.PolicyArn ?? "*", DeletePolicy),
        IamOperations.CreatePolicyVersion.Bind("iam:CreatePolicyVersion", (r, _) => r.PolicyArn ?? "*", CreatePolicyVersion),
        IamOperations.GetPolicyVersion.Bind("iam:GetPolicyVersion", (r, _) => r.PolicyArn ?? "*", GetPolicyVersion),
        IamOperations.ListPolicyVersions.Bind("iam:ListPolicyVersions", (r, _) => r.PolicyArn ?? "*", ListPolicyVersions),
        IamOperations.DeletePolicyVersion.Bind("iam:DeletePolicyVersion", (r, _) => r.PolicyArn ?? "*", DeletePolicyVersion),

        IamOperations.AttachUserPolicy.Bind("iam:AttachUserPolicy", (r, ctx) => Arn(ctx, "user", r.UserName), AttachUserPolicy),
        IamOperations.DetachUserPolicy.Bind("iam:DetachUserPolicy", (r, ctx) => Arn(ctx, "user", r.UserName), DetachUserPolicy),
        IamOperations.ListAttachedUserPolicies.Bind("iam:ListAttachedUserPolicies", (r, ctx) => Arn(ctx, "user", r.UserName), ListAttachedUserPolicies),
        IamOperations.PutUserPolicy.Bind("iam:PutUserPolicy", (r, ctx) => Arn(ctx, "user", r.UserName), PutUserPolicy),
        IamOperations.GetUserPolicy.Bind("iam:GetUserPolicy", (r, ctx) => Arn(ctx, "user", r.UserName), GetUserPolicy),
        IamOperations.DeleteUserPolicy.Bind("iam:DeleteUserPolicy", (r, ctx) => Arn(ctx, "user", r.UserName), DeleteUserPolicy),
        IamOperations.ListUserPolicies.Bind("iam:ListUserPolicies", (r, ctx) => Arn(ctx, "user", r.UserName), ListUserPolicies),

        IamOperations.AttachGroupPolicy.Bind("iam:AttachGroupPolicy", (r, ctx) => Arn(ctx, "group", r.GroupName), AttachGroupPolicy),
        IamOperations.DetachGroupPolicy.Bind("iam:DetachGroupPolicy", (r, ctx) => Arn(ctx, "group", r.GroupName), DetachGroupPolicy),
        IamOperations.ListAttachedGroupPolicies.Bind("iam:ListAttachedGroupPolicies", (r, ctx) => Arn(ctx, "group", r.GroupName), ListAttachedGroupPolicies),
        IamOperations.PutGroupPolicy.Bind("iam:PutGroupPolicy", (r, ctx) => Arn(ctx, "group", r.GroupName), PutGroupPolicy),
        IamOperations.GetGroupPolicy.Bind("iam:GetGroupPolicy", (r, ctx) => Arn(ctx, "group", r.GroupName), GetGroupPolicy),
        IamOperations.DeleteGroupPolicy.Bind("iam:DeleteGroupPolicy", (r, ctx) => Arn(ctx, "group", r.GroupName), DeleteGroupPolicy),
        IamOperations.ListGroupPolicies.Bind("iam:ListGroupPolicies", (r, ctx) => Arn(ctx, "group", r.GroupName), ListGroupPolicies),

        IamOperations.AttachRolePolicy.Bind("iam:AttachRolePolicy", (r, ctx) => Arn(ctx, "role", r.RoleName), AttachRolePolicy),
        IamOperations.DetachRolePolicy.Bind("iam:DetachRolePolicy", (r, ctx) => Arn(ctx, "role", r.RoleName), DetachRolePolicy),
        IamOperations.ListAttachedRolePolicies.Bind("iam:ListAttachedRolePolicies", (r, ctx) => Arn(ctx, "role", r.RoleName), ListAttachedRolePolicies),
        IamOperations.PutRolePolicy.Bind("iam:PutRolePolicy", (r, ctx) => Arn(ctx, "role", r.RoleName), PutRolePolicy),
        IamOperations.GetRolePolicy.Bind("iam:GetRolePolicy", (r, ctx) => Arn(ctx, "role", r.RoleName), GetRolePolicy),
        IamOperations.DeleteRolePolicy.Bind("iam:DeleteRolePolicy", (r, ctx) => Arn(ctx, "role", r.RoleName), DeleteRolePolicy),
        IamOperations.ListRolePolicies.Bind("iam:ListRolePolicies", (r, ctx) => Arn(ctx, "role", r.RoleName), ListRolePolicies),

        IamOperations.PutUserPermissionsBoundary.Bind("iam:PutUserPermissionsBoundary", (r, ctx) => Arn(ctx, "user", r.UserName), PutUserPermissionsBoundary),
        IamOperations.DeleteUserPermissionsBoundary.Bind("iam:DeleteUserPermissionsBoundary", (r, ctx) => Arn(ctx, "user", r.UserName), DeleteUserPermissionsBoundary),
        IamOperations.PutRolePermissionsBoundary.Bind("iam:PutRolePermissionsBoundary", (r, ctx) => Arn(ctx, "role", r.RoleName), PutRolePermissionsBoundary),
        IamOperations.DeleteRolePermissionsBoundary.Bind("iam:DeleteRolePermissionsBoundary", (r, ctx) => Arn(ctx, "role", r.RoleName), DeleteRolePermissionsBoundary),
        IamOperations.SimulatePrincipalPolicy.Bind("iam:SimulatePrincipalPolicy", (r, _) => r.PolicySourceArn ?? "*", SimulatePrincipalPolicy),
        IamOperations.SimulateCustomPolicy.Bind("iam:SimulateCustomPolicy", (_, _) => "*", SimulateCustomPolicy),
    ];

    // ---- resources (functions of the request and the caller, without side effects) ----

    static string Arn(RequestContext ctx, string type, string? name) => $"arn:aws:iam::{ctx.Principal.AccountId}:{type}/{name ?? ""}";

    static string EveryOf(RequestContext ctx, string type) => $"arn:aws:iam::{ctx.Principal.AccountId}:{type}/*";

    /// <summary>Operations on a user that default to the caller (a user managing its own keys).</summary>
    static string SelfOrUser(RequestContext ctx, string? name) => name is not null ? Arn(ctx, "user", name) : ctx.Principal.Arn;

    // ---- what users, groups and roles share ----

    enum Kind { User, Group, Role }

    static string Table(Kind kind) => kind switch { Kind.User => IamStore.Users, Kind.Group => IamStore.Groups, _ => IamStore.Roles };
    static string Noun(Kind kind) => kind.ToString().ToLowerInvariant();

    static EntityNotFound NoSuch(Kind kind, string name) => EntityNotFound.Entity(Noun(kind), name);

    static T Require<T>(IStateReader r, Kind kind, string account, string name) where T : IamEntity
        => IamStore.Get<T>(r, Table(kind), account, name) ?? throw NoSuch(kind, name);

    static IamEntity Require(IStateReader r, Kind kind, string account, string name) => kind switch
    {
        Kind.User => Require<IamUser>(r, kind, account, name),
        Kind.Group => Require<IamGroup>(r, kind, account, name),
        _ => Require<IamRole>(r, kind, account, name),
    };

    static void Save(IStateWriter w, string account, IamEntity entity)
    {
        switch (entity)
        {
            case IamUser u: IamStore.Put(w, IamStore.Users, account, u.Name, u); break;
            case IamGroup g: IamStore.Put(w, IamStore.Groups, account, g.Name, g); break;
            case IamRole r: IamStore.Put(w, IamStore.Roles, account, r.Name, r); break;
        }
    }

    // ---- checks the model does not make ----

    [GeneratedRegex(@"^[\w+=,.@-]+$")]
    private static partial Regex NamePattern();

    /// <summary>A name being created (the model has checked that it is there and its length).</summary>
    static string CheckName(string? name, string member)
    {
        if (!NamePattern().IsMatch(name!)) throw QueryProtocol.Invalid(member, name, @"Member must satisfy regular expression pattern: [\w+=,.@-]+");
        return name!;
    }

    static string CheckPath(string? path)
    {
        path ??= "/";
        if (!path.StartsWith('/') || !path.EndsWith('/') || path.Length > 512)
            throw QueryProtocol.Invalid("Path", path, @"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)");
        return path;
    }

    /// <summary>Parses a policy document being stored, as IAM does on write.</summary>
    static string Document(string? json, PolicyKind kind)
    {
        try { PolicyDocument.Parse(json!, kind); }
        catch (MalformedPolicyException e) { throw new MalformedPolicy(e.Message); }
        return json!;
    }

    static List<IamTag> TagsIn(List<Tag>? tags) => tags?.Select(t => new IamTag(t.Key ?? "", t.Value ?? "")).ToList() ?? [];

    /// <summary>Marker pagination over an ordered list: the page, and the marker of the next.</summary>
    static (List<T> Page, string? Marker) Page<T>(IReadOnlyList<T> items, Func<T, string> key, int? maxItems, string? marker)
    {
        var max = maxItems ?? 100;
        var start = 0;
        if (marker is not null)
        {
            start = items.Count;
            for (var i = 0; i < items.Count; i++)
                if (string.CompareOrdinal(key(items[i]), marker) >= 0) { start = i; break; }
        }
        var page = items.Skip(start).Take(max).ToList();
        var next = start + max < items.Count ? key(items[start + max]) : null;
        return (page, next);
    }

    // ---- the wire shapes of stored entities ----

    static string Encode(string document) => Uri.EscapeDataString(document);

    static List<Tag>? TagsOf(List<IamTag> tags) => tags.Count > 0 ? tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList() : null;

    static AttachedPermissionsBoundary? BoundaryOf(string? arn)
        => arn is null ? null : new() { PermissionsBoundaryType = "PermissionsBoundaryPolicy", PermissionsBoundaryArn = arn };

    static User UserOf(IamUser user) => new()
    {
        Path = user.Path,
        UserName = user.Name,
        UserId = user.Id,
        Arn = user.Arn,
        CreateDate = user.CreateDate,
        PermissionsBoundary = BoundaryOf(user.PermissionsBoundary),
        Tags = TagsOf(user.Tags),
    };

    static GroupShape GroupOf(IamGroup group) => new() { Path = group.Path, GroupName = group.Name, GroupId = group.Id, Arn = group.Arn, CreateDate = group.CreateDate };

    static Role RoleOf(IamRole role) => new()
    {
        Path = role.Path,
        RoleName = role.Name,
        RoleId = role.Id,
        Arn = role.Arn,
        CreateDate = role.CreateDate,
        AssumeRolePolicyDocument = Encode(role.AssumeRolePolicyDocument),
        Description = role.Description,
        MaxSessionDuration = role.MaxSessionDuration,
        PermissionsBoundary = BoundaryOf(role.PermissionsBoundary),
        Tags = TagsOf(role.Tags),
    };

    static Policy PolicyOf(IamPolicy policy) => new()
    {
        PolicyName = policy.PolicyName,
        PolicyId = policy.PolicyId,
        Arn = policy.Arn,
        Path = policy.Path,
        DefaultVersionId = policy.DefaultVersionId,
        AttachmentCount = policy.AttachmentCount,
        PermissionsBoundaryUsageCount = policy.PermissionsBoundaryUsageCount,
        IsAttachable = true,
        Description = policy.Description,
        CreateDate = policy.CreateDate,
        UpdateDate = policy.UpdateDate,
        Tags = TagsOf(policy.Tags),
    };

    static PolicyVersion VersionOf(IamPolicy policy, IamPolicyVersion version, bool document) => new()
    {
        Document = document ? Encode(version.Document) : null,
        VersionId = version.VersionId,
        IsDefaultVersion = version.VersionId == policy.DefaultVersionId,
        CreateDate = version.CreateDate,
    };

    // ---- users ----

    CreateUserResponse CreateUser(CreateUserRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = CheckName(request.UserName, "UserName");
        var path = CheckPath(request.Path);
        var boundary = request.PermissionsBoundary;
        var user = store.Write(w =>
        {
            if (IamStore.Get<IamUser>(w, IamStore.Users, account, name) is not null) throw EntityAlreadyExists.Entity("User", name);
            if (boundary is not null) UseBoundary(w, boundary, +1);
            var user = new IamUser
            {
                Name = name,
                Id = IamStore.NewId("AIDA"),
                Arn = $"arn:aws:iam::{account}:user{path}{name}",
                Path = path,
                CreateDate = clock.GetUtcNow(),
                PermissionsBoundary = boundary,
                Tags = TagsIn(request.Tags),
            };
            IamStore.Put(w, IamStore.Users, account, name, user);
            return user;
        });
        return new() { User = UserOf(user) };
    }

    GetUserResponse GetUser(GetUserRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = request.UserName ?? (ctx.Principal.Type == PrincipalType.User ? ctx.Principal.EntityName : null);
        if (name is null)
        {
            // The account's root: IAM answers with the account as the user.
            var created = credentials.FindAccount(account)?.CreatedAt ?? clock.GetUtcNow();
            return new() { User = new User { UserId = account, Arn = $"arn:aws:iam::{account}:root", CreateDate = created } };
        }
        return new() { User = UserOf(store.Read(r => Require<IamUser>(r, Kind.User, account, name))) };
    }

    ListUsersResponse ListUsers(ListUsersRequest request, RequestContext ctx)
    {
        var (page, marker) = ListEntities<IamUser>(ctx, IamStore.Users, request.PathPrefix, request.MaxItems, request.Marker);
        return new() { Users = page.Select(UserOf).ToList(), IsTruncated = marker is not null, Marker = marker };
    }

    /// <summary>ListUsers, ListGroups, ListRoles: the account's entities under the path prefix, by name, in pages.</summary>
    (List<T> Page, string? Marker) ListEntities<T>(RequestContext ctx, string table, string? pathPrefix, int? maxItems, string? marker) where T : IamEntity
    {
        var prefix = pathPrefix ?? "/";
        var entities = store.Read(r => IamStore.List<T>(r, table, ctx.Principal.AccountId)).Where(e => e.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        return Page(entities, e => e.Name.ToLowerInvariant(), maxItems, marker);
    }

    void DeleteUser(DeleteUserRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = request.UserName!;
        store.Write(w =>
        {
            var user = Require<IamUser>(w, Kind.User, account, name);
            if (user.InlinePolicies.Count > 0) throw new DeleteConflict("Cannot delete entity, must delete policies first.");
            if (user.AttachedPolicies.Count > 0) throw new DeleteConflict("Cannot delete entity, must detach all policies first.");
            if (UserKeys(w, account, name).Count > 0) throw new DeleteConflict("Cannot delete entity, must delete access keys first.");
            if (user.Groups.Count > 0) throw new DeleteConflict("Cannot delete entity, must remove user from all groups first.");
            if (user.PermissionsBoundary is { } b) UseBoundary(w, b, -1);
            w.Delete(IamStore.Users, IamStore.Key(account, name));
            return 0;
        });
    }

    // ---- access keys ----

    const string UserKeysTable = "iam-user-keys";

    static List<AccessKeyRecord> UserKeys(IStateReader r, string account, string user)
        => r.Scan(UserKeysTable, IamStore.Key(account, user) + "/", null, int.MaxValue)
            .Select(kv => CredentialStore.GetKey(r, kv.Key[(kv.Key.LastIndexOf('/') + 1)..])).OfType<AccessKeyRecord>().ToList();

    /// <summary>The user an access-key operation is about: the named one, or the calling user.</summary>
    static string KeyOwner(RequestContext ctx, string? userName)
        => userName ?? (ctx.Principal.Type == PrincipalType.User ? ctx.Principal.EntityName! : throw new AwsException("ValidationError", 400,
            "Must specify userName when calling with non-User credentials"));

    CreateAccessKeyResponse CreateAccessKey(CreateAccessKeyRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx, request.UserName);
        var key = store.Write(w =>
        {
            var user = Require<IamUser>(w, Kind.User, account, name);
            if (UserKeys(w, account, name).Count >= MaxAccessKeysPerUser)
                throw new LimitExceeded($"Cannot exceed quota for AccessKeysPerUser: {MaxAccessKeysPerUser}");
            var key = new AccessKeyRecord(CredentialStore.NewKeyId(false), CredentialStore.NewSecret(), account, PrincipalType.User, user.Arn, "Active",
                clock.GetUtcNow(), UserName: user.Name, UserId: user.Id);
            CredentialStore.PutKey(w, key);
            w.Put(UserKeysTable, IamStore.Key(account, name) + "/" + key.AccessKeyId, "");
            return key;
        });
        credentials.Forget(key.AccessKeyId);
        return new()
        {
            AccessKey = new AccessKey
            {
                UserName = key.UserName,
                AccessKeyId = key.AccessKeyId,
                Status = key.Status,
                SecretAccessKey = key.SecretAccessKey,
                CreateDate = key.CreatedAt,
            },
        };
    }

    ListAccessKeysResponse ListAccessKeys(ListAccessKeysRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx, request.UserName);
        var keys = store.Read(r =>
        {
            Require<IamUser>(r, Kind.User, account, name);
            return UserKeys(r, account, name);
        });
        var (page, marker) = Page(keys, k => k.AccessKeyId, request.MaxItems, request.Marker);
        return new()
        {
            AccessKeyMetadata = page.Select(k => new AccessKeyMetadata
            {
                UserName = k.UserName,
                AccessKeyId = k.AccessKeyId,
                Status = k.Status,
                CreateDate = k.CreatedAt,
            }).ToList(),
            IsTruncated = marker is not null,
            Marker = marker,
        };
    }

    static AccessKeyRecord RequireKey(IStateReader r, string account, string user, string keyId)
    {
        Require<IamUser>(r, Kind.User, account, user);
        var key = CredentialStore.GetKey(r, keyId);
        if (key is null || key.AccountId != account || !string.Equals(key.UserName, user, StringComparison.OrdinalIgnoreCase) || key.SessionToken is not null)
            throw EntityNotFound.AccessKey(keyId);
        return key;
    }

    void UpdateAccessKey(UpdateAccessKeyRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx, request.UserName);
        var keyId = request.AccessKeyId!;
        // The model also lists Expired, which is not a status a caller may set.
        var status = request.Status!;
        if (status is not ("Active" or "Inactive"))
            throw QueryProtocol.Invalid("Status", status, "Member must satisfy enum value set: [Active, Inactive]");
        store.Write(w =>
        {
            CredentialStore.PutKey(w, RequireKey(w, account, name, keyId) with { Status = status });
            return 0;
        });
        credentials.Forget(keyId);
    }

    void DeleteAccessKey(DeleteAccessKeyRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx, request.UserName);
        var keyId = request.AccessKeyId!;
        store.Write(w =>
        {
            RequireKey(w, account, name, keyId);
            CredentialStore.DeleteKey(w, keyId);
            w.Delete(UserKeysTable, IamStore.Key(account, name) + "/" + keyId);
            return 0;
        });
        credentials.Forget(keyId);
    }

    // ---- groups ----

    CreateGroupResponse CreateGroup(CreateGroupRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = CheckName(request.GroupName, "GroupName");
        var path = CheckPath(request.Path);
        var group = store.Write(w =>
        {
            if (IamStore.Get<IamGroup>(w, IamStore.Groups, account, name) is not null) throw EntityAlreadyExists.Entity("Group", name);
            var group = new IamGroup { Name = name, Id = IamStore.NewId("AGPA"), Arn = $"arn:aws:iam::{account}:group{path}{name}", Path = path, CreateDate = clock.GetUtcNow() };
            IamStore.Put(w, IamStore.Groups, account, name, group);
            return group;
        });
        return new() { Group = GroupOf(group) };
    }

    GetGroupResponse GetGroup(GetGroupRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (group, users) = store.Read(r =>
        {
            var group = Require<IamGroup>(r, Kind.Group, account, request.GroupName!);
            return (group, group.Members.Select(m => IamStore.Get<IamUser>(r, IamStore.Users, account, m)).OfType<IamUser>().OrderBy(u => u.Name.ToLowerInvariant(), StringComparer.Ordinal).ToList());
        });
        var (page, marker) = Page(users, u => u.Name.ToLowerInvariant(), request.MaxItems, request.Marker);
        return new() { Group = GroupOf(group), Users = page.Select(UserOf).ToList(), IsTruncated = marker is not null, Marker = marker };
    }

    ListGroupsResponse ListGroups(ListGroupsRequest request, RequestContext ctx)
    {
        var (page, marker) = ListEntities<IamGroup>(ctx, IamStore.Groups, request.PathPrefix, request.MaxItems, request.Marker);
        return new() { Groups = page.Select(GroupOf).ToList(), IsTruncated = marker is not null, Marker = marker };
    }

    void DeleteGroup(DeleteGroupRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = request.GroupName!;
        store.Write(w =>
        {
            var group = Require<IamGroup>(w, Kind.Group, account, name);
            if (group.Members.Count > 0) throw new DeleteConflict("Cannot delete entity, must remove users from group first.");
            if (group.InlinePolicies.Count > 0) throw new DeleteConflict("Cannot delete entity, must delete policies first.");
            if (group.AttachedPolicies.Count > 0) throw new DeleteConflict("Cannot delete entity, must detach all policies first.");
            w.Delete(IamStore.Groups, IamStore.Key(account, name));
            return 0;
        });
    }

    void AddUserToGroup(AddUserToGroupRequest request, RequestContext ctx) => Membership(ctx, request.GroupName!, request.UserName!, add: true);

    void RemoveUserFromGroup(RemoveUserFromGroupRequest request, RequestContext ctx) => Membership(ctx, request.GroupName!, request.UserName!, add: false);

    void Membership(RequestContext ctx, string groupName, string userName, bool add)
    {
        var account = ctx.Principal.AccountId;
        store.Write(w =>
        {
            var group = Require<IamGroup>(w, Kind.Group, account, groupName);
            var user = Require<IamUser>(w, Kind.User, account, userName);
            group.Members.RemoveAll(m => string.Equals(m, user.Name, StringComparison.OrdinalIgnoreCase));
            user.Groups.RemoveAll(g => string.Equals(g, group.Name, StringComparison.OrdinalIgnoreCase));
            if (add)
            {
                group.Members.Add(user.Name);
                user.Groups.Add(group.Name);
            }
            Save(w, account, group);
            Save(w, account, user);
            return 0;
        });
    }

    ListGroupsForUserResponse ListGroupsForUser(ListGroupsForUserRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var groups = store.Read(r =>
        {
            var user = Require<IamUser>(r, Kind.User, account, request.UserName!);
            return user.Groups.Select(g => IamStore.Get<IamGroup>(r, IamStore.Groups, account, g)).OfType<IamGroup>().OrderBy(g => g.Name.ToLowerInvariant(), StringComparer.Ordinal).ToList();
        });
        var (page, marker) = Page(groups, g => g.Name.ToLowerInvariant(), request.MaxItems, request.Marker);
        return new() { Groups = page.Select(GroupOf).ToList(), IsTruncated = marker is not null, Marker = marker };
    }

    // ---- roles ----

    /// <summary>The model checks the description's length and the session duration's range (3600–43200 s).</summary>
    CreateRoleResponse CreateRole(CreateRoleRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = CheckName(request.RoleName, "RoleName");
        var path = CheckPath(request.Path);
        var trust = Document(request.AssumeRolePolicyDocument, PolicyKind.Trust);
        var boundary = request.PermissionsBoundary;
        var role = store.Write(w =>
        {
            if (IamStore.Get<IamRole>(w, IamStore.Roles, account, name) is not null) throw EntityAlreadyExists.Entity("Role", name);
            if (boundary is not null) UseBoundary(w, boundary, +1);
            var role = new IamRole
            {
                Name = name,
                Id = IamStore.NewId("AROA"),
                Arn = $"arn:aws:iam::{account}:role{path}{name}",
                Path = path,
                CreateDate = clock.GetUtcNow(),
                AssumeRolePolicyDocument = trust,
                Description = request.Description,
                MaxSessionDuration = request.MaxSessionDuration ?? 3600,
                PermissionsBoundary = boundary,
                Tags = TagsIn(request.Tags),
            };
            IamStore.Put(w, IamStore.Roles, account, name, role);
            return role;
        });
        return new() { Role = RoleOf(role) };
    }

    GetRoleResponse GetRole(GetRoleRequest request, RequestContext ctx)
        => new() { Role = RoleOf(store.Read(r => Require<IamRole>(r, Kind.Role, ctx.Principal.AccountId, request.RoleName!))) };

    ListRolesResponse ListRoles(ListRolesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListEntities<IamRole>(ctx, IamStore.Roles, request.PathPrefix, request.MaxItems, request.Marker);
        return new() { Roles = page.Select(RoleOf).ToList(), IsTruncated = marker is not null, Marker = marker };
    }

    void UpdateAssumeRolePolicy(UpdateAssumeRolePolicyRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = request.RoleName!;
        var trust = Document(request.PolicyDocument, PolicyKind.Trust);
        store.Write(w =>
        {
            var role = Require<IamRole>(w, Kind.Role, account, name);
            role.AssumeRolePolicyDocument = trust;
            Save(w, account, role);
            return 0;
        });
    }

    void DeleteRole(DeleteRoleRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = request.RoleName!;
        store.Write(w =>
        {
            var role = Require<IamRole>(w, Kind.Role, account, name);
            if (role.InlinePolicies.Count > 0) throw new DeleteConflict("Cannot delete entity, must delete policies first.");
            if (role.AttachedPolicies.Count > 0) throw new DeleteConflict("Cannot delete entity, must detach all policies first.");
            if (role.PermissionsBoundary is { } b) UseBoundary(w, b, -1);
            w.Delete(IamStore.Roles, IamStore.Key(account, name));
            return 0;
        });
    }

    // ---- managed policies ----

    static IamPolicy RequirePolicy(IStateReader r, string arn)
    {
        if (IamStore.ParsePolicyArn(arn) is null && AwsManagedPolicies.Find(arn) is null && !arn.StartsWith("arn:aws:iam::aws:policy/", StringComparison.Ordinal))
            throw new InvalidInput($"ARN {arn} is not valid.");
        return IamStore.GetPolicy(r, arn) ?? throw EntityNotFound.Policy(arn);
    }

    /// <summary>A customer managed policy of the caller's account (AWS managed ones are read-only;
    /// IAM's model declares no error for that, so it is the plain AccessDenied IAM answers).</summary>
    static IamPolicy RequireOwnPolicy(IStateReader r, string arn, string account)
    {
        var policy = RequirePolicy(r, arn);
        if (AwsManagedPolicies.Find(arn) is not null || IamStore.ParsePolicyArn(arn)?.Account != account)
            throw new AwsException("AccessDenied", 403, $"User is not authorized to modify the AWS managed policy {arn}.");
        return policy;
    }

    static void SavePolicy(IStateWriter w, IamPolicy policy)
        => IamStore.Put(w, IamStore.Policies, IamStore.ParsePolicyArn(policy.Arn)!.Value.Account, policy.PolicyName, policy);

    CreatePolicyResponse CreatePolicy(CreatePolicyRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = CheckName(request.PolicyName, "PolicyName");
        var path = CheckPath(request.Path);
        var document = Document(request.PolicyDocument, PolicyKind.Identity);
        var now = clock.GetUtcNow();
        var policy = store.Write(w =>
        {
            if (IamStore.Get<IamPolicy>(w, IamStore.Policies, account, name) is not null) throw EntityAlreadyExists.Policy(name);
            var policy = new IamPolicy
            {
                PolicyName = name,
                PolicyId = IamStore.NewId("ANPA"),
                Arn = $"arn:aws:iam::{account}:policy{path}{name}",
                Path = path,
                Description = request.Description,
                CreateDate = now,
                UpdateDate = now,
                Versions = [new IamPolicyVersion("v1", document, now)],
                Tags = TagsIn(request.Tags),
            };
            IamStore.Put(w, IamStore.Policies, account, name, policy);
            return policy;
        });
        return new() { Policy = PolicyOf(policy) };
    }

    GetPolicyResponse GetPolicy(GetPolicyRequest request, RequestContext ctx)
        => new() { Policy = PolicyOf(store.Read(r => RequirePolicy(r, request.PolicyArn!))) };

    /// <summary>The model checks the scope against its enum (All, AWS, Local).</summary>
    ListPoliciesResponse ListPolicies(ListPoliciesRequest request, RequestContext ctx)
    {
        var scope = request.Scope ?? "All";
        var onlyAttached = request.OnlyAttached ?? false;
        var prefix = request.PathPrefix ?? "/";
        var own = store.Read(r => IamStore.List<IamPolicy>(r, IamStore.Policies, ctx.Principal.AccountId));
        // AWS managed policies' attachment counts are per account: count this account's uses.
        var all = (scope == "Local" ? [] : AwsManagedPolicies.All.Select(p => WithAccountCounts(p, ctx.Principal.AccountId)))
            .Concat(scope == "AWS" ? [] : own)
            .Where(p => p.Path.StartsWith(prefix, StringComparison.Ordinal) && (!onlyAttached || p.AttachmentCount > 0))
            .OrderBy(p => p.Arn, StringComparer.Ordinal).ToList();
        var (page, marker) = Page(all, p => p.Arn, request.MaxItems, request.Marker);
        return new() { Policies = page.Select(PolicyOf).ToList(), IsTruncated = marker is not null, Marker = marker };
    }

    IamPolicy WithAccountCounts(IamPolicy managed, string account)
    {
        var count = store.Read(r => new[] { IamStore.Users, IamStore.Groups, IamStore.Roles }
            .Sum(t => r.Scan(t, account + "/", null, int.MaxValue).Count(kv => kv.Value.Contains(managed.Arn, StringComparison.Ordinal))));
        return new IamPolicy
        {
            PolicyName = managed.PolicyName,
            PolicyId = managed.PolicyId,
            Arn = managed.Arn,
            Path = managed.Path,
            DefaultVersionId = managed.DefaultVersionId,
            Description = managed.Description,
            CreateDate = managed.CreateDate,
            UpdateDate = managed.UpdateDate,
            Versions = managed.Versions,
            AttachmentCount = count,
        };
    }

    void DeletePolicy(DeletePolicyRequest request, RequestContext ctx)
    {
        var arn = request.PolicyArn!;
        store.Write(w =>
        {
            var policy = RequireOwnPolicy(w, arn, ctx.Principal.AccountId);
            if (policy.AttachmentCount > 0 || policy.PermissionsBoundaryUsageCount > 0)
                throw new DeleteConflict("Cannot delete a policy attached to entities.");
            if (policy.Versions.Count > 1)
                throw new DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
            w.Delete(IamStore.Policies, IamStore.Key(ctx.Principal.AccountId, policy.PolicyName));
            return 0;
        });
    }

    CreatePolicyVersionResponse CreatePolicyVersion(CreatePolicyVersionRequest request, RequestContext ctx)
    {
        var arn = request.PolicyArn!;
        var document = Document(request.PolicyDocument, PolicyKind.Identity);
        var setDefault = request.SetAsDefault ?? false;
        var (policy, version) = store.Write(w =>
        {
            var policy = RequireOwnPolicy(w, arn, ctx.Principal.AccountId);
            if (policy.Versions.Count >= MaxPolicyVersions)
                throw new LimitExceeded($"A managed policy can have up to {MaxPolicyVersions} versions. Before you create a new version, you must delete an existing version.");
            var version = new IamPolicyVersion($"v{policy.NextVersion++}", document, clock.GetUtcNow());
            policy.Versions.Add(version);
            if (setDefault) policy.DefaultVersionId = version.VersionId;
            policy.UpdateDate = version.CreateDate;
            SavePolicy(w, policy);
            return (policy, version);
        });
        return new() { PolicyVersion = VersionOf(policy, version, document: false) };
    }

    GetPolicyVersionResponse GetPolicyVersion(GetPolicyVersionRequest request, RequestContext ctx)
    {
        var arn = request.PolicyArn!;
        var versionId = request.VersionId!;
        var policy = store.Read(r => RequirePolicy(r, arn));
        var version = policy.Versions.FirstOrDefault(v => v.VersionId == versionId) ?? throw EntityNotFound.PolicyVersion(arn, versionId);
        return new() { PolicyVersion = VersionOf(policy, version, document: true) };
    }

    ListPolicyVersionsResponse ListPolicyVersions(ListPolicyVersionsRequest request, RequestContext ctx)
    {
        var policy = store.Read(r => RequirePolicy(r, request.PolicyArn!));
        var versions = policy.Versions.OrderByDescending(v => int.Parse(v.VersionId[1..], System.Globalization.CultureInfo.InvariantCulture));
        return new() { Versions = versions.Select(v => VersionOf(policy, v, document: false)).ToList(), IsTruncated = false };
    }

    void DeletePolicyVersion(DeletePolicyVersionRequest request, RequestContext ctx)
    {
        var arn = request.PolicyArn!;
        var versionId = request.VersionId!;
        store.Write(w =>
        {
            var policy = RequireOwnPolicy(w, arn, ctx.Principal.AccountId);
            if (policy.Versions.All(v => v.VersionId != versionId)) throw EntityNotFound.PolicyVersion(arn, versionId);
            if (policy.DefaultVersionId == versionId) throw new DeleteConflict("Cannot delete the default version of a policy.");
            policy.Versions.RemoveAll(v => v.VersionId == versionId);
            SavePolicy(w, policy);
            return 0;
        });
    }

    /// <summary>Counts a policy's use as a boundary (customer managed policies keep the count).</summary>
    static void UseBoundary(IStateWriter w, string arn, int delta)
    {
        var policy = IamStore.GetPolicy(w, arn) ?? throw EntityNotFound.AttachablePolicy(arn);
        if (AwsManagedPolicies.Find(arn) is not null) return;
        policy.PermissionsBoundaryUsageCount = Math.Max(0, policy.PermissionsBoundaryUsageCount + delta);
        SavePolicy(w, policy);
    }

    // ---- attached and inline policies of users, groups and roles ----

    void AttachUserPolicy(AttachUserPolicyRequest request, RequestContext ctx) => Attach(ctx, Kind.User, request.UserName!, request.PolicyArn!, attach: true);
    void DetachUserPolicy(DetachUserPolicyRequest request, RequestContext ctx) => Attach(ctx, Kind.User, request.UserName!, request.PolicyArn!, attach: false);
    void AttachGroupPolicy(AttachGroupPolicyRequest request, RequestContext ctx) => Attach(ctx, Kind.Group, request.GroupName!, request.PolicyArn!, attach: true);
    void DetachGroupPolicy(DetachGroupPolicyRequest request, RequestContext ctx) => Attach(ctx, Kind.Group, request.GroupName!, request.PolicyArn!, attach: false);
    void AttachRolePolicy(AttachRolePolicyRequest request, RequestContext ctx) => Attach(ctx, Kind.Role, request.RoleName!, request.PolicyArn!, attach: true);
    void DetachRolePolicy(DetachRolePolicyRequest request, RequestContext ctx) => Attach(ctx, Kind.Role, request.RoleName!, request.PolicyArn!, attach: false);

    void Attach(RequestContext ctx, Kind kind, string name, string arn, bool attach)
    {
        var account = ctx.Principal.AccountId;
        store.Write(w =>
        {
            var entity = Require(w, kind, account, name);
            var policy = IamStore.GetPolicy(w, arn);
            if (policy is null || (IamStore.ParsePolicyArn(arn) is { } parsed && parsed.Account != account))
                throw EntityNotFound.AttachablePolicy(arn);
            var has = entity.AttachedPolicies.Contains(arn);
            if (attach == has)
            {
                if (!attach) throw EntityNotFound.Policy(arn);
                return 0; // attaching twice changes nothing, as in IAM
            }
            if (attach) entity.AttachedPolicies.Add(arn);
            else entity.AttachedPolicies.Remove(arn);
            Save(w, account, entity);
            if (AwsManagedPolicies.Find(arn) is null)
            {
                policy.AttachmentCount += attach ? 1 : -1;
                SavePolicy(w, policy);
            }
            return 0;
        });
    }

    ListAttachedUserPoliciesResponse ListAttachedUserPolicies(ListAttachedUserPoliciesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListAttached(ctx, Kind.User, request.UserName!, request.PathPrefix, request.MaxItems, request.Marker);
        return new() { AttachedPolicies = page, IsTruncated = marker is not null, Marker = marker };
    }

    ListAttachedGroupPoliciesResponse ListAttachedGroupPolicies(ListAttachedGroupPoliciesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListAttached(ctx, Kind.Group, request.GroupName!, request.PathPrefix, request.MaxItems, request.Marker);
        return new() { AttachedPolicies = page, IsTruncated = marker is not null, Marker = marker };
    }

    ListAttachedRolePoliciesResponse ListAttachedRolePolicies(ListAttachedRolePoliciesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListAttached(ctx, Kind.Role, request.RoleName!, request.PathPrefix, request.MaxItems, request.Marker);
        return new() { AttachedPolicies = page, IsTruncated = marker is not null, Marker = marker };
    }

    (List<AttachedPolicy> Page, string? Marker) ListAttached(RequestContext ctx, Kind kind, string name, string? pathPrefix, int? maxItems, string? marker)
    {
        var account = ctx.Principal.AccountId;
        var prefix = pathPrefix ?? "/";
        var attached = store.Read(r =>
        {
            var entity = Require(r, kind, account, name);
            return entity.AttachedPolicies.Select(a => IamStore.GetPolicy(r, a)).OfType<IamPolicy>()
                .Where(p => p.Path.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(p => p.Arn, StringComparer.Ordinal).ToList();
        });
        var (page, next) = Page(attached, p => p.Arn, maxItems, marker);
        return (page.Select(p => new AttachedPolicy { PolicyName = p.PolicyName, PolicyArn = p.Arn }).ToList(), next);
    }

    void PutUserPolicy(PutUserPolicyRequest request, RequestContext ctx) => PutInline(ctx, Kind.User, request.UserName!, request.PolicyName, request.PolicyDocument);
    void PutGroupPolicy(PutGroupPolicyRequest request, RequestContext ctx) => PutInline(ctx, Kind.Group, request.GroupName!, request.PolicyName, request.PolicyDocument);
    void PutRolePolicy(PutRolePolicyRequest request, RequestContext ctx) => PutInline(ctx, Kind.Role, request.RoleName!, request.PolicyName, request.PolicyDocument);

    void PutInline(RequestContext ctx, Kind kind, string name, string? policyName, string? policyDocument)
    {
        var account = ctx.Principal.AccountId;
        var checkedName = CheckName(policyName, "PolicyName");
        var document = Document(policyDocument, PolicyKind.Identity);
        store.Write(w =>
        {
            var entity = Require(w, kind, account, name);
            entity.InlinePolicies[checkedName] = document;
            Save(w, account, entity);
            return 0;
        });
    }

    GetUserPolicyResponse GetUserPolicy(GetUserPolicyRequest request, RequestContext ctx)
    {
        var (entity, document) = GetInline(ctx, Kind.User, request.UserName!, request.PolicyName!);
        return new() { UserName = entity.Name, PolicyName = request.PolicyName, PolicyDocument = Encode(document) };
    }

    GetGroupPolicyResponse GetGroupPolicy(GetGroupPolicyRequest request, RequestContext ctx)
    {
        var (entity, document) = GetInline(ctx, Kind.Group, request.GroupName!, request.PolicyName!);
        return new() { GroupName = entity.Name, PolicyName = request.PolicyName, PolicyDocument = Encode(document) };
    }

    GetRolePolicyResponse GetRolePolicy(GetRolePolicyRequest request, RequestContext ctx)
    {
        var (entity, document) = GetInline(ctx, Kind.Role, request.RoleName!, request.PolicyName!);
        return new() { RoleName = entity.Name, PolicyName = request.PolicyName, PolicyDocument = Encode(document) };
    }

    (IamEntity Entity, string Document) GetInline(RequestContext ctx, Kind kind, string name, string policyName)
    {
        var entity = store.Read(r => Require(r, kind, ctx.Principal.AccountId, name));
        var document = entity.InlinePolicies.GetValueOrDefault(policyName) ?? throw EntityNotFound.InlinePolicy(Noun(kind), policyName);
        return (entity, document);
    }

    void DeleteUserPolicy(DeleteUserPolicyRequest request, RequestContext ctx) => DeleteInline(ctx, Kind.User, request.UserName!, request.PolicyName!);
    void DeleteGroupPolicy(DeleteGroupPolicyRequest request, RequestContext ctx) => DeleteInline(ctx, Kind.Group, request.GroupName!, request.PolicyName!);
    void DeleteRolePolicy(DeleteRolePolicyRequest request, RequestContext ctx) => DeleteInline(ctx, Kind.Role, request.RoleName!, request.PolicyName!);

    void DeleteInline(RequestContext ctx, Kind kind, string name, string policyName)
    {
        var account = ctx.Principal.AccountId;
        store.Write(w =>
        {
            var entity = Require(w, kind, account, name);
            if (!entity.InlinePolicies.Remove(policyName)) throw EntityNotFound.InlinePolicy(Noun(kind), policyName);
            Save(w, account, entity);
            return 0;
        });
    }

    ListUserPoliciesResponse ListUserPolicies(ListUserPoliciesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListInline(ctx, Kind.User, request.UserName!, request.MaxItems, request.Marker);
        return new() { PolicyNames = page, IsTruncated = marker is not null, Marker = marker };
    }

    ListGroupPoliciesResponse ListGroupPolicies(ListGroupPoliciesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListInline(ctx, Kind.Group, request.GroupName!, request.MaxItems, request.Marker);
        return new() { PolicyNames = page, IsTruncated = marker is not null, Marker = marker };
    }

    ListRolePoliciesResponse ListRolePolicies(ListRolePoliciesRequest request, RequestContext ctx)
    {
        var (page, marker) = ListInline(ctx, Kind.Role, request.RoleName!, request.MaxItems, request.Marker);
        return new() { PolicyNames = page, IsTruncated = marker is not null, Marker = marker };
    }

    (List<string> Page, string? Marker) ListInline(RequestContext ctx, Kind kind, string name, int? maxItems, string? marker)
    {
        var entity = store.Read(r => Require(r, kind, ctx.Principal.AccountId, name));
        return Page(entity.InlinePolicies.Keys.ToList(), n => n, maxItems, marker);
    }

    // ---- permissions boundaries ----

    void PutUserPermissionsBoundary(PutUserPermissionsBoundaryRequest request, RequestContext ctx)
        => SetBoundary(ctx, Kind.User, request.UserName!, request.PermissionsBoundary!);

    void DeleteUserPermissionsBoundary(DeleteUserPermissionsBoundaryRequest request, RequestContext ctx)
        => SetBoundary(ctx, Kind.User, request.UserName!, null);

    void PutRolePermissionsBoundary(PutRolePermissionsBoundaryRequest request, RequestContext ctx)
        => SetBoundary(ctx, Kind.Role, request.RoleName!, request.PermissionsBoundary!);

    void DeleteRolePermissionsBoundary(DeleteRolePermissionsBoundaryRequest request, RequestContext ctx)
        => SetBoundary(ctx, Kind.Role, request.RoleName!, null);

    /// <summary>Sets (or, with null, removes) a user's or role's boundary, keeping the policies' counts.</summary>
    void SetBoundary(RequestContext ctx, Kind kind, string name, string? arn)
    {
        var account = ctx.Principal.AccountId;
        store.Write(w =>
        {
            var entity = Require(w, kind, account, name);
            var previous = entity is IamUser u ? u.PermissionsBoundary : ((IamRole)entity).PermissionsBoundary;
            if (arn is not null) UseBoundary(w, arn, +1);
            if (previous is not null) UseBoundary(w, previous, -1);
            if (entity is IamUser user) user.PermissionsBoundary = arn;
            else ((IamRole)entity).PermissionsBoundary = arn;
            Save(w, account, entity);
            return 0;
        });
    }

    // ---- the policy simulator ----

    SimulatePolicyResponse SimulatePrincipalPolicy(SimulatePrincipalPolicyRequest request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var source = request.PolicySourceArn!;
        var prefix = $"arn:aws:iam::{account}:";
        if (!source.StartsWith(prefix, StringComparison.Ordinal)) throw new InvalidInput($"Invalid Entity Arn: {source} does not clearly define entity type and name.");
        var rest = source[prefix.Length..];
        var slash = rest.IndexOf('/');
        var type = slash < 0 ? rest : rest[..slash];
        var entityName = rest[(rest.LastIndexOf('/') + 1)..];
        var principal = type switch
        {
            "user" => new Principal(PrincipalType.User, account, source, "", null, entityName),
            "role" => new Principal(PrincipalType.AssumedRole, account, source, "", null, entityName, source),
            _ => throw new InvalidInput($"Invalid Entity Arn: {source} does not clearly define entity type and name."),
        };
        _ = store.Read(r => Require(r, type == "user" ? Kind.User : Kind.Role, account, entityName));
        var resolved = store.PoliciesOf(principal);
        var identity = resolved.Identity.Concat(ParseInputs(request.PolicyInputList)).ToList();
        var boundaries = ParseInputs(request.PermissionsBoundaryPolicyInputList);
        var boundary = boundaries.Count > 0 ? Merge(boundaries) : resolved.Boundary;
        return Simulate(new RequestPrincipal(source, account, type == "role" ? source : null), identity, boundary,
            request.ActionNames, request.ResourceArns, request.ResourcePolicy, request.ResourceOwner, request.ContextEntries);
    }

    SimulatePolicyResponse SimulateCustomPolicy(SimulateCustomPolicyRequest request, RequestContext ctx)
    {
        var identity = ParseInputs(request.PolicyInputList);
        // The model requires the list; an empty one is as good as none.
        if (identity.Count == 0) throw QueryProtocol.Invalid("PolicyInputList", null, "Member must not be null");
        var boundaries = ParseInputs(request.PermissionsBoundaryPolicyInputList);
        // A resource policy's Principal element is matched against the caller, so AWS requires one
        // to be named: there is no principal of the call itself to stand in for it.
        if (request.ResourcePolicy is not null && request.CallerArn is null)
            throw new InvalidInput("CallerArn must be specified when ResourcePolicy is specified.");
        // The simulated caller belongs to the account its ARN names, which need not be this one
        // (AWS simulates a user of any account against a resource policy).
        var caller = request.CallerArn ?? $"arn:aws:iam::{ctx.Principal.AccountId}:user/simulated";
        return Simulate(new RequestPrincipal(caller, ArnAccount(caller) ?? ctx.Principal.AccountId), identity, boundaries.Count > 0 ? Merge(boundaries) : null,
            request.ActionNames, request.ResourceArns, request.ResourcePolicy, request.ResourceOwner, request.ContextEntries);
    }

    /// <summary>The account an ARN names (<c>arn:aws:iam::123456789012:root</c>), if it names one.</summary>
    static string? ArnAccount(string arn)
        => arn.Split(':') is [_, _, _, _, var account, ..] && account.Length == 12 && account.All(char.IsAsciiDigit) ? account : null;

    static List<PolicyDocument> ParseInputs(List<string>? documents) => documents?.Select(d => ParseInput(d, PolicyKind.Identity)).ToList() ?? [];

    /// <summary>A policy given to the simulator: the model declares InvalidInput for one that
    /// does not parse (MalformedPolicyDocument is for policies being stored).</summary>
    static PolicyDocument ParseInput(string json, PolicyKind kind)
    {
        try { return PolicyDocument.Parse(json, kind); }
        catch (MalformedPolicyException e) { throw new InvalidInput(e.Message); }
    }

    static PolicyDocument Merge(List<PolicyDocument> documents) => new("2012-10-17", documents.SelectMany(d => d.Statements).ToList());

    /// <summary>Every action × resource through the same evaluator the pipeline uses.</summary>
    static SimulatePolicyResponse Simulate(RequestPrincipal principal, List<PolicyDocument> identity, PolicyDocument? boundary,
        List<string>? actions, List<string>? resourceArns, string? resourcePolicyDocument, string? resourceOwner, List<ContextEntry>? contextEntries)
    {
        if (actions is not { Count: > 0 }) throw QueryProtocol.Invalid("ActionNames", null, "Member must not be null");
        var resources = resourceArns is { Count: > 0 } ? resourceArns : ["*"];
        var resourcePolicy = resourcePolicyDocument is { } rp ? ParseInput(rp, PolicyKind.Resource) : null;
        // Without a ResourceOwner, the resources (and their policy) belong to the caller's account.
        var owner = (resourceOwner is null ? null : ArnAccount(resourceOwner)) ?? principal.AccountId;
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in (contextEntries ?? []).TakeWhile(e => e.ContextKeyName is not null))
            context[entry.ContextKeyName!] = entry.ContextKeyValues ?? [];
        context.TryAdd("aws:PrincipalArn", [principal.Arn]);
        context.TryAdd("aws:PrincipalAccount", [principal.AccountId]);
        context.TryAdd("aws:username", [principal.Arn[(principal.Arn.LastIndexOf('/') + 1)..]]);
        var results = new List<EvaluationResult>();
        foreach (var action in actions)
            foreach (var resource in resources)
            {
                var result = Evaluator.Authorize(new AuthorizationRequest(new PolicyRequest(action, resource, context), principal, owner, identity, resourcePolicy, boundary));
                results.Add(new EvaluationResult
                {
                    EvalActionName = action,
                    EvalResourceName = resource,
                    EvalDecision = result.Decision switch
                    {
                        Decision.Allow => "allowed",
                        Decision.ExplicitDeny => "explicitDeny",
                        _ => "implicitDeny",
                    },
                });
            }
        return new() { EvaluationResults = results, IsTruncated = false };
    }
}
