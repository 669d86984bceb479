using System.Runtime.CompilerServices;
using Strata.Codegen;
using Strata.Server.Protocol;
using Strata.Server.Services.AutoScaling;
using Strata.Server.Services.Kms;
using Strata.Server.Services.Runtime;
using Strata.Server.Services.S3;
using SM = Strata.Server.Services.SageMaker;

namespace Strata.Server.Tests.Unit;

/// <summary>The generated wire layer: reproducible from the installed botocore models, its
/// validation worded as AWS words it, and every service's typed errors mapped to errors its
/// model declares.</summary>
public sealed class WireLayerTests
{
    /// <summary>Regenerating from the image's botocore gives exactly the checked-in files (the
    /// test set-up installs botocore with the clients, so this never skips).</summary>
    [Fact]
    public void GeneratedFilesAreWhatTheModelsGive()
    {
        var root = WireCodegen.FindRepositoryRoot(AppContext.BaseDirectory);
        var generated = WireCodegen.Generate(WireCodegen.FindBotocore(), WireCodegen.Services(root)).ToList();
        Assert.NotEmpty(generated);
        foreach (var (path, text) in generated)
        {
            var file = Path.Combine(root, path);
            Assert.True(File.Exists(file), $"{path} is not checked in: run `dotnet run --project src/Strata.Codegen`");
            Assert.True(File.ReadAllText(file) == text, $"{path} differs from what the model gives: run `dotnet run --project src/Strata.Codegen`");
        }
    }

    [Fact]
    public void OneValidationErrorIsWordedAsAws()
    {
        var e = Assert.Throws<AwsException>(() => Check(new EncryptRequest { Plaintext = [1] }));
        Assert.Equal("ValidationException", e.Code);
        Assert.Equal(400, e.Status);
        Assert.Equal("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null", e.Message);
    }

    [Fact]
    public void SeveralValidationErrorsAreListedTogether()
    {
        var e = Assert.Throws<AwsException>(() => Check(new EncryptRequest { KeyId = "", Plaintext = new byte[4097], EncryptionAlgorithm = "ROT13" }));
        Assert.Equal("3 validation errors detected: "
            + "Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1; "
            + "Value '[sensitive]' at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096; "
            + "Value 'ROT13' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: "
            + "[SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]", e.Message);
    }

    [Fact]
    public void ListItemsAreNamedByPosition()
    {
        var request = new TagResourceRequest { KeyId = "k", Tags = [new Tag { TagKey = "a", TagValue = "b" }, new Tag { TagKey = "c" }] };
        var e = Assert.Throws<AwsException>(() => Check(request));
        Assert.Equal("1 validation error detected: Value null at 'tags.2.member.tagValue' failed to satisfy constraint: Member must not be null", e.Message);
    }

    [Fact]
    public void ValidInputPasses() => Check(new EncryptRequest { KeyId = "alias/a", Plaintext = [1, 2, 3], EncryptionContext = new() { ["a"] = "b" } });

    /// <summary>AWS matches a model's pattern as Java's <c>Matcher.matches()</c> does; the .NET form
    /// must accept and refuse the same values.</summary>
    [Theory]
    [InlineData(@"[\w+=,.@-]+", "role_name+=,.@-1", true)]
    [InlineData(@"[\w+=,.@-]+", "a b", false)]            // whole value, not a match inside it
    [InlineData(@"[\w+=,.@-]+", "caf\u00e9", false)]       // \w is ASCII in Java
    [InlineData(@"[\d]*", "123456", true)]
    [InlineData(@"[\d]*", "12\u0663", false)]              // so is \d (U+0663 is an Arabic-Indic digit)
    [InlineData(@"^[a-zA-Z0-9](-*[a-zA-Z0-9])*", "ep-1", true)]
    [InlineData(@"^[a-zA-Z0-9](-*[a-zA-Z0-9])*", "ep_1", false)]
    [InlineData(@"^[a-zA-Z0-9:/_-]+$", "alias/x\n", false)] // $ before a final newline is not the end
    [InlineData(@"\p{Print}+", "policy 1", true)]
    [InlineData(@"\p{Print}+", "policy\u00e9", false)]      // POSIX classes are ASCII
    [InlineData(@"\A\S[\p{Print}]*\z", "id 1", true)]
    [InlineData(@"\p{ASCII}*", "\u0080", false)]
    [InlineData(@"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*", "x \U0001F600 y", true)] // a code-point range in Java
    [InlineData(@"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*", "x\u0001", false)]
    [InlineData(@"(arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-]*\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\/[0-9]{1,9})?", "group-", false)]
    [InlineData(@"(?!\s*$).+", "  ", false)]
    [InlineData(@"(?!\s*$).+", " a", true)]
    public void ModelPatternsMatchAsAwsMatchesThem(string pattern, string value, bool matches)
        => Assert.Equal(matches, JavaPattern.ToDotNet(pattern).IsMatch(value));

