using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// The model registry's API: model package groups, the versioned model packages registered in
/// them (versions 1, 2, … per group, each with its inference specification, metrics and approval
/// status), unversioned packages, and CreateModel from a package. Packages are named by name, by
/// <c>group/version</c> or by ARN (a versioned package's ARN is
/// <c>…:model-package/{group in lower case}/{version}</c>); the rows are ModelRegistryRows.cs and
/// the store <see cref="ModelRegistryStore"/>.
/// </summary>
public sealed partial class SageMakerService
{
    IEnumerable<Operation> ModelRegistryOperations =>
    [
        SageMakerOperations.CreateModelPackageGroup.Bind("sagemaker:CreateModelPackageGroup",
            Named<CreateModelPackageGroupInput>("model-package-group", r => r.ModelPackageGroupName, r => new(r.Tags)), CreateModelPackageGroup),
        SageMakerOperations.DescribeModelPackageGroup.Bind("sagemaker:DescribeModelPackageGroup", GroupNamed<DescribeModelPackageGroupInput>(r => r.ModelPackageGroupName),
            DescribeModelPackageGroup),
        SageMakerOperations.ListModelPackageGroups.Bind("sagemaker:ListModelPackageGroups", Anywhere, ListModelPackageGroups),
        SageMakerOperations.DeleteModelPackageGroup.Bind("sagemaker:DeleteModelPackageGroup", GroupNamed<DeleteModelPackageGroupInput>(r => r.ModelPackageGroupName),
            DeleteModelPackageGroup),
        SageMakerOperations.CreateModelPackage.Bind("sagemaker:CreateModelPackage", NewPackage, CreateModelPackage),
        SageMakerOperations.DescribeModelPackage.Bind("sagemaker:DescribeModelPackage", PackageNamed<DescribeModelPackageInput>(r => r.ModelPackageName), DescribeModelPackage),
        SageMakerOperations.ListModelPackages.Bind("sagemaker:ListModelPackages", Anywhere, ListModelPackages),
        SageMakerOperations.UpdateModelPackage.Bind("sagemaker:UpdateModelPackage",
            PackageNamed<UpdateModelPackageInput>(r => r.ModelPackageArn, r => new(r.ModelApprovalStatus, r.CustomerMetadataProperties)), UpdateModelPackage),
        SageMakerOperations.DeleteModelPackage.Bind("sagemaker:DeleteModelPackage", PackageNamed<DeleteModelPackageInput>(r => r.ModelPackageName), DeleteModelPackage),
    ];

    // ---- names, ARNs and condition keys ----

    /// <summary>What a group's name or ARN names: the group's name, or null when the ARN is not
    /// one of this account's groups in this region (then <c>Arn</c> is the ARN as given).</summary>
    (string? Name, string Arn) GroupRef(string account, string nameOrArn)
    {
        if (!nameOrArn.StartsWith("arn:", StringComparison.Ordinal)) return (nameOrArn, Arn(account, "model-package-group", nameOrArn));
        var prefix = $"arn:aws:sagemaker:{region}:{account}:model-package-group/";
        return nameOrArn.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && nameOrArn[prefix.Length..] is { Length: > 0 } name && !name.Contains('/')
            ? (name, Arn(account, "model-package-group", name))
            : (null, nameOrArn);
    }

