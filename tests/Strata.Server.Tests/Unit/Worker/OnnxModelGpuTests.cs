using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>A GPU instance on the CPU build of ONNX Runtime (what the tests, and a default
/// installation, run on) fails saying how to get the GPU build, before any session is made.</summary>
public sealed class OnnxModelGpuTests
{
    [Fact]
    public void OnTheCpuBuildAGpuModelSaysHowToGetTheGpuBuild()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "classifier", "model.onnx");
        var e = Assert.Throws<InvalidOperationException>(() => new OnnxModel(path, 1, cuda: true));
        Assert.Equal("this instance type runs on a GPU, but this Strata is built on ONNX Runtime's CPU build: "
            + "start it with STRATA_ONNXRUNTIME=gpu ./strata serve for the GPU build, or with --gpu-instances-on-cpu", e.Message);
        using var cpu = new OnnxModel(path, 1);
        Assert.Equal(["features"], cpu.Inputs.Select(i => i.Name));
    }
}
