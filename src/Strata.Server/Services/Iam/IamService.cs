using System.Text.RegularExpressions;
using System.Xml;
using Strata.Policy;
using Strata.Server.Identity;
using Strata.Server.Protocol;
using Strata.Server.Storage;
using static Strata.Server.Protocol.QueryProtocol;

namespace Strata.Server.Services.Iam;

/// <summary>
/// IAM's Query API: users, groups, roles, managed and inline policies, access keys, permissions
/// boundaries and the policy simulator, all scoped to the caller's account. Policy documents
/// are validated on write with IAM's MalformedPolicyDocument messages, and returned URL-encoded
/// as IAM returns them.
/// </summary>
public sealed partial class IamService(IamStore store, CredentialStore credentials, TimeProvider clock)
{
    public const int MaxAccessKeysPerUser = 2;
    public const int MaxPolicyVersions = 5;

    public IEnumerable<Operation> Operations =>
    [
        Op("CreateUser", User("UserName"), CreateUser),
        Op("GetUser", SelfOrUser, GetUser),
        Op("ListUsers", Account("user/"), ListUsers),
        Op("DeleteUser", User("UserName"), DeleteUser),
        Op("CreateAccessKey", SelfOrUser, CreateAccessKey),
        Op("ListAccessKeys", SelfOrUser, ListAccessKeys),
        Op("UpdateAccessKey", SelfOrUser, UpdateAccessKey),
        Op("DeleteAccessKey", SelfOrUser, DeleteAccessKey),
        Op("CreateGroup", Entity("group", "GroupName"), CreateGroup),
        Op("GetGroup", Entity("group", "GroupName"), GetGroup),
        Op("ListGroups", Account("group/"), ListGroups),
        Op("DeleteGroup", Entity("group", "GroupName"), DeleteGroup),
        Op("AddUserToGroup", Entity("group", "GroupName"), AddUserToGroup),
        Op("RemoveUserFromGroup", Entity("group", "GroupName"), RemoveUserFromGroup),
        Op("ListGroupsForUser", User("UserName"), ListGroupsForUser),
        Op("CreateRole", Entity("role", "RoleName"), CreateRole),
        Op("GetRole", Entity("role", "RoleName"), GetRole),
        Op("ListRoles", Account("role/"), ListRoles),
        Op("UpdateAssumeRolePolicy", Entity("role", "RoleName"), UpdateAssumeRolePolicy),
        Op("DeleteRole", Entity("role", "RoleName"), DeleteRole),
        Op("CreatePolicy", Entity("policy", "PolicyName"), CreatePolicy),
        Op("GetPolicy", PolicyArnParam, GetPolicy),
        Op("ListPolicies", Account("policy/"), ListPolicies),
        Op("DeletePolicy", PolicyArnParam, DeletePolicy),
        Op("CreatePolicyVersion", PolicyArnParam, CreatePolicyVersion),
        Op("GetPolicyVersion", PolicyArnParam, GetPolicyVersion),
        Op("ListPolicyVersions", PolicyArnParam, ListPolicyVersions),
        Op("DeletePolicyVersion", PolicyArnParam, DeletePolicyVersion),
        .. EntityPolicyOperations(Kind.User),
        .. EntityPolicyOperations(Kind.Group),
        .. EntityPolicyOperations(Kind.Role),
        Op("PutUserPermissionsBoundary", User("UserName"), ctx => PutBoundary(ctx, Kind.User)),
        Op("DeleteUserPermissionsBoundary", User("UserName"), ctx => DeleteBoundary(ctx, Kind.User)),
        Op("PutRolePermissionsBoundary", Entity("role", "RoleName"), ctx => PutBoundary(ctx, Kind.Role)),
        Op("DeleteRolePermissionsBoundary", Entity("role", "RoleName"), ctx => DeleteBoundary(ctx, Kind.Role)),
        Op("SimulatePrincipalPolicy", ctx => Get(ctx, "PolicySourceArn") ?? "*", SimulatePrincipalPolicy),
        Op("SimulateCustomPolicy", _ => "*", SimulateCustomPolicy),
    ];

    static Operation Op(string name, Func<RequestContext, string> resource, Func<RequestContext, Task> handler)
        => new(name, "iam:" + name, resource, handler);

    static Func<RequestContext, string> Entity(string type, string member)
        => ctx => $"arn:aws:iam::{ctx.Principal.AccountId}:{type}/{Get(ctx, member) ?? ""}";

    static Func<RequestContext, string> User(string member) => Entity("user", member);

    static Func<RequestContext, string> Account(string type) => ctx => $"arn:aws:iam::{ctx.Principal.AccountId}:{type}*";

    static string PolicyArnParam(RequestContext ctx) => Get(ctx, "PolicyArn") ?? "*";

    /// <summary>Operations on a user that default to the caller (a user managing its own keys).</summary>
    static string SelfOrUser(RequestContext ctx)
        => Get(ctx, "UserName") is { } name ? $"arn:aws:iam::{ctx.Principal.AccountId}:user/{name}" : ctx.Principal.Arn;

    enum Kind { User, Group, Role }

    static string Table(Kind kind) => kind switch { Kind.User => IamStore.Users, Kind.Group => IamStore.Groups, _ => IamStore.Roles };
    static string Noun(Kind kind) => kind.ToString().ToLowerInvariant();
    static string Member(Kind kind) => kind + "Name";