    /// <summary>What a package's name, <c>group/version</c> or ARN names: its key in the store
    /// and its ARN, or a null key when it cannot name a package of this account in this region.</summary>
    (string? Key, string Arn) PackageRef(string account, string nameOrArn)
    {
        var rest = nameOrArn;
        if (nameOrArn.StartsWith("arn:", StringComparison.Ordinal))
        {
            var prefix = $"arn:aws:sagemaker:{region}:{account}:model-package/";
            if (!nameOrArn.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return (null, nameOrArn);
            rest = nameOrArn[prefix.Length..];
        }
        var slash = rest.IndexOf('/');
        if (slash < 0) return rest.Length > 0 ? (ModelRegistryStore.UnversionedKey(account, rest), Arn(account, "model-package", rest)) : (null, nameOrArn);
        var (group, version) = (rest[..slash], rest[(slash + 1)..]);
        return group.Length > 0 && version.Length is > 0 and <= 9 && version.All(char.IsAsciiDigit) && int.Parse(version, System.Globalization.CultureInfo.InvariantCulture) is var v and > 0
            ? (ModelRegistryStore.VersionKey(account, group, v), Arn(account, "model-package", $"{group}/{v}"))
            : (null, nameOrArn);
    }

    /// <summary>SageMaker's condition keys on model packages: the approval status and customer
    /// metadata a request sets (<c>sagemaker:ModelApprovalStatus</c>,
    /// <c>sagemaker:CustomerMetadataProperties/key</c>).</summary>
    readonly record struct PackageKeys(string? ModelApprovalStatus, Dictionary<string, string>? CustomerMetadataProperties)
    {
        public void Apply(RequestContext ctx)
        {
            if (ModelApprovalStatus is { } status) ctx.ConditionKeys["sagemaker:ModelApprovalStatus"] = [status];
            foreach (var (key, value) in CustomerMetadataProperties ?? []) ctx.ConditionKeys["sagemaker:CustomerMetadataProperties/" + key] = [value];
        }
    }

    Func<TIn, RequestContext, string> GroupNamed<TIn>(Func<TIn, string?> nameOrArn)
        => (request, ctx) => WithConditionKeys(ctx, GroupRef(ctx.Principal.AccountId, nameOrArn(request) ?? "").Arn, null);

    /// <summary>A package a request names, with its tags and current customer metadata
    /// (<c>sagemaker:CurrentCustomerMetadataProperties/key</c>) as condition keys.</summary>
    Func<TIn, RequestContext, string> PackageNamed<TIn>(Func<TIn, string?> nameOrArn, Func<TIn, PackageKeys>? keys = null) => (request, ctx) =>
    {
        var (key, arn) = PackageRef(ctx.Principal.AccountId, nameOrArn(request) ?? "");
        WithConditionKeys(ctx, arn, null);
        if (key is not null && registry.GetPackage(key)?.CustomerMetadataProperties is { } current)
            foreach (var (name, value) in current) ctx.ConditionKeys["sagemaker:CurrentCustomerMetadataProperties/" + name] = [value];
        keys?.Invoke(request).Apply(ctx);
        return arn;
    };

    /// <summary>CreateModelPackage's resource: the package it would make (a versioned one's ARN
    /// has the version the group gives next).</summary>
    string NewPackage(CreateModelPackageInput request, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = request.ModelPackageName ?? "";
        if (request.ModelPackageGroupName is { } group && GroupRef(account, group).Name is { } groupName)
            name = $"{groupName}/{(registry.GetGroup(account, groupName)?.LatestVersion ?? 0) + 1}";
        var arn = WithConditionKeys(ctx, Arn(account, "model-package", name), new RequestKeys(request.Tags));
        new PackageKeys(request.ModelApprovalStatus, request.CustomerMetadataProperties).Apply(ctx);
        return arn;
    }

    static IamIdentityRow Identity(RequestContext ctx) => new(ctx.Principal.Arn, ctx.Principal.UserId);

    static AwsException Unsupported(string member, string why) => ModelRegistryWire.Unsupported(member, why);

    // ---- groups ----

    CreateModelPackageGroupOutput CreateModelPackageGroup(CreateModelPackageGroupInput input, RequestContext ctx)
    {
        if (input.ManagedConfiguration is not null) throw Unsupported("ManagedConfiguration", "a group's packages are kept in Strata's own state store.");
        var account = ctx.Principal.AccountId;
        var name = input.ModelPackageGroupName!;
        var group = new ModelPackageGroupRow
        {
            ModelPackageGroupName = name,
            ModelPackageGroupArn = Arn(account, "model-package-group", name),
            ModelPackageGroupDescription = input.ModelPackageGroupDescription,
            CreationTime = clock.GetUtcNow(),
            CreatedBy = Identity(ctx),
        };
        if (!registry.CreateGroup(account, group, TagRows(input.Tags))) throw new ModelPackageGroupAlreadyExists(group.ModelPackageGroupArn);
        return new CreateModelPackageGroupOutput { ModelPackageGroupArn = group.ModelPackageGroupArn };
    }

    ModelPackageGroupRow RequireGroup(string account, string nameOrArn)
    {
        var (name, arn) = GroupRef(account, nameOrArn);
        return (name is null ? null : registry.GetGroup(account, name)) ?? throw new ModelPackageGroupNotFound(arn);
    }

    DescribeModelPackageGroupOutput DescribeModelPackageGroup(DescribeModelPackageGroupInput input, RequestContext ctx)
    {
        var group = RequireGroup(ctx.Principal.AccountId, input.ModelPackageGroupName!);
        return new DescribeModelPackageGroupOutput
        {
            ModelPackageGroupName = group.ModelPackageGroupName,
            ModelPackageGroupArn = group.ModelPackageGroupArn,
            ModelPackageGroupDescription = group.ModelPackageGroupDescription,
            CreationTime = group.CreationTime,
            CreatedBy = ModelRegistryWire.User(group.CreatedBy),
            ModelPackageGroupStatus = group.ModelPackageGroupStatus,
        };
    }

    ListModelPackageGroupsOutput ListModelPackageGroups(ListModelPackageGroupsInput input, RequestContext ctx)
    {
        // Groups other accounts share (CrossAccount) need resource policies Strata does not keep: none.
        var groups = input.CrossAccountFilterOption == "CrossAccount" ? [] : registry.ListGroups(ctx.Principal.AccountId);
        // The registry's lists are oldest first unless told otherwise (the others' newest first).
        var (page, next) = ListRequests.Page(input, groups, g => g.ModelPackageGroupName, g => g.CreationTime, sortOrder: "Ascending");
        return new ListModelPackageGroupsOutput
        {
            ModelPackageGroupSummaryList = [.. page.Select(g => new ModelPackageGroupSummary
            {
                ModelPackageGroupName = g.ModelPackageGroupName,
                ModelPackageGroupArn = g.ModelPackageGroupArn,
                ModelPackageGroupDescription = g.ModelPackageGroupDescription,
                CreationTime = g.CreationTime,
                ModelPackageGroupStatus = g.ModelPackageGroupStatus,
            })],
            NextToken = next,
        };
    }

    void DeleteModelPackageGroup(DeleteModelPackageGroupInput input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (name, arn) = GroupRef(account, input.ModelPackageGroupName!);
        if (name is null) throw new ModelPackageGroupNotFound(arn);
        registry.DeleteGroup(account, name, arn);
    }

    // ---- packages ----

    CreateModelPackageOutput CreateModelPackage(CreateModelPackageInput input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        if (input.ModelPackageName is not null && input.ModelPackageGroupName is not null)
            throw SageMakerErrors.ValidationException("Both ModelPackageName and ModelPackageGroupName are provided in the input. Cannot determine which one to use.");
        if (input.ModelPackageName is null && input.ModelPackageGroupName is null) throw SageMakerErrors.ValidationException("Missing ARN.");
        if (input.ValidationSpecification is not null) throw Unsupported("ValidationSpecification", "Strata runs no validation profile (its packages are Completed at once).");
        if (input.SourceAlgorithmSpecification is not null) throw Unsupported("SourceAlgorithmSpecification", "Strata has no algorithm resources: give InferenceSpecification.");
        if (input.AdditionalInferenceSpecifications is not null) throw Unsupported("AdditionalInferenceSpecifications", "a package has one inference specification.");
        if (input.ModelCard is not null) throw Unsupported("ModelCard", "Strata has no model cards.");
        if (input.ModelLifeCycle is not null) throw Unsupported("ModelLifeCycle", "use ModelApprovalStatus and CustomerMetadataProperties.");
        if (input.SecurityConfig is not null) throw Unsupported("SecurityConfig", "packages are kept in Strata's state store, not encrypted with a key of one's own.");
        if (input.ManagedStorageType is not null) throw Unsupported("ManagedStorageType", "a package's artifacts stay where its ModelDataUrl says.");
        if (input.CertifyForMarketplace == true) throw Unsupported("CertifyForMarketplace", "Strata has no AWS Marketplace.");
        var specification = ModelRegistryWire.Row(input.InferenceSpecification
            ?? throw SageMakerErrors.ValidationException("InferenceSpecification is required: Strata registers a model package by its containers."), "InferenceSpecification");
        var now = clock.GetUtcNow();
        var package = new ModelPackageRow
        {
            ModelPackageName = input.ModelPackageName ?? "",
            ModelPackageArn = "",
            ModelPackageDescription = input.ModelPackageDescription,
            ModelPackageRegistrationType = input.ModelPackageRegistrationType,
            CreationTime = now,
            InferenceSpecification = specification,
            CreatedBy = Identity(ctx),
            MetadataProperties = input.MetadataProperties is { } m ? new(m.CommitId, m.Repository, m.GeneratedBy, m.ProjectId) : null,
            ModelMetrics = ModelRegistryWire.Row(input.ModelMetrics),
            LastModifiedTime = now,
            Domain = input.Domain,
            Task = input.Task,
            SamplePayloadUrl = input.SamplePayloadUrl,
            CustomerMetadataProperties = input.CustomerMetadataProperties,
            DriftCheckBaselines = ModelRegistryWire.Row(input.DriftCheckBaselines),
            SkipModelValidation = input.SkipModelValidation,
            SourceUri = input.SourceUri,
            ClientToken = input.ClientToken,
        };
        if (input.ModelPackageName is { } name)
        {
            // AWS's own check (a versioned package's containers may carry an environment).
            if (specification.Containers.Any(c => c.Environment is { Count: > 0 }))
                throw SageMakerErrors.ValidationException("1 validation errors detected:Environment variable map cannot be specified when using non-versioned ModelPackages");
            // ModelApprovalStatus does not apply to an unversioned package (SDKs send it anyway).
            var made = registry.CreateUnversioned(account, package with { ModelPackageArn = Arn(account, "model-package", name) }, TagRows(input.Tags));
            return new CreateModelPackageOutput { ModelPackageArn = made.ModelPackageArn };
        }
        var (groupName, groupArn) = GroupRef(account, input.ModelPackageGroupName!);
        if (groupName is null) throw new ModelPackageGroupNotFound(groupArn);
        var version = registry.CreateVersion(account, groupName, groupArn, input.ClientToken, TagRows(input.Tags), (group, v) => package with
        {
            // A versioned package is named as its group, which its ARN names in lower case.
            ModelPackageName = group.ModelPackageGroupName,
            ModelPackageGroupName = group.ModelPackageGroupName,
            ModelPackageVersion = v,
            ModelPackageArn = Arn(account, "model-package", $"{group.ModelPackageGroupName}/{v}"),
            ModelApprovalStatus = input.ModelApprovalStatus ?? "PendingManualApproval",
        });
        return new CreateModelPackageOutput { ModelPackageArn = version.ModelPackageArn };
    }

    (string Key, ModelPackageRow Package) RequirePackage(string account, string nameOrArn)
    {
        var (key, arn) = PackageRef(account, nameOrArn);
        return key is not null && registry.GetPackage(key) is { } package ? (key, package) : throw new ModelPackageNotFound(arn);
    }

    DescribeModelPackageOutput DescribeModelPackage(DescribeModelPackageInput input, RequestContext ctx)
    {
        var (_, p) = RequirePackage(ctx.Principal.AccountId, input.ModelPackageName!);
        return new DescribeModelPackageOutput
        {
            ModelPackageName = p.ModelPackageName,
            ModelPackageGroupName = p.ModelPackageGroupName,
            ModelPackageVersion = p.ModelPackageVersion,
            ModelPackageRegistrationType = p.ModelPackageRegistrationType,
            ModelPackageArn = p.ModelPackageArn,
            ModelPackageDescription = p.ModelPackageDescription,
            CreationTime = p.CreationTime,
            InferenceSpecification = ModelRegistryWire.Wire(p.InferenceSpecification),
            ModelPackageStatus = p.ModelPackageStatus,
            // Nothing validated nor scanned, so no step to report.
            ModelPackageStatusDetails = new ModelPackageStatusDetails { ValidationStatuses = [], ImageScanStatuses = [] },
            CertifyForMarketplace = p.CertifyForMarketplace,
            ModelApprovalStatus = p.ModelApprovalStatus,
            CreatedBy = ModelRegistryWire.User(p.CreatedBy),
            MetadataProperties = p.MetadataProperties is { } m
                ? new MetadataProperties { CommitId = m.CommitId, Repository = m.Repository, GeneratedBy = m.GeneratedBy, ProjectId = m.ProjectId }
                : null,
            ModelMetrics = ModelRegistryWire.Wire(p.ModelMetrics),
            LastModifiedTime = p.LastModifiedTime,
            LastModifiedBy = p.LastModifiedBy is { } by ? ModelRegistryWire.User(by) : null,
            ApprovalDescription = p.ApprovalDescription,
            Domain = p.Domain,
            Task = p.Task,
            SamplePayloadUrl = p.SamplePayloadUrl,
            CustomerMetadataProperties = p.CustomerMetadataProperties,
            DriftCheckBaselines = ModelRegistryWire.Wire(p.DriftCheckBaselines),
            SkipModelValidation = p.SkipModelValidation,
            SourceUri = p.SourceUri,
        };
    }

    ListModelPackagesOutput ListModelPackages(ListModelPackagesInput input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        IEnumerable<ModelPackageRow> packages = registry.ListPackages(account);
        // A group's versions are what a request for a group lists; otherwise unversioned ones, as AWS's default.
        var type = input.ModelPackageType ?? (input.ModelPackageGroupName is null ? "Unversioned" : "Versioned");
        if (type != "Both") packages = packages.Where(p => p.Versioned == (type == "Versioned"));
        if (input.ModelPackageGroupName is { } group)
        {
            var name = GroupRef(account, group).Name;
            packages = packages.Where(p => name is not null && string.Equals(p.ModelPackageGroupName, name, StringComparison.OrdinalIgnoreCase));
        }
        if (input.ModelApprovalStatus is { } status) packages = packages.Where(p => p.ModelApprovalStatus == status);
        var (page, next) = ListRequests.Page(input, packages, p => p.ModelPackageName, p => p.CreationTime, sortOrder: "Ascending");
        return new ListModelPackagesOutput
        {
            ModelPackageSummaryList = [.. page.Select(p => new ModelPackageSummary
            {
                // A versioned package's name is its group's: older models require it in the summary.
                ModelPackageName = p.ModelPackageName,
                ModelPackageGroupName = p.ModelPackageGroupName,
                ModelPackageVersion = p.ModelPackageVersion,
                ModelPackageArn = p.ModelPackageArn,
                ModelPackageDescription = p.ModelPackageDescription,
                CreationTime = p.CreationTime,
                ModelPackageStatus = p.ModelPackageStatus,
                ModelApprovalStatus = p.ModelApprovalStatus,
                ModelPackageRegistrationType = p.ModelPackageRegistrationType,
            })],
            NextToken = next,
        };
    }

    /// <summary>AWS's limit on a package's customer metadata properties.</summary>
    const int MaxCustomerMetadataProperties = 50;

    UpdateModelPackageOutput UpdateModelPackage(UpdateModelPackageInput input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (key, package) = RequirePackage(account, input.ModelPackageArn!);
        if (!package.Versioned)
            throw SageMakerErrors.ValidationException($"UpdateModelPackage updates versioned model packages: {package.ModelPackageArn} is not in a model package group.");
        if (input.AdditionalInferenceSpecificationsToAdd is not null) throw Unsupported("AdditionalInferenceSpecificationsToAdd", "a package has one inference specification.");
        if (input.ModelCard is not null) throw Unsupported("ModelCard", "Strata has no model cards.");
        if (input.ModelLifeCycle is not null) throw Unsupported("ModelLifeCycle", "use ModelApprovalStatus and CustomerMetadataProperties.");
        var remove = input.CustomerMetadataPropertiesToRemove ?? [];
        if (input.CustomerMetadataProperties?.Keys.FirstOrDefault(remove.Contains) is { } both)
            throw SageMakerErrors.ValidationException($"The customer metadata property {both} cannot be both set and removed in one request.");
        var specification = input.InferenceSpecification is { } given ? ModelRegistryWire.Row(given, "InferenceSpecification") : null;
        var metadata = new Dictionary<string, string>(package.CustomerMetadataProperties ?? []);
        foreach (var (name, value) in input.CustomerMetadataProperties ?? []) metadata[name] = value;
        foreach (var name in remove) metadata.Remove(name);
        if (metadata.Count > MaxCustomerMetadataProperties)
            throw SageMakerErrors.ValidationException($"A model package has at most {MaxCustomerMetadataProperties} customer metadata properties; this update would leave {metadata.Count}.");
        var now = clock.GetUtcNow();
        var updated = registry.UpdatePackage(account, key, p => p with
        {
            ModelApprovalStatus = input.ModelApprovalStatus ?? p.ModelApprovalStatus,
            ApprovalDescription = input.ApprovalDescription ?? p.ApprovalDescription,
            ModelPackageRegistrationType = input.ModelPackageRegistrationType ?? p.ModelPackageRegistrationType,
            CustomerMetadataProperties = metadata.Count > 0 ? metadata : null,
            InferenceSpecification = specification ?? p.InferenceSpecification,
            SourceUri = input.SourceUri ?? p.SourceUri,
            LastModifiedTime = now,
            LastModifiedBy = Identity(ctx),
        }) ?? throw new ModelPackageNotFound(package.ModelPackageArn);
        return new UpdateModelPackageOutput { ModelPackageArn = updated.ModelPackageArn };
    }

    void DeleteModelPackage(DeleteModelPackageInput input, RequestContext ctx)
    {
        var (key, arn) = PackageRef(ctx.Principal.AccountId, input.ModelPackageName!);
        if (key is null || !registry.DeletePackage(key)) throw new ModelPackageNotFound(arn);
    }

    // ---- models made from packages ----

    /// <summary>A CreateModel container that names a model package, as the model keeps it: the
    /// package's container (image, artifacts, environment, with the request's environment over
    /// it) under the name the request gave. A versioned package must be Approved, as the API
    /// reference has it ("For versioned models, the value of this parameter must be set to
    /// Approved to deploy the model"), and Completed (it always is in Strata).</summary>
    ContainerDefinition FromPackage(string account, ContainerDefinition container)
    {
        if (container.ModelPackageName is not { } name) return container;
        if (container.Image is not null || container.ModelDataUrl is not null)
            throw SageMakerErrors.ValidationException("Specify one of either Image and Model Data URL or ModelPackageName in container definition.");
        if (container.InferenceSpecificationName is not null) throw Unsupported("InferenceSpecificationName", "a package has one inference specification.");
        var (_, package) = RequirePackage(account, name);
        if (package.ModelPackageStatus != "Completed")
            throw new ModelPackageNotDeployable($"Model package {package.ModelPackageArn} is {package.ModelPackageStatus}: only a Completed model package can be deployed.");
        if (package.Versioned && package.ModelApprovalStatus != "Approved")
            throw new ModelPackageNotDeployable($"Model package {package.ModelPackageArn} has ModelApprovalStatus {package.ModelApprovalStatus}: a versioned model package must be Approved to be deployed.");
        if (package.InferenceSpecification.Containers is not [var only])
            throw SageMakerErrors.ValidationException($"Model package {package.ModelPackageArn} has {package.InferenceSpecification.Containers.Count} containers (an inference pipeline): Strata runs one container per model.");
        var environment = new Dictionary<string, string>(only.Environment ?? []);
        foreach (var (key, value) in container.Environment ?? []) environment[key] = value;
        return container with
        {
            ContainerHostname = container.ContainerHostname ?? only.ContainerHostname,
            Image = only.Image,
            ModelDataUrl = only.ModelDataUrl,
            Environment = environment.Count > 0 ? environment : null,
        };
    }
}

/// <summary>The registry's rows to and from the generated shapes (the wire is never the storage).</summary>
static class ModelRegistryWire
{
    public static UserContext User(IamIdentityRow identity) => new() { IamIdentity = new IamIdentity { Arn = identity.Arn, PrincipalId = identity.PrincipalId } };

