using Strata.Server.Services.Runtime;

namespace Strata.Server.Tests.Unit;

/// <summary>InvokeEndpoint on an endpoint without running instances: not found only when there is
/// no such endpoint; otherwise a ValidationError with its status (and a Failed one's short
/// reason), or a 503 for one InService whose instances a restart is bringing back.</summary>
public sealed class NotRunningTests
{
    const string Account = "000000000000";

    [Fact]
    public void AMissingEndpointIsNotFound()
    {
        var e = RuntimeService.NotRunning("ep", Account, null);
        Assert.Equal(("ValidationError", 400, "Endpoint ep of account 000000000000 not found."), (e.Code, e.Status, e.Message));
    }

    [Theory]
    [InlineData("Creating")]
    [InlineData("Deleting")]
    [InlineData("OutOfService")]
    public void AnEndpointNotInServiceSaysItsStatus(string status)
    {
        var e = RuntimeService.NotRunning("ep", Account, (status, null));
        Assert.Equal(("ValidationError", 400, $"Endpoint ep of account 000000000000 is not in service: its status is {status}."), (e.Code, e.Status, e.Message));
    }

    [Fact]
    public void AFailedEndpointSaysWhyWhenTheReasonIsShort()
    {
        var e = RuntimeService.NotRunning("ep", Account, ("Failed", "the model artifact s3://b/m.tar.gz (3 bytes) is plain text, not a gzip-compressed tar archive (model.tar.gz)."));
        Assert.Equal("Endpoint ep of account 000000000000 is not in service: its status is Failed (the model artifact s3://b/m.tar.gz (3 bytes) is plain text, "
            + "not a gzip-compressed tar archive (model.tar.gz)).", e.Message);
        var lengthy = RuntimeService.NotRunning("ep", Account, ("Failed", new string('x', 300)));
        Assert.Equal("Endpoint ep of account 000000000000 is not in service: its status is Failed (DescribeEndpoint's FailureReason says why).", lengthy.Message);
        Assert.Equal("Endpoint ep of account 000000000000 is not in service: its status is Failed.", RuntimeService.NotRunning("ep", Account, ("Failed", null)).Message);
    }

    [Fact]
    public void AnEndpointInServiceWithoutInstancesIsRetried()
    {
        var e = RuntimeService.NotRunning("ep", Account, ("InService", null));
        Assert.Equal(("ServiceUnavailable", 503), (e.Code, e.Status));
    }
}
