using Strata.Server.Hosting;

namespace Strata.Server.Tests.Unit;

/// <summary>Where GPU instance types run: each instance on GPUs of its own in turn, on the CPU only
/// when allowed, and never on more GPUs than the machine has.</summary>
public sealed class GpuPlacementTests
{
    static InstanceType Type(string name) => InstanceType.Find(name)!;

    [Fact]
    public void CpuTypesNeedNothing()
    {
        var cpu = new GpuPlacement(2, allowCpu: false, new FakeReadings()).For(Type("ml.m5.large"));
        Assert.Empty(cpu.Environment);
        Assert.Null(cpu.Gpus);
    }

    [Fact]
    public void WithoutAGpuAGpuTypeFailsUnlessAllowedOnTheCpu()
    {
        var e = Assert.Throws<HostingException>(() => new GpuPlacement(0, allowCpu: false).For(Type("ml.p3.8xlarge")));
        Assert.Equal("the instance type ml.p3.8xlarge has 4 NVIDIA GPUs and this machine has none (no /proc/driver/nvidia/gpus): "
            + "choose a CPU instance type, or start strata serve with --gpu-instances-on-cpu to run GPU instance types on the CPU", e.Message);
        Assert.Empty(new GpuPlacement(0, allowCpu: true).For(Type("ml.p3.8xlarge")).Environment);
    }

    [Fact]
    public void InstancesTakeTheMachinesGpusInTurn()
    {
        var gpus = new GpuPlacement(3, allowCpu: false);
        gpus.Check(Type("ml.g5.xlarge")); // a check takes no GPU
        Assert.Equal(["0", "1", "2", "0"], Enumerable.Range(0, 4).Select(_ => gpus.For(Type("ml.g5.xlarge")).Environment["CUDA_VISIBLE_DEVICES"]));
        var g4dn = gpus.For(Type("ml.g4dn.xlarge")).Environment;
        Assert.Equal("cuda", g4dn["STRATA_EXECUTION_PROVIDER"]);
        // CUDA's numbering made NVML's (and the driver's), so the metrics read the GPUs the model runs on.
        Assert.Equal("PCI_BUS_ID", g4dn["CUDA_DEVICE_ORDER"]);
        var eight = new GpuPlacement(8, allowCpu: false);
        Assert.Equal(["0", "1,2,3,4", "5,6,7,0"], new[] { "ml.g5.xlarge", "ml.g5.12xlarge", "ml.g5.12xlarge" }.Select(t => eight.For(Type(t)).Environment["CUDA_VISIBLE_DEVICES"]));
        Assert.Contains("has 8 NVIDIA GPUs and this machine has 3", Assert.Throws<HostingException>(() => gpus.For(Type("ml.p4d.24xlarge"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInstancesMetricsReadTheGpusItWasGivenSummedAsSageMakerSumsThem()
    {
        var readings = new FakeReadings { [0] = new(10, 5), [1] = new(30, 20), [2] = new(90, 50), [3] = new(0, 1.5) };
        var placement = new GpuPlacement(4, allowCpu: false, readings);
        var one = placement.For(Type("ml.g5.xlarge"));
        var four = placement.For(Type("ml.g5.12xlarge"));
        Assert.Equal([0], one.Gpus!.Devices);
        Assert.Equal((10.0, 5.0), one.Gpus.Read());
        Assert.Equal([1, 2, 3, 0], four.Gpus!.Devices);
        Assert.Equal("1,2,3,0", four.Environment["CUDA_VISIBLE_DEVICES"]);
        // Four GPUs: each one's percent summed, 0 to 400.
        Assert.Equal((130.0, 76.5), four.Gpus.Read());
        // One of its GPUs unreadable: no reading, rather than three GPUs' sum passed off as four's.
        readings.Remove(3);
        Assert.Null(four.Gpus.Read());
        Assert.Equal((10.0, 5.0), one.Gpus.Read());
        // GPUs that cannot be read at all (no NVML): the instance still gets them, without metrics.
        var unread = new GpuPlacement(4, allowCpu: false).For(Type("ml.g5.xlarge"));
        Assert.Equal("0", unread.Environment["CUDA_VISIBLE_DEVICES"]);
        Assert.Null(unread.Gpus);
    }

    /// <summary>NVML itself: on a machine without NVIDIA's driver it is absent, without an error;
    /// on one with it (a GPU machine running this suite), every GPU the driver lists is read.</summary>
    [Fact]
    public void NvmlReadsEveryGpuTheDriverListsOrIsAbsentWithoutOne()
    {
        var machine = GpuPlacement.Detect();
        var nvml = Nvml.Open();
        if (machine == 0)
        {
            Assert.Null(nvml);
            return;
        }
        Assert.NotNull(nvml);
        Assert.Equal(machine, nvml.Devices);
        for (var i = 0; i < machine; i++)
        {
            var reading = nvml.Read(i);
            Assert.NotNull(reading);
            Assert.InRange(reading.Value.Utilization, 0, 100);
            Assert.InRange(reading.Value.MemoryUsed, 0, 100);
        }
        Assert.Null(nvml.Read(machine));
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

/// <summary>GPU readings a test sets; a device without one cannot be read.</summary>
sealed class FakeReadings : Dictionary<int, GpuReading>, IGpuReadings
{
    public GpuReading? Read(int index) => TryGetValue(index, out var reading) ? reading : null;
}