    /// <summary>An inference specification as kept. Strata runs a container by its image (the
    /// catalogue's), so each must have one, and keeps only what it uses or answers: the members
    /// that point at other stores (ModelDataSource, AdditionalS3DataSource…) are refused rather
    /// than dropped.</summary>
    public static InferenceSpecificationRow Row(InferenceSpecification spec, string member) => new()
    {
        Containers = [.. spec.Containers!.Select((c, i) =>
        {
            var at = $"{member}.Containers.{i + 1}";
            if (c.ModelDataSource is not null) throw Unsupported($"{at}.ModelDataSource", "give the model's artifacts as ModelDataUrl.");
            if (c.AdditionalModelDataSources is not null || c.AdditionalS3DataSource is not null)
                throw Unsupported($"{at}.AdditionalModelDataSources", "a container's artifacts are its ModelDataUrl.");
            if (c.ProductId is not null) throw Unsupported($"{at}.ProductId", "Strata has no AWS Marketplace.");
            if (c.BaseModel is not null || c.IsCheckpoint is not null || c.ModelDataETag is not null)
                throw Unsupported($"{at}.BaseModel", "Strata registers containers by their image and artifacts.");
            return new PackageContainerRow
            {
                ContainerHostname = c.ContainerHostname,
                Image = c.Image ?? throw JsonProtocol.Invalid($"{at}.Image", null, "Member must not be null"),
                ImageDigest = c.ImageDigest,
                ModelDataUrl = c.ModelDataUrl,
                Environment = c.Environment is { Count: > 0 } env ? env : null,
                ModelInput = c.ModelInput is { DataInputConfig: { } config } ? new ModelInputRow(config) : null,
                Framework = c.Framework,
                FrameworkVersion = c.FrameworkVersion,
                NearestModelName = c.NearestModelName,
            };
        })],
        SupportedTransformInstanceTypes = spec.SupportedTransformInstanceTypes,
        SupportedRealtimeInferenceInstanceTypes = spec.SupportedRealtimeInferenceInstanceTypes,
        SupportedContentTypes = spec.SupportedContentTypes,
        SupportedResponseMIMETypes = spec.SupportedResponseMIMETypes,
    };

