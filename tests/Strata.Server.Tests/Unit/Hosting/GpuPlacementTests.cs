using Strata.Server.Hosting;

namespace Strata.Server.Tests.Unit;

/// <summary>Where GPU instance types run: each instance on GPUs of its own in turn, on the CPU only
/// when allowed, and never on more GPUs than the machine has.</summary>
public sealed class GpuPlacementTests
{
    static InstanceType Type(string name) => InstanceType.Find(name)!;

    [Fact]
    public void CpuTypesNeedNothing() => Assert.Empty(new GpuPlacement(0, allowCpu: false).For(Type("ml.m5.large")));

    [Fact]
    public void WithoutAGpuAGpuTypeFailsUnlessAllowedOnTheCpu()
    {
        var e = Assert.Throws<HostingException>(() => new GpuPlacement(0, allowCpu: false).For(Type("ml.p3.8xlarge")));
        Assert.Equal("the instance type ml.p3.8xlarge has 4 NVIDIA GPUs and this machine has none (no /proc/driver/nvidia/gpus): "
            + "choose a CPU instance type, or start strata serve with --gpu-instances-on-cpu to run GPU instance types on the CPU", e.Message);
        Assert.Empty(new GpuPlacement(0, allowCpu: true).For(Type("ml.p3.8xlarge")));
    }

    [Fact]
    public void InstancesTakeTheMachinesGpusInTurn()
    {
        var gpus = new GpuPlacement(3, allowCpu: false);
        gpus.Check(Type("ml.g5.xlarge")); // a check takes no GPU
        Assert.Equal(["0", "1", "2", "0"], Enumerable.Range(0, 4).Select(_ => gpus.For(Type("ml.g5.xlarge"))["CUDA_VISIBLE_DEVICES"]));
        Assert.Equal("cuda", gpus.For(Type("ml.g4dn.xlarge"))["STRATA_EXECUTION_PROVIDER"]);
        var eight = new GpuPlacement(8, allowCpu: false);
        Assert.Equal(["0", "1,2,3,4", "5,6,7,0"], new[] { "ml.g5.xlarge", "ml.g5.12xlarge", "ml.g5.12xlarge" }.Select(t => eight.For(Type(t))["CUDA_VISIBLE_DEVICES"]));
        Assert.Contains("has 8 NVIDIA GPUs and this machine has 3", Assert.Throws<HostingException>(() => gpus.For(Type("ml.p4d.24xlarge"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCatalogueHasAwsGpuCounts()
    {
        Assert.Equal((1, 2, 16384), (Type("ml.g4dn.xlarge").Gpus, Type("ml.g4dn.xlarge").Threads, Type("ml.g4dn.xlarge").MemoryMiB));
        Assert.Equal(8, Type("ml.p5.48xlarge").Gpus);
        Assert.Equal(8, Type("ml.p5.48xlarge").Threads);
        Assert.Equal(0, Type("ml.c5.xlarge").Gpus);
    }
}