    [Fact]
    public void PatternAndMapErrorsAreWordedAsAws()
    {
        var e = Assert.Throws<AwsException>(() => Check(new SM.CreateModelInput
        {
            ModelName = "m_1",
            PrimaryContainer = new SM.ContainerDefinition { Environment = new() { ["1A"] = "x", ["OK"] = "y" } },
        }));
        Assert.Equal("2 validation errors detected: Value 'm_1' at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
            + "[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?; Value '{1A=x, OK=y}' at 'primaryContainer.environment' failed to satisfy constraint: "
            + "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]", e.Message);
    }

    static void Check(IValidatable input)
    {
        var v = new Validator();
        input.Validate(v);
        v.ThrowIfInvalid("ValidationException");
    }

    /// <summary>Every typed error a service's domain throws is mapped, and to a code its model
    /// declares (so clients that switch on modeled exceptions see one of theirs).</summary>
    [Fact]
    public void KmsDomainErrorsMapToDeclaredErrors()
        => AssertTable(KmsErrorTable.Errors, typeof(KmsErrorTable).Namespace!, KmsErrors.Codes);

    [Fact]
    public void S3DomainErrorsMapToDeclaredErrors()
        => AssertTable(S3ErrorTable.Errors, typeof(S3ErrorTable).Namespace!, Strata.Server.Services.S3.Model.S3Errors.Codes.Concat(S3ErrorTable.UndeclaredCodes).ToHashSet());

    [Fact]
    public void IamDomainErrorsMapToDeclaredErrors()
        => AssertTable(Services.Iam.IamErrorTable.Errors, typeof(Services.Iam.IamErrorTable).Namespace!, Services.Iam.IamErrors.Codes);

    [Fact]
    public void SnsDomainErrorsMapToDeclaredErrors()
        => AssertTable(Strata.Server.Services.Sns.SnsErrorTable.Errors, typeof(Strata.Server.Services.Sns.SnsErrorTable).Namespace!, Strata.Server.Services.Sns.SnsErrors.Codes);

    [Fact]
    public void AutoScalingDomainErrorsMapToDeclaredErrors()
        => AssertTable(AutoScalingErrorTable.Errors, typeof(AutoScalingErrorTable).Namespace!, ApplicationAutoScalingErrors.Codes);

    [Fact]
    public void LogsDomainErrorsMapToDeclaredErrors()
        => AssertTable(Services.Logs.LogsErrorTable.Errors, typeof(Services.Logs.LogsErrorTable).Namespace!, Services.Logs.LogsErrors.Codes);

    [Fact]
    public void RuntimeDomainErrorsMapToDeclaredErrors()
        => AssertTable(RuntimeErrorTable.Errors, typeof(RuntimeErrorTable).Namespace!, SageMakerRuntimeErrors.Codes);

    /// <summary>REST-JSON routes come from the model's URI template: labels are single, non-empty
    /// segments, decoded; anything else is no match.</summary>
    [Theory]
    [InlineData("POST", "/endpoints/my%2Dendpoint/invocations", "my-endpoint")]
    [InlineData("post", "/endpoints/e/invocations", "e")]
    [InlineData("GET", "/endpoints/e/invocations", null)]
    [InlineData("POST", "/endpoints//invocations", null)]
    [InlineData("POST", "/endpoints/e/invocations/x", null)]
    [InlineData("POST", "/endpoints/e/invoke", null)]
    public void RestOperationsMatchTheirUriTemplate(string method, string path, string? endpoint)
    {
        var labels = new Dictionary<string, string>();
        var matched = SageMakerRuntimeOperations.InvokeEndpoint.TryMatch(method, path, labels, Uri.UnescapeDataString);
        Assert.Equal(endpoint is not null, matched);
        Assert.Equal(endpoint, labels.GetValueOrDefault("EndpointName"));
        Assert.Equal("X-Amzn-SageMaker-Target-Variant", SageMakerRuntimeHeaders.TargetVariant);
        Assert.Contains(new HttpMember("Body", HttpLocation.Payload, "Body"), SageMakerRuntimeOperations.InvokeEndpoint.Input);
    }