    /// <summary>A member Strata refuses rather than keeps without acting on it.</summary>
    public static AwsException Unsupported(string member, string why) => SageMakerErrors.ValidationException($"{member} is not supported by Strata: {why}");

    public static InferenceSpecification Wire(InferenceSpecificationRow spec) => new()
    {
        Containers = [.. spec.Containers.Select(c => new ModelPackageContainerDefinition
        {
            ContainerHostname = c.ContainerHostname,
            Image = c.Image,
            ImageDigest = c.ImageDigest,
            ModelDataUrl = c.ModelDataUrl,
            Environment = c.Environment,
            ModelInput = c.ModelInput is { } input ? new ModelInput { DataInputConfig = input.DataInputConfig } : null,
            Framework = c.Framework,
            FrameworkVersion = c.FrameworkVersion,
            NearestModelName = c.NearestModelName,
        })],
        SupportedTransformInstanceTypes = spec.SupportedTransformInstanceTypes,
        SupportedRealtimeInferenceInstanceTypes = spec.SupportedRealtimeInferenceInstanceTypes,
        SupportedContentTypes = spec.SupportedContentTypes,
        SupportedResponseMIMETypes = spec.SupportedResponseMIMETypes,
    };

    static MetricsSourceRow? Row(MetricsSource? s) => s is null ? null : new(s.ContentType, s.ContentDigest, s.S3Uri!);

