using Strata.Server.Jobs.Containers;

namespace Strata.Server.Tests.Unit.Jobs;

/// <summary>Outside the sandbox a job's Environment may not choose the code its container loads.</summary>
public sealed class JobEnvironmentTests
{
    [Theory]
    [InlineData("LD_PRELOAD")]
    [InlineData("LD_LIBRARY_PATH")]
    [InlineData("DOTNET_STARTUP_HOOKS")]
    [InlineData("dotnet_additional_deps")]
    [InlineData("COMPlus_EnableDiagnostics")]
    [InlineData("CORECLR_PROFILER_PATH")]
    [InlineData("PYTHONPATH")]
    [InlineData("PYTHONUSERBASE")]
    [InlineData("PYTHONPYCACHEPREFIX")]
    [InlineData("NODE_OPTIONS")]
    [InlineData("PERL5OPT")]
    [InlineData("RUBYOPT")]
    [InlineData("JAVA_TOOL_OPTIONS")]
    [InlineData("BASH_ENV")]
    [InlineData("PATH")]
    [InlineData("HOME")]
    [InlineData("STRATA_OPT_ML")]
    public void RefusesWhatChoosesCode(string name) => Assert.True(JobContainer.ChoosesCode(name));

    [Theory]
    [InlineData("SPLIT_SEED")]
    [InlineData("PYTHONUNBUFFERED")]
    [InlineData("dataset_format")]
    [InlineData("OMP_NUM_THREADS")]
    [InlineData("SAGEMAKER_PROGRAM")]
    [InlineData("MY_PATH")]
    public void TakesTheRest(string name) => Assert.False(JobContainer.ChoosesCode(name));
}