    /// <summary>SageMaker answers most of its domain errors with ValidationException, which its
    /// model declares for no operation: it is one of the errors common to AWS services (the
    /// generated factories list it apart), so the table may use it and the model's declared ones.</summary>
    [Fact]
    public void SageMakerDomainErrorsMapToDeclaredErrors()
    {
        string[] commonToAws = ["ValidationException", "SerializationException", "ThrottlingException", "AccessDeniedException", "InternalFailure"];
        Assert.All(SM.SageMakerErrors.CommonCodes, code => Assert.Contains(code, commonToAws));
        AssertTable(SM.SageMakerErrorTable.Errors, typeof(SM.SageMakerErrorTable).Namespace!, SM.SageMakerErrors.Codes.Union(SM.SageMakerErrors.CommonCodes).ToHashSet());
    }

    [Theory]
    [InlineData("model", "ValidationException", "Could not find model \"arn:m\".")]
    [InlineData("config", "ValidationException", "Could not find endpoint configuration \"arn:m\".")]
    [InlineData("endpoint", "ValidationException", "Could not find endpoint \"arn:m\".")]
    [InlineData("job", "ValidationException", "Could not find requested job with name arn:m")]
    [InlineData("resource", "ValidationException", "Resource arn:m does not exist.")]
    [InlineData("model-exists", "ValidationException", "Cannot create already existing model \"arn:m\".")]
    [InlineData("endpoint-exists", "ValidationException", "Cannot create already existing endpoint \"arn:m\".")]
    [InlineData("job-exists", "ResourceInUse", "Job name must be unique within an AWS account and region, and a job with this name already exists (arn:m)")]
    [InlineData("in-progress", "ValidationException", "Cannot update in-progress endpoint \"arn:m\".")]
    public void SageMakerDomainErrorsKeepTheirCodesAndMessages(string error, string code, string message)
    {
        DomainError e = error switch
        {
            "model" => new SM.ModelNotFound("arn:m"),
            "config" => new SM.EndpointConfigNotFound("arn:m"),
            "endpoint" => new SM.EndpointNotFound("arn:m"),
            "job" => new SM.TransformJobNotFound("arn:m"),
            "resource" => new SM.TaggedResourceNotFound("arn:m"),
            "model-exists" => new SM.ModelAlreadyExists("arn:m"),
            "endpoint-exists" => new SM.EndpointAlreadyExists("arn:m"),
            "job-exists" => new SM.TransformJobAlreadyExists("arn:m"),
            _ => new SM.EndpointNotInService("arn:m"),
        };
        var mapped = SM.SageMakerErrorTable.Errors.TryMap(e)!;
        Assert.Equal((code, 400, message), (mapped.Code, mapped.Status, mapped.Message));
    }

    /// <summary>A tag without its value (botocore with its own validation off sends it) is the
    /// model's validation error, worded as AWS words it.</summary>
    [Fact]
    public void SageMakerTagsAreCheckedAgainstTheModel()
    {
        var e = Assert.Throws<AwsException>(() => Check(new SM.CreateEndpointInput { EndpointName = "e", EndpointConfigName = "c", Tags = [new SM.Tag { Key = "a" }] }));
        Assert.Equal("1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null", e.Message);
    }