    static MetricsSourceRow? Row(FileSource? s) => s is null ? null : new(s.ContentType, s.ContentDigest, s.S3Uri!);

    static MetricsSource? Metrics(MetricsSourceRow? s) => s is null ? null : new() { ContentType = s.ContentType, ContentDigest = s.ContentDigest, S3Uri = s.S3Uri };

    static FileSource? File(MetricsSourceRow? s) => s is null ? null : new() { ContentType = s.ContentType, ContentDigest = s.ContentDigest, S3Uri = s.S3Uri };

    public static ModelMetricsRow? Row(ModelMetrics? m) => m is null ? null : new(
        m.ModelQuality is { } q ? new(Row(q.Statistics), Row(q.Constraints)) : null,
        m.ModelDataQuality is { } d ? new(Row(d.Statistics), Row(d.Constraints)) : null,
        m.Bias is { } b ? new(Row(b.Report), Row(b.PreTrainingReport), Row(b.PostTrainingReport)) : null,
        m.Explainability is { } e ? new(Row(e.Report)) : null);

    public static ModelMetrics? Wire(ModelMetricsRow? m) => m is null ? null : new()
    {
        ModelQuality = m.ModelQuality is { } q ? new() { Statistics = Metrics(q.Statistics), Constraints = Metrics(q.Constraints) } : null,
        ModelDataQuality = m.ModelDataQuality is { } d ? new() { Statistics = Metrics(d.Statistics), Constraints = Metrics(d.Constraints) } : null,
        Bias = m.Bias is { } b ? new() { Report = Metrics(b.Report), PreTrainingReport = Metrics(b.PreTrainingReport), PostTrainingReport = Metrics(b.PostTrainingReport) } : null,
        Explainability = m.Explainability is { } e ? new() { Report = Metrics(e.Report) } : null,
    };

