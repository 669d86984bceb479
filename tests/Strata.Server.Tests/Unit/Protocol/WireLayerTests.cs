using System.Runtime.CompilerServices;
using Strata.Codegen;
using Strata.Server.Protocol;
using Strata.Server.Services.AutoScaling;
using Strata.Server.Services.Kms;
using Strata.Server.Services.Runtime;
using Strata.Server.Services.S3;

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
    public void AutoScalingDomainErrorsMapToDeclaredErrors()
        => AssertTable(AutoScalingErrorTable.Errors, typeof(AutoScalingErrorTable).Namespace!, ApplicationAutoScalingErrors.Codes);

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