    /// <summary>Rows written before SageMaker moved onto the generated layer (when the stored
    /// records doubled as responses) read back and write out unchanged.</summary>
    [Theory]
    [InlineData("""{"EndpointName":"ep","EndpointArn":"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep","EndpointConfigName":"c","ProductionVariants":[{"VariantName":"main","DeployedImages":[{"SpecifiedImage":"strata-onnx:1","ResolvedImage":"strata-onnx:1","ResolutionTime":1764530000.123}],"CurrentWeight":0.8,"DesiredWeight":0.8,"CurrentInstanceCount":2,"DesiredInstanceCount":2,"CurrentServerlessConfig":{"MemorySizeInMB":1024,"MaxConcurrency":2}}],"EndpointStatus":"InService","CreationTime":1764530000.5,"LastModifiedTime":1764530001}""")]
    public void OldEndpointRowsLoad(string json)
        => Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.Deserialize(json, SM.SageMakerRowsJson.Default.EndpointRow), SM.SageMakerRowsJson.Default.EndpointRow));

    [Theory]
    [InlineData("""{"ModelName":"m","ModelArn":"arn:aws:sagemaker:us-east-1:000000000000:model/m","PrimaryContainer":{"Image":"strata-onnx:1","Mode":"MultiModel","ModelDataUrl":"s3://b/models/","Environment":{"A":"1"}},"ExecutionRoleArn":"arn:aws:iam::000000000000:role/r","CreationTime":1764530000.5,"EnableNetworkIsolation":false}""")]
    public void OldModelRowsLoad(string json)
        => Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.Deserialize(json, SM.SageMakerRowsJson.Default.ModelRow), SM.SageMakerRowsJson.Default.ModelRow));

    [Theory]
    [InlineData("""{"EndpointConfigName":"c","EndpointConfigArn":"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/c","ProductionVariants":[{"VariantName":"A","ModelName":"m","InitialInstanceCount":1,"InstanceType":"ml.m5.large","InitialVariantWeight":0.8,"RoutingConfig":{"RoutingStrategy":"RANDOM"}},{"VariantName":"S","ModelName":"m","InitialVariantWeight":1,"ServerlessConfig":{"MemorySizeInMB":2048,"MaxConcurrency":4,"ProvisionedConcurrency":1}}],"KmsKeyId":"k","CreationTime":1764530000.5}""")]
    public void OldEndpointConfigRowsLoad(string json)
        => Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.Deserialize(json, SM.SageMakerRowsJson.Default.EndpointConfigRow), SM.SageMakerRowsJson.Default.EndpointConfigRow));

    [Theory]
    [InlineData("""{"TransformJobName":"j","TransformJobArn":"arn:aws:sagemaker:us-east-1:000000000000:transform-job/j","TransformJobStatus":"Completed","ModelName":"m","MaxConcurrentTransforms":2,"ModelClientConfig":{"InvocationsTimeoutInSeconds":60,"InvocationsMaxRetries":1},"MaxPayloadInMB":6,"BatchStrategy":"MultiRecord","Environment":{"A":"1"},"TransformInput":{"DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://b/in/"}},"ContentType":"text/csv","CompressionType":"None","SplitType":"Line"},"TransformOutput":{"S3OutputPath":"s3://b/out/","AssembleWith":"Line"},"TransformResources":{"InstanceType":"ml.m5.large","InstanceCount":1},"DataProcessing":{"InputFilter":"$[1:]","JoinSource":"Input"},"CreationTime":1764530000.5,"LastModifiedTime":1764530009.25,"TransformStartTime":1764530001,"TransformEndTime":1764530009.25,"StrataProgress":{"ObjectsTotal":2,"ObjectsCompleted":2,"RecordsProcessed":1000}}""")]
    [InlineData("""{"TransformJobName":"j","TransformJobArn":"arn:j","TransformJobStatus":"InProgress","ModelName":"m","MaxConcurrentTransforms":1,"MaxPayloadInMB":6,"BatchStrategy":"SingleRecord","TransformInput":{"DataSource":{"S3DataSource":{"S3DataType":"ManifestFile","S3Uri":"s3://b/m"}},"CompressionType":"Gzip","SplitType":"None"},"TransformOutput":{"S3OutputPath":"s3://b/out/","AssembleWith":"None"},"TransformResources":{"InstanceType":"ml.t2.medium","InstanceCount":1},"CreationTime":1764530000.5,"LastModifiedTime":1764530000.5}""")]
    public void OldTransformJobRowsLoad(string json)
        => Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.Deserialize(json, SM.SageMakerRowsJson.Default.TransformJobRow), SM.SageMakerRowsJson.Default.TransformJobRow));

    [Fact]
    public void OldTagRowsLoad()
    {
        const string json = """[{"Key":"team","Value":"ml"},{"Key":"empty","Value":""}]""";
        Assert.Equal(json, System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonSerializer.Deserialize(json, SM.SageMakerRowsJson.Default.ListTagRow), SM.SageMakerRowsJson.Default.ListTagRow));
    }

    static void AssertTable(ErrorTable table, string ns, IReadOnlySet<string> declared)
    {
        var domainErrors = typeof(DomainError).Assembly.GetTypes()
            .Where(t => t.Namespace == ns && t.IsSubclassOf(typeof(DomainError)) && !t.IsAbstract).ToList();
        Assert.NotEmpty(domainErrors);
        foreach (var type in domainErrors)
        {
            var error = (DomainError)RuntimeHelpers.GetUninitializedObject(type);
            var mapped = table.TryMap(error);
            Assert.True(mapped is not null, $"{type.Name} is not in the error table");
            Assert.True(declared.Contains(mapped!.Code), $"{type.Name} maps to {mapped.Code}, which the model does not declare");
        }
    }
}