    IEnumerable<Operation> EntityPolicyOperations(Kind kind)
    {
        var resource = Entity(Noun(kind), Member(kind));
        return
        [
            Op($"Attach{kind}Policy", resource, ctx => Attach(ctx, kind, attach: true)),
            Op($"Detach{kind}Policy", resource, ctx => Attach(ctx, kind, attach: false)),
            Op($"ListAttached{kind}Policies", resource, ctx => ListAttached(ctx, kind)),
            Op($"Put{kind}Policy", resource, ctx => PutInline(ctx, kind)),
            Op($"Get{kind}Policy", resource, ctx => GetInline(ctx, kind)),
            Op($"Delete{kind}Policy", resource, ctx => DeleteInline(ctx, kind)),
            Op($"List{kind}Policies", resource, ctx => ListInline(ctx, kind)),
        ];
    }

    // ---- validation ----

    [GeneratedRegex(@"^[\w+=,.@-]+$")]
    private static partial Regex NamePattern();

    static string Name(RequestContext ctx, string member, int max)
    {
        var name = Required(ctx, member);
        if (name.Length > max) throw Invalid(member, name, $"Member must have length less than or equal to {max}");
        if (!NamePattern().IsMatch(name)) throw Invalid(member, name, @"Member must satisfy regular expression pattern: [\w+=,.@-]+");
        return name;
    }

    static string PathOf(RequestContext ctx)
    {
        var path = Get(ctx, "Path") ?? "/";
        if (!path.StartsWith('/') || !path.EndsWith('/') || path.Length > 512)
            throw Invalid("Path", path, @"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)");
        return path;
    }

    /// <summary>Parses a policy document as IAM does on write.</summary>
    static string Document(RequestContext ctx, string member, PolicyKind kind)
    {
        var json = Required(ctx, member);
        try { PolicyDocument.Parse(json, kind); }
        catch (MalformedPolicyException e) { throw new AwsException("MalformedPolicyDocument", 400, e.Message); }
        return json;
    }

    static AwsException NoSuch(Kind kind, string name) => new("NoSuchEntity", 404, $"The {Noun(kind)} with name {name} cannot be found.");
    static AwsException Exists(Kind kind, string name) => new("EntityAlreadyExists", 409, $"{kind} with name {name} already exists.");

    T Require<T>(IStateReader r, Kind kind, string account, string name) where T : IamEntity
        => IamStore.Get<T>(r, Table(kind), account, name) ?? throw NoSuch(kind, name);

    static IamEntity? Find(IStateReader r, Kind kind, string account, string name) => kind switch
    {
        Kind.User => IamStore.Get<IamUser>(r, IamStore.Users, account, name),
        Kind.Group => IamStore.Get<IamGroup>(r, IamStore.Groups, account, name),
        _ => IamStore.Get<IamRole>(r, IamStore.Roles, account, name),
    };

    static void Save(IStateWriter w, Kind kind, string account, IamEntity entity)
    {
        switch (entity)
        {
            case IamUser u: IamStore.Put(w, IamStore.Users, account, u.Name, u); break;
            case IamGroup g: IamStore.Put(w, IamStore.Groups, account, g.Name, g); break;
            case IamRole r: IamStore.Put(w, IamStore.Roles, account, r.Name, r); break;
        }
    }

    static string Encode(string document) => Uri.EscapeDataString(document);

    // ---- users ----

    Task CreateUser(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Name(ctx, "UserName", 64);
        var path = PathOf(ctx);
        var boundary = Get(ctx, "PermissionsBoundary");
        var user = store.Write(w =>
        {
            if (IamStore.Get<IamUser>(w, IamStore.Users, account, name) is not null) throw Exists(Kind.User, name);
            if (boundary is not null) UseBoundary(w, boundary, +1);
            var user = new IamUser
            {
                Name = name,
                Id = IamStore.NewId("AIDA"),
                Arn = $"arn:aws:iam::{account}:user{path}{name}",
                Path = path,
                CreateDate = clock.GetUtcNow(),
                PermissionsBoundary = boundary,
                Tags = Tags(ctx).Select(t => new IamTag(t.Key, t.Value)).ToList(),
            };
            IamStore.Put(w, IamStore.Users, account, name, user);
            return user;
        });
        return WriteAsync(ctx, xml => WriteUser(xml, "User", user));
    }

    Task GetUser(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Get(ctx, "UserName") ?? (ctx.Principal.Type == PrincipalType.User ? ctx.Principal.EntityName : null);
        if (name is null)
        {
            // The account's root: IAM answers with the account as the user.
            var created = credentials.FindAccount(account)?.CreatedAt ?? clock.GetUtcNow();
            return WriteAsync(ctx, xml =>
            {
                xml.WriteStartElement("User");
                xml.Element("UserId", account);
                xml.Element("Arn", $"arn:aws:iam::{account}:root");
                xml.Element("CreateDate", created);
                xml.WriteEndElement();
            });
        }
        var user = store.Read(r => Require<IamUser>(r, Kind.User, account, name));
        return WriteAsync(ctx, xml => WriteUser(xml, "User", user));
    }

    Task ListUsers(RequestContext ctx) => ListEntities<IamUser>(ctx, IamStore.Users, "Users", WriteUserFields);

