using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Containers;

namespace Strata.Server.Tests.Unit;

/// <summary>A stop that comes as a container starts: the SIGTERM reaches it even before setsid(1)
/// has made its process group (CI saw a tuning job's stop wait out the 120 s grace when the signal
/// went to a group that did not exist yet). The clock is fake and never advanced, so a lost
/// SIGTERM would leave the container running until the test's own deadline.</summary>
public sealed class JobContainerStopTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-container-stop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AStopAsTheContainerStartsEndsItWithoutTheGrace()
    {
        var data = Directory.CreateDirectory(Path.Combine(_dir, "data")).FullName;
        var container = new JobContainer(new JobContainerOptions { DataDir = data, LogDir = Path.Combine(_dir, "logs") }, new FakeTimeProvider(), NullLogger.Instance);
        // Many starts, each stopped at once: the window between Start and setsid() is short.
        for (var i = 0; i < 20; i++)
        {
            var job = Directory.CreateDirectory(Path.Combine(_dir, $"job{i}")).FullName;
            var launch = new ContainerLaunch
            {
                JobName = $"job{i}",
                Kind = "training",
                LogGroup = "/aws/sagemaker/TrainingJobs",
                JobDir = job,
                Command = ["/bin/sleep", "600"],
                MaxRuntime = TimeSpan.FromHours(1),
            };
            var exit = await container.RunAsync("123456789012", launch, Task.FromResult("StopTrainingJob"), CancellationToken.None)
                .WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("StopTrainingJob", exit.StoppedBy);
            Assert.NotEqual(0, exit.ExitCode);
        }
    }
}
