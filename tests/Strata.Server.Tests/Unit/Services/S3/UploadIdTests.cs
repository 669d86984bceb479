using Strata.Server.Services.S3;

namespace Strata.Server.Tests.Unit;

/// <summary>Upload ids never start with '-': the aws CLI (v1 and v2) reads `--upload-id -…` as an
/// option missing its value, which failed one CLI multipart upload in 64.</summary>
public sealed class UploadIdTests
{
    [Fact]
    public void UploadIdsAreUrlSafeAndHaveNoDash()
    {
        var ids = Enumerable.Range(0, 2000).Select(_ => MultipartOperations.NewUploadId()).ToList();
        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9._]{43}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