    /// <summary>ListUsers, ListGroups, ListRoles: the account's entities under PathPrefix, by name, in pages.</summary>
    Task ListEntities<T>(RequestContext ctx, string table, string element, Action<XmlWriter, T> write) where T : IamEntity
    {
        var prefix = Get(ctx, "PathPrefix") ?? "/";
        var entities = store.Read(r => IamStore.List<T>(r, table, ctx.Principal.AccountId)).Where(e => e.Path.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        var (page, marker) = Page(ctx, entities, e => e.Name.ToLowerInvariant());
        return WriteAsync(ctx, xml =>
        {
            xml.List(element, page, write);
            xml.Truncation(marker);
        });
    }

    Task DeleteUser(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, "UserName");
        store.Write(w =>
        {
            var user = Require<IamUser>(w, Kind.User, account, name);
            if (user.InlinePolicies.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must delete policies first.");
            if (user.AttachedPolicies.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.");
            if (UserKeys(w, account, name).Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must delete access keys first.");
            if (user.Groups.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must remove user from all groups first.");
            if (user.PermissionsBoundary is { } b) UseBoundary(w, b, -1);
            w.Delete(IamStore.Users, IamStore.Key(account, name));
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    static void WriteUser(XmlWriter xml, string element, IamUser user)
    {
        xml.WriteStartElement(element);
        WriteUserFields(xml, user);
        xml.WriteEndElement();
    }

    static void WriteUserFields(XmlWriter xml, IamUser user)
    {
        xml.Element("Path", user.Path);
        xml.Element("UserName", user.Name);
        xml.Element("UserId", user.Id);
        xml.Element("Arn", user.Arn);
        xml.Element("CreateDate", user.CreateDate);
        WriteBoundary(xml, user.PermissionsBoundary);
        if (user.Tags.Count > 0) WriteTags(xml, user.Tags);
    }

    static void WriteBoundary(XmlWriter xml, string? arn)
    {
        if (arn is null) return;
        xml.WriteStartElement("PermissionsBoundary");
        xml.Element("PermissionsBoundaryType", "PermissionsBoundaryPolicy");
        xml.Element("PermissionsBoundaryArn", arn);
        xml.WriteEndElement();
    }

    static void WriteTags(XmlWriter xml, List<IamTag> tags)
        => xml.List("Tags", tags, (x, t) => { x.Element("Key", t.Key); x.Element("Value", t.Value); });

    // ---- access keys ----

    const string UserKeysTable = "iam-user-keys";

    static List<AccessKeyRecord> UserKeys(IStateReader r, string account, string user)
        => r.Scan(UserKeysTable, IamStore.Key(account, user) + "/", null, int.MaxValue)
            .Select(kv => CredentialStore.GetKey(r, kv.Key[(kv.Key.LastIndexOf('/') + 1)..])).OfType<AccessKeyRecord>().ToList();

    /// <summary>The user an access-key operation is about: the named one, or the calling user.</summary>
    static string KeyOwner(RequestContext ctx)
        => Get(ctx, "UserName") ?? (ctx.Principal.Type == PrincipalType.User ? ctx.Principal.EntityName! : throw new AwsException("ValidationError", 400,
            "Must specify userName when calling with non-User credentials"));

    Task CreateAccessKey(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx);
        var key = store.Write(w =>
        {
            var user = Require<IamUser>(w, Kind.User, account, name);
            if (UserKeys(w, account, name).Count >= MaxAccessKeysPerUser)
                throw new AwsException("LimitExceeded", 409, $"Cannot exceed quota for AccessKeysPerUser: {MaxAccessKeysPerUser}");
            var key = new AccessKeyRecord(CredentialStore.NewKeyId(false), CredentialStore.NewSecret(), account, PrincipalType.User, user.Arn, "Active",
                clock.GetUtcNow(), UserName: user.Name, UserId: user.Id);
            CredentialStore.PutKey(w, key);
            w.Put(UserKeysTable, IamStore.Key(account, name) + "/" + key.AccessKeyId, "");
            return key;
        });
        credentials.Forget(key.AccessKeyId);
        return WriteAsync(ctx, xml =>
        {
            xml.WriteStartElement("AccessKey");
            xml.Element("UserName", key.UserName);
            xml.Element("AccessKeyId", key.AccessKeyId);
            xml.Element("Status", key.Status);
            xml.Element("SecretAccessKey", key.SecretAccessKey);
            xml.Element("CreateDate", key.CreatedAt);
            xml.WriteEndElement();
        });
    }

    Task ListAccessKeys(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx);
        var keys = store.Read(r =>
        {
            Require<IamUser>(r, Kind.User, account, name);
            return UserKeys(r, account, name);
        });
        var (page, marker) = Page(ctx, keys, k => k.AccessKeyId);
        return WriteAsync(ctx, xml =>
        {
            xml.List("AccessKeyMetadata", page, (x, k) =>
            {
                x.Element("UserName", k.UserName);
                x.Element("AccessKeyId", k.AccessKeyId);
                x.Element("Status", k.Status);
                x.Element("CreateDate", k.CreatedAt);
            });
            xml.Truncation(marker);
        });
    }

    AccessKeyRecord RequireKey(IStateReader r, string account, string user, string keyId)
    {
        Require<IamUser>(r, Kind.User, account, user);
        var key = CredentialStore.GetKey(r, keyId);
        if (key is null || key.AccountId != account || !string.Equals(key.UserName, user, StringComparison.OrdinalIgnoreCase) || key.SessionToken is not null)
            throw new AwsException("NoSuchEntity", 404, $"The Access Key with id {keyId} cannot be found.");
        return key;
    }

    Task UpdateAccessKey(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx);
        var keyId = Required(ctx, "AccessKeyId");
        var status = Required(ctx, "Status");
        if (status is not ("Active" or "Inactive"))
            throw Invalid("Status", status, "Member must satisfy enum value set: [Active, Inactive]");
        store.Write(w =>
        {
            CredentialStore.PutKey(w, RequireKey(w, account, name, keyId) with { Status = status });
            return 0;
        });
        credentials.Forget(keyId);
        return WriteAsync(ctx, null);
    }

    Task DeleteAccessKey(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = KeyOwner(ctx);
        var keyId = Required(ctx, "AccessKeyId");
        store.Write(w =>
        {
            RequireKey(w, account, name, keyId);
            CredentialStore.DeleteKey(w, keyId);
            w.Delete(UserKeysTable, IamStore.Key(account, name) + "/" + keyId);
            return 0;
        });
        credentials.Forget(keyId);
        return WriteAsync(ctx, null);
    }

    // ---- groups ----

    Task CreateGroup(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Name(ctx, "GroupName", 128);
        var path = PathOf(ctx);
        var group = store.Write(w =>
        {
            if (IamStore.Get<IamGroup>(w, IamStore.Groups, account, name) is not null) throw Exists(Kind.Group, name);
            var group = new IamGroup { Name = name, Id = IamStore.NewId("AGPA"), Arn = $"arn:aws:iam::{account}:group{path}{name}", Path = path, CreateDate = clock.GetUtcNow() };
            IamStore.Put(w, IamStore.Groups, account, name, group);
            return group;
        });
        return WriteAsync(ctx, xml => WriteGroup(xml, "Group", group));
    }

    static void WriteGroup(XmlWriter xml, string? element, IamGroup group)
    {
        if (element is not null) xml.WriteStartElement(element);
        xml.Element("Path", group.Path);
        xml.Element("GroupName", group.Name);
        xml.Element("GroupId", group.Id);
        xml.Element("Arn", group.Arn);
        xml.Element("CreateDate", group.CreateDate);
        if (element is not null) xml.WriteEndElement();
    }

    Task GetGroup(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (group, users) = store.Read(r =>
        {
            var group = Require<IamGroup>(r, Kind.Group, account, Required(ctx, "GroupName"));
            return (group, group.Members.Select(m => IamStore.Get<IamUser>(r, IamStore.Users, account, m)).OfType<IamUser>().OrderBy(u => u.Name.ToLowerInvariant(), StringComparer.Ordinal).ToList());
        });
        var (page, marker) = Page(ctx, users, u => u.Name.ToLowerInvariant());
        return WriteAsync(ctx, xml =>
        {
            WriteGroup(xml, "Group", group);
            xml.List("Users", page, (x, u) => WriteUserFields(x, u));
            xml.Truncation(marker);
        });
    }

    Task ListGroups(RequestContext ctx) => ListEntities<IamGroup>(ctx, IamStore.Groups, "Groups", (x, g) => WriteGroup(x, null, g));

    Task DeleteGroup(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, "GroupName");
        store.Write(w =>
        {
            var group = Require<IamGroup>(w, Kind.Group, account, name);
            if (group.Members.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must remove users from group first.");
            if (group.InlinePolicies.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must delete policies first.");
            if (group.AttachedPolicies.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.");
            w.Delete(IamStore.Groups, IamStore.Key(account, name));
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task AddUserToGroup(RequestContext ctx) => Membership(ctx, add: true);
    Task RemoveUserFromGroup(RequestContext ctx) => Membership(ctx, add: false);

    Task Membership(RequestContext ctx, bool add)
    {
        var account = ctx.Principal.AccountId;
        var groupName = Required(ctx, "GroupName");
        var userName = Required(ctx, "UserName");
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
            Save(w, Kind.Group, account, group);
            Save(w, Kind.User, account, user);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task ListGroupsForUser(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var groups = store.Read(r =>
        {
            var user = Require<IamUser>(r, Kind.User, account, Required(ctx, "UserName"));
            return user.Groups.Select(g => IamStore.Get<IamGroup>(r, IamStore.Groups, account, g)).OfType<IamGroup>().OrderBy(g => g.Name.ToLowerInvariant(), StringComparer.Ordinal).ToList();
        });
        var (page, marker) = Page(ctx, groups, g => g.Name.ToLowerInvariant());
        return WriteAsync(ctx, xml =>
        {
            xml.List("Groups", page, (x, g) => WriteGroup(x, null, g));
            xml.Truncation(marker);
        });
    }

    // ---- roles ----

    Task CreateRole(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Name(ctx, "RoleName", 64);
        var path = PathOf(ctx);
        var trust = Document(ctx, "AssumeRolePolicyDocument", PolicyKind.Trust);
        var maxSession = Int(ctx, "MaxSessionDuration", 3600, 43200) ?? 3600;
        var description = Get(ctx, "Description");
        if (description is { Length: > 1000 }) throw Invalid("Description", description, "Member must have length less than or equal to 1000");
        var boundary = Get(ctx, "PermissionsBoundary");
        var role = store.Write(w =>
        {
            if (IamStore.Get<IamRole>(w, IamStore.Roles, account, name) is not null) throw Exists(Kind.Role, name);
            if (boundary is not null) UseBoundary(w, boundary, +1);
            var role = new IamRole
            {
                Name = name,
                Id = IamStore.NewId("AROA"),
                Arn = $"arn:aws:iam::{account}:role{path}{name}",
                Path = path,
                CreateDate = clock.GetUtcNow(),
                AssumeRolePolicyDocument = trust,
                Description = description,
                MaxSessionDuration = maxSession,
                PermissionsBoundary = boundary,
                Tags = Tags(ctx).Select(t => new IamTag(t.Key, t.Value)).ToList(),
            };
            IamStore.Put(w, IamStore.Roles, account, name, role);
            return role;
        });
        return WriteAsync(ctx, xml => WriteRole(xml, "Role", role));
    }

    static void WriteRole(XmlWriter xml, string? element, IamRole role)
    {
        if (element is not null) xml.WriteStartElement(element);
        xml.Element("Path", role.Path);
        xml.Element("RoleName", role.Name);
        xml.Element("RoleId", role.Id);
        xml.Element("Arn", role.Arn);
        xml.Element("CreateDate", role.CreateDate);
        xml.Element("AssumeRolePolicyDocument", Encode(role.AssumeRolePolicyDocument));
        xml.Element("Description", role.Description);
        xml.Element("MaxSessionDuration", role.MaxSessionDuration);
        WriteBoundary(xml, role.PermissionsBoundary);
        if (role.Tags.Count > 0) WriteTags(xml, role.Tags);
        if (element is not null) xml.WriteEndElement();
    }

    Task GetRole(RequestContext ctx)
    {
        var role = store.Read(r => Require<IamRole>(r, Kind.Role, ctx.Principal.AccountId, Required(ctx, "RoleName")));
        return WriteAsync(ctx, xml => WriteRole(xml, "Role", role));
    }

    Task ListRoles(RequestContext ctx) => ListEntities<IamRole>(ctx, IamStore.Roles, "Roles", (x, role) => WriteRole(x, null, role));

    Task UpdateAssumeRolePolicy(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, "RoleName");
        var trust = Document(ctx, "PolicyDocument", PolicyKind.Trust);
        store.Write(w =>
        {
            var role = Require<IamRole>(w, Kind.Role, account, name);
            role.AssumeRolePolicyDocument = trust;
            Save(w, Kind.Role, account, role);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task DeleteRole(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, "RoleName");
        store.Write(w =>
        {
            var role = Require<IamRole>(w, Kind.Role, account, name);
            if (role.InlinePolicies.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must delete policies first.");
            if (role.AttachedPolicies.Count > 0) throw new AwsException("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.");
            if (role.PermissionsBoundary is { } b) UseBoundary(w, b, -1);
            w.Delete(IamStore.Roles, IamStore.Key(account, name));
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    // ---- managed policies ----

    static IamPolicy RequirePolicy(IStateReader r, string arn)
    {
        if (IamStore.ParsePolicyArn(arn) is null && AwsManagedPolicies.Find(arn) is null && !arn.StartsWith("arn:aws:iam::aws:policy/", StringComparison.Ordinal))
            throw new AwsException("InvalidInput", 400, $"ARN {arn} is not valid.");
        return IamStore.GetPolicy(r, arn) ?? throw new AwsException("NoSuchEntity", 404, $"Policy {arn} was not found.");
    }

    /// <summary>A customer managed policy of the caller's account (AWS managed ones are read-only).</summary>
    static IamPolicy RequireOwnPolicy(IStateReader r, string arn, string account)
    {
        var policy = RequirePolicy(r, arn);
        if (AwsManagedPolicies.Find(arn) is not null || IamStore.ParsePolicyArn(arn)?.Account != account)
            throw new AwsException("AccessDenied", 403, $"User is not authorized to modify the AWS managed policy {arn}.");
        return policy;
    }

    static void SavePolicy(IStateWriter w, IamPolicy policy)
        => IamStore.Put(w, IamStore.Policies, IamStore.ParsePolicyArn(policy.Arn)!.Value.Account, policy.PolicyName, policy);

    Task CreatePolicy(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = Name(ctx, "PolicyName", 128);
        var path = PathOf(ctx);
        var document = Document(ctx, "PolicyDocument", PolicyKind.Identity);
        var now = clock.GetUtcNow();
        var policy = store.Write(w =>
        {
            if (IamStore.Get<IamPolicy>(w, IamStore.Policies, account, name) is not null)
                throw new AwsException("EntityAlreadyExists", 409, $"A policy called {name} already exists. Duplicate names are not allowed.");
            var policy = new IamPolicy
            {
                PolicyName = name,
                PolicyId = IamStore.NewId("ANPA"),
                Arn = $"arn:aws:iam::{account}:policy{path}{name}",
                Path = path,
                Description = Get(ctx, "Description"),
                CreateDate = now,
                UpdateDate = now,
                Versions = [new IamPolicyVersion("v1", document, now)],
                Tags = Tags(ctx).Select(t => new IamTag(t.Key, t.Value)).ToList(),
            };
            IamStore.Put(w, IamStore.Policies, account, name, policy);
            return policy;
        });
        return WriteAsync(ctx, xml => WritePolicy(xml, "Policy", policy));
    }

    static void WritePolicy(XmlWriter xml, string? element, IamPolicy policy)
    {
        if (element is not null) xml.WriteStartElement(element);
        xml.Element("PolicyName", policy.PolicyName);
        xml.Element("PolicyId", policy.PolicyId);
        xml.Element("Arn", policy.Arn);
        xml.Element("Path", policy.Path);
        xml.Element("DefaultVersionId", policy.DefaultVersionId);
        xml.Element("AttachmentCount", policy.AttachmentCount);
        xml.Element("PermissionsBoundaryUsageCount", policy.PermissionsBoundaryUsageCount);
        xml.Element("IsAttachable", true);
        xml.Element("Description", policy.Description);
        xml.Element("CreateDate", policy.CreateDate);
        xml.Element("UpdateDate", policy.UpdateDate);
        if (policy.Tags.Count > 0) WriteTags(xml, policy.Tags);
        if (element is not null) xml.WriteEndElement();
    }

    Task GetPolicy(RequestContext ctx)
    {
        var policy = store.Read(r => RequirePolicy(r, Required(ctx, "PolicyArn")));
        return WriteAsync(ctx, xml => WritePolicy(xml, "Policy", policy));
    }

    Task ListPolicies(RequestContext ctx)
    {
        var scope = Get(ctx, "Scope") ?? "All";
        if (scope is not ("All" or "AWS" or "Local")) throw Invalid("Scope", scope, "Member must satisfy enum value set: [All, AWS, Local]");
        var onlyAttached = Bool(ctx, "OnlyAttached");
        var prefix = Get(ctx, "PathPrefix") ?? "/";
        var own = store.Read(r => IamStore.List<IamPolicy>(r, IamStore.Policies, ctx.Principal.AccountId));
        // AWS managed policies' attachment counts are per account: count this account's uses.
        var all = (scope == "Local" ? [] : AwsManagedPolicies.All.Select(p => WithAccountCounts(p, ctx.Principal.AccountId)))
            .Concat(scope == "AWS" ? [] : own)
            .Where(p => p.Path.StartsWith(prefix, StringComparison.Ordinal) && (!onlyAttached || p.AttachmentCount > 0))
            .OrderBy(p => p.Arn, StringComparer.Ordinal).ToList();
        var (page, marker) = Page(ctx, all, p => p.Arn);
        return WriteAsync(ctx, xml =>
        {
            xml.List("Policies", page, (x, p) => WritePolicy(x, null, p));
            xml.Truncation(marker);
        });
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

    Task DeletePolicy(RequestContext ctx)
    {
        var arn = Required(ctx, "PolicyArn");
        store.Write(w =>
        {
            var policy = RequireOwnPolicy(w, arn, ctx.Principal.AccountId);
            if (policy.AttachmentCount > 0 || policy.PermissionsBoundaryUsageCount > 0)
                throw new AwsException("DeleteConflict", 409, "Cannot delete a policy attached to entities.");
            if (policy.Versions.Count > 1)
                throw new AwsException("DeleteConflict", 409, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
            w.Delete(IamStore.Policies, IamStore.Key(ctx.Principal.AccountId, policy.PolicyName));
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task CreatePolicyVersion(RequestContext ctx)
    {
        var arn = Required(ctx, "PolicyArn");
        var document = Document(ctx, "PolicyDocument", PolicyKind.Identity);
        var setDefault = Bool(ctx, "SetAsDefault");
        var (policy, version) = store.Write(w =>
        {
            var policy = RequireOwnPolicy(w, arn, ctx.Principal.AccountId);
            if (policy.Versions.Count >= MaxPolicyVersions)
                throw new AwsException("LimitExceeded", 409, $"A managed policy can have up to {MaxPolicyVersions} versions. Before you create a new version, you must delete an existing version.");
            var version = new IamPolicyVersion($"v{policy.NextVersion++}", document, clock.GetUtcNow());
            policy.Versions.Add(version);
            if (setDefault) policy.DefaultVersionId = version.VersionId;
            policy.UpdateDate = version.CreateDate;
            SavePolicy(w, policy);
            return (policy, version);
        });
        return WriteAsync(ctx, xml => WriteVersion(xml, "PolicyVersion", policy, version, document: false));
    }

    static void WriteVersion(XmlWriter xml, string? element, IamPolicy policy, IamPolicyVersion version, bool document)
    {
        if (element is not null) xml.WriteStartElement(element);
        if (document) xml.Element("Document", Encode(version.Document));
        xml.Element("VersionId", version.VersionId);
        xml.Element("IsDefaultVersion", version.VersionId == policy.DefaultVersionId);
        xml.Element("CreateDate", version.CreateDate);
        if (element is not null) xml.WriteEndElement();
    }

    Task GetPolicyVersion(RequestContext ctx)
    {
        var arn = Required(ctx, "PolicyArn");
        var versionId = Required(ctx, "VersionId");
        var policy = store.Read(r => RequirePolicy(r, arn));
        var version = policy.Versions.FirstOrDefault(v => v.VersionId == versionId)
            ?? throw new AwsException("NoSuchEntity", 404, $"Policy {arn} version {versionId} does not exist or is not attachable.");
        return WriteAsync(ctx, xml => WriteVersion(xml, "PolicyVersion", policy, version, document: true));
    }

    Task ListPolicyVersions(RequestContext ctx)
    {
        var policy = store.Read(r => RequirePolicy(r, Required(ctx, "PolicyArn")));
        var versions = policy.Versions.OrderByDescending(v => int.Parse(v.VersionId[1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return WriteAsync(ctx, xml =>
        {
            xml.List("Versions", versions, (x, v) => WriteVersion(x, null, policy, v, document: false));
            xml.Truncation(null);
        });
    }

    Task DeletePolicyVersion(RequestContext ctx)
    {
        var arn = Required(ctx, "PolicyArn");
        var versionId = Required(ctx, "VersionId");
        store.Write(w =>
        {
            var policy = RequireOwnPolicy(w, arn, ctx.Principal.AccountId);
            if (policy.Versions.All(v => v.VersionId != versionId))
                throw new AwsException("NoSuchEntity", 404, $"Policy {arn} version {versionId} does not exist or is not attachable.");
            if (policy.DefaultVersionId == versionId) throw new AwsException("DeleteConflict", 409, "Cannot delete the default version of a policy.");
            policy.Versions.RemoveAll(v => v.VersionId == versionId);
            SavePolicy(w, policy);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    /// <summary>Counts a policy's use as a boundary (customer managed policies keep the count).</summary>
    static void UseBoundary(IStateWriter w, string arn, int delta)
    {
        var policy = IamStore.GetPolicy(w, arn) ?? throw new AwsException("NoSuchEntity", 404, $"Policy {arn} does not exist or is not attachable.");
        if (AwsManagedPolicies.Find(arn) is not null) return;
        policy.PermissionsBoundaryUsageCount = Math.Max(0, policy.PermissionsBoundaryUsageCount + delta);
        SavePolicy(w, policy);
    }

    // ---- attached and inline policies of users, groups and roles ----

    Task Attach(RequestContext ctx, Kind kind, bool attach)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var arn = Required(ctx, "PolicyArn");
        store.Write(w =>
        {
            var entity = Find(w, kind, account, name) ?? throw NoSuch(kind, name);
            var policy = IamStore.GetPolicy(w, arn);
            if (policy is null || (IamStore.ParsePolicyArn(arn) is { } parsed && parsed.Account != account))
                throw new AwsException("NoSuchEntity", 404, $"Policy {arn} does not exist or is not attachable.");
            var has = entity.AttachedPolicies.Contains(arn);
            if (attach == has)
            {
                if (!attach) throw new AwsException("NoSuchEntity", 404, $"Policy {arn} was not found.");
                return 0; // attaching twice changes nothing, as in IAM
            }
            if (attach) entity.AttachedPolicies.Add(arn);
            else entity.AttachedPolicies.Remove(arn);
            Save(w, kind, account, entity);
            if (AwsManagedPolicies.Find(arn) is null)
            {
                policy.AttachmentCount += attach ? 1 : -1;
                SavePolicy(w, policy);
            }
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task ListAttached(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var prefix = Get(ctx, "PathPrefix") ?? "/";
        var attached = store.Read(r =>
        {
            var entity = Find(r, kind, account, name) ?? throw NoSuch(kind, name);
            return entity.AttachedPolicies.Select(a => IamStore.GetPolicy(r, a)).OfType<IamPolicy>()
                .Where(p => p.Path.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(p => p.Arn, StringComparer.Ordinal).ToList();
        });
        var (page, marker) = Page(ctx, attached, p => p.Arn);
        return WriteAsync(ctx, xml =>
        {
            xml.List("AttachedPolicies", page, (x, p) => { x.Element("PolicyName", p.PolicyName); x.Element("PolicyArn", p.Arn); });
            xml.Truncation(marker);
        });
    }

    Task PutInline(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var policyName = Name(ctx, "PolicyName", 128);
        var document = Document(ctx, "PolicyDocument", PolicyKind.Identity);
        store.Write(w =>
        {
            var entity = Find(w, kind, account, name) ?? throw NoSuch(kind, name);
            entity.InlinePolicies[policyName] = document;
            Save(w, kind, account, entity);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    static AwsException NoSuchInline(Kind kind, string policyName) => new("NoSuchEntity", 404, $"The {Noun(kind)} policy with name {policyName} cannot be found.");

    Task GetInline(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var policyName = Required(ctx, "PolicyName");
        var entity = store.Read(r => Find(r, kind, account, name)) ?? throw NoSuch(kind, name);
        var document = entity.InlinePolicies.GetValueOrDefault(policyName) ?? throw NoSuchInline(kind, policyName);
        return WriteAsync(ctx, xml =>
        {
            xml.Element(Member(kind), entity.Name);
            xml.Element("PolicyName", policyName);
            xml.Element("PolicyDocument", Encode(document));
        });
    }

    Task DeleteInline(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var policyName = Required(ctx, "PolicyName");
        store.Write(w =>
        {
            var entity = Find(w, kind, account, name) ?? throw NoSuch(kind, name);
            if (!entity.InlinePolicies.Remove(policyName)) throw NoSuchInline(kind, policyName);
            Save(w, kind, account, entity);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task ListInline(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var entity = store.Read(r => Find(r, kind, account, name)) ?? throw NoSuch(kind, name);
        var (page, marker) = Page(ctx, entity.InlinePolicies.Keys.ToList(), n => n);
        return WriteAsync(ctx, xml =>
        {
            xml.List("PolicyNames", page, (x, n) => x.WriteString(n));
            xml.Truncation(marker);
        });
    }

    Task PutBoundary(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        var arn = Required(ctx, "PermissionsBoundary");
        store.Write(w =>
        {
            var entity = Find(w, kind, account, name) ?? throw NoSuch(kind, name);
            var previous = entity is IamUser u ? u.PermissionsBoundary : ((IamRole)entity).PermissionsBoundary;
            UseBoundary(w, arn, +1);
            if (previous is not null) UseBoundary(w, previous, -1);
            if (entity is IamUser user) user.PermissionsBoundary = arn;
            else ((IamRole)entity).PermissionsBoundary = arn;
            Save(w, kind, account, entity);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    Task DeleteBoundary(RequestContext ctx, Kind kind)
    {
        var account = ctx.Principal.AccountId;
        var name = Required(ctx, Member(kind));
        store.Write(w =>
        {
            var entity = Find(w, kind, account, name) ?? throw NoSuch(kind, name);
            var previous = entity is IamUser u ? u.PermissionsBoundary : ((IamRole)entity).PermissionsBoundary;
            if (previous is not null) UseBoundary(w, previous, -1);
            if (entity is IamUser user) user.PermissionsBoundary = null;
            else ((IamRole)entity).PermissionsBoundary = null;
            Save(w, kind, account, entity);
            return 0;
        });
        return WriteAsync(ctx, null);
    }

    // ---- the policy simulator ----

    Task SimulatePrincipalPolicy(RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var source = Required(ctx, "PolicySourceArn");
        var prefix = $"arn:aws:iam::{account}:";
        if (!source.StartsWith(prefix, StringComparison.Ordinal)) throw new AwsException("InvalidInput", 400, $"Invalid Entity Arn: {source} does not clearly define entity type and name.");
        var rest = source[prefix.Length..];
        var slash = rest.IndexOf('/');
        var type = slash < 0 ? rest : rest[..slash];
        var entityName = rest[(rest.LastIndexOf('/') + 1)..];
        var principal = type switch
        {
            "user" => new Principal(PrincipalType.User, account, source, "", null, entityName),
            "role" => new Principal(PrincipalType.AssumedRole, account, source, "", null, entityName, source),
            _ => throw new AwsException("InvalidInput", 400, $"Invalid Entity Arn: {source} does not clearly define entity type and name."),
        };
        _ = store.Read(r => Find(r, type == "user" ? Kind.User : Kind.Role, account, entityName)) ?? throw NoSuch(type == "user" ? Kind.User : Kind.Role, entityName);
        var resolved = store.PoliciesOf(principal);
        var identity = resolved.Identity.Concat(Members(ctx, "PolicyInputList").Select(d => ParseInput(d, PolicyKind.Identity))).ToList();
        var boundaries = Members(ctx, "PermissionsBoundaryPolicyInputList").Select(d => ParseInput(d, PolicyKind.Identity)).ToList();
        var boundary = boundaries.Count > 0 ? Merge(boundaries) : resolved.Boundary;
        return Simulate(ctx, new RequestPrincipal(source, account, type == "role" ? source : null), identity, boundary);
    }

    Task SimulateCustomPolicy(RequestContext ctx)
    {
        var identity = Members(ctx, "PolicyInputList").Select(d => ParseInput(d, PolicyKind.Identity)).ToList();
        if (identity.Count == 0) throw Invalid("PolicyInputList", null, "Member must not be null");
        var boundaries = Members(ctx, "PermissionsBoundaryPolicyInputList").Select(d => ParseInput(d, PolicyKind.Identity)).ToList();
        var caller = Get(ctx, "CallerArn") ?? $"arn:aws:iam::{ctx.Principal.AccountId}:user/simulated";
        return Simulate(ctx, new RequestPrincipal(caller, ctx.Principal.AccountId), identity, boundaries.Count > 0 ? Merge(boundaries) : null);
    }

    /// <summary>A policy given to the simulator: the model declares InvalidInput for one that
    /// does not parse (MalformedPolicyDocument is for policies being stored).</summary>
    static PolicyDocument ParseInput(string json, PolicyKind kind)
    {
        try { return PolicyDocument.Parse(json, kind); }
        catch (MalformedPolicyException e) { throw new AwsException("InvalidInput", 400, e.Message); }
    }

    static PolicyDocument Merge(List<PolicyDocument> documents) => new("2012-10-17", documents.SelectMany(d => d.Statements).ToList());

    /// <summary>Every action × resource through the same evaluator the pipeline uses.</summary>
    Task Simulate(RequestContext ctx, RequestPrincipal principal, List<PolicyDocument> identity, PolicyDocument? boundary)
    {
        var actions = Members(ctx, "ActionNames");
        if (actions.Count == 0) throw Invalid("ActionNames", null, "Member must not be null");
        var resources = Members(ctx, "ResourceArns");
        if (resources.Count == 0) resources = ["*"];
        var resourcePolicy = Get(ctx, "ResourcePolicy") is { } rp ? ParseInput(rp, PolicyKind.Resource) : null;
        var owner = Get(ctx, "ResourceOwner") is { } o ? o.Split(':').ElementAtOrDefault(4) : null;
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; Get(ctx, $"ContextEntries.member.{i}.ContextKeyName") is { } key; i++)
            context[key] = Members(ctx, $"ContextEntries.member.{i}.ContextKeyValues");
        context.TryAdd("aws:PrincipalArn", [principal.Arn]);
        context.TryAdd("aws:PrincipalAccount", [principal.AccountId]);
        context.TryAdd("aws:username", [principal.Arn[(principal.Arn.LastIndexOf('/') + 1)..]]);
        var results = new List<(string Action, string Resource, string Decision)>();
        foreach (var action in actions)
            foreach (var resource in resources)
            {
                var result = Evaluator.Authorize(new AuthorizationRequest(new PolicyRequest(action, resource, context), principal, owner, identity, resourcePolicy, boundary));
                results.Add((action, resource, result.Decision switch
                {
                    Decision.Allow => "allowed",
                    Decision.ExplicitDeny => "explicitDeny",
                    _ => "implicitDeny",
                }));
            }
        return WriteAsync(ctx, xml =>
        {
            xml.List("EvaluationResults", results, (x, r) =>
            {
                x.Element("EvalActionName", r.Action);
                x.Element("EvalResourceName", r.Resource);
                x.Element("EvalDecision", r.Decision);
            });
            xml.Truncation(null);
        });
    }
}