    public static DriftCheckBaselinesRow? Row(DriftCheckBaselines? d) => d is null ? null : new(
        d.Bias is { } b ? new(Row(b.ConfigFile), Row(b.PreTrainingConstraints), Row(b.PostTrainingConstraints)) : null,
        d.Explainability is { } e ? new(Row(e.Constraints), Row(e.ConfigFile)) : null,
        d.ModelQuality is { } q ? new(Row(q.Statistics), Row(q.Constraints)) : null,
        d.ModelDataQuality is { } dq ? new(Row(dq.Statistics), Row(dq.Constraints)) : null);

    public static DriftCheckBaselines? Wire(DriftCheckBaselinesRow? d) => d is null ? null : new()
    {
        Bias = d.Bias is { } b ? new() { ConfigFile = File(b.ConfigFile), PreTrainingConstraints = Metrics(b.PreTrainingConstraints), PostTrainingConstraints = Metrics(b.PostTrainingConstraints) } : null,
        Explainability = d.Explainability is { } e ? new() { Constraints = Metrics(e.Constraints), ConfigFile = File(e.ConfigFile) } : null,
        ModelQuality = d.ModelQuality is { } q ? new() { Statistics = Metrics(q.Statistics), Constraints = Metrics(q.Constraints) } : null,
        ModelDataQuality = d.ModelDataQuality is { } dq ? new() { Statistics = Metrics(dq.Statistics), Constraints = Metrics(dq.Constraints) } : null,
    };
}
