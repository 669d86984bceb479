namespace Strata.Server.Hosting;

/// <summary>
/// Where the instances of GPU instance types (<c>ml.g4dn.*</c>, <c>ml.g5.*</c>, <c>ml.p3.*</c>,
/// <c>ml.p4d.*</c>, <c>ml.p5.*</c>) run. On a machine with NVIDIA GPUs each instance gets as many
/// as its type has (<c>CUDA_VISIBLE_DEVICES</c>, taken in turn) and the worker runs the model on
/// ONNX Runtime's CUDA execution provider. On a machine without one, such an endpoint fails saying
/// so, unless <c>strata serve --gpu-instances-on-cpu</c> lets GPU instance types run on the CPU
/// (as their CPU instance counterparts would).
/// </summary>
/// <param name="readings">Where the instances' GPU metrics are read (NVML); null publishes none.</param>
public sealed class GpuPlacement(int machineGpus, bool allowCpu, IGpuReadings? readings = null)
{
    int _next;
    readonly Lock _lock = new();

    /// <summary>The NVIDIA GPUs this machine has (the driver's list of them; none without the driver).</summary>
    public static int Detect()
    {
        const string gpus = "/proc/driver/nvidia/gpus";
        try { return Directory.Exists(gpus) ? Directory.GetDirectories(gpus).Length : 0; }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    public int MachineGpus => machineGpus;

    /// <summary>Throws <see cref="HostingException"/> when instances of <paramref name="type"/> cannot run here (takes no GPU).</summary>
    public void Check(InstanceType type)
    {
        if (type.Gpus == 0 || machineGpus == 0 && allowCpu) return;
        if (machineGpus == 0)
            throw new HostingException($"the instance type {type.Name} has {type.Gpus} NVIDIA GPU{(type.Gpus == 1 ? "" : "s")} and this machine has none "
                + "(no /proc/driver/nvidia/gpus): choose a CPU instance type, or start strata serve with --gpu-instances-on-cpu to run GPU instance types on the CPU");
        if (type.Gpus > machineGpus)
            throw new HostingException($"the instance type {type.Name} has {type.Gpus} NVIDIA GPUs and this machine has {machineGpus}");
    }

    /// <summary>The GPUs an instance of <paramref name="type"/> takes and the environment it runs
    /// with (none and empty for a CPU type, or a GPU type allowed on the CPU); throws
    /// <see cref="HostingException"/> when it cannot run here.</summary>
    public GpuAssignment For(InstanceType type)
    {
        Check(type);
        if (type.Gpus == 0 || machineGpus == 0) return new GpuAssignment(new Dictionary<string, string>(), null);
        lock (_lock)
        {
            // Instances take the machine's GPUs in turn: one type's instances spread over all of them.
            var first = _next;
            _next = (_next + type.Gpus) % machineGpus;
            var devices = Enumerable.Range(first, type.Gpus).Select(i => i % machineGpus).ToList();
            var environment = new Dictionary<string, string>
            {
                ["CUDA_VISIBLE_DEVICES"] = string.Join(',', devices),
                // CUDA numbers GPUs fastest first unless told otherwise; NVML (the metrics) and
                // the driver's list number them by PCI bus: this makes the three agree.
                ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID",
                ["STRATA_EXECUTION_PROVIDER"] = "cuda",
            };
            return new GpuAssignment(environment, readings is null ? null : new InstanceGpus(readings, devices));
        }
    }
}

/// <summary>What an instance is given: the environment that names its GPUs to the container, and
/// (when the machine's GPUs can be read) the GPUs its metrics are read from.</summary>
public sealed record GpuAssignment(IReadOnlyDictionary<string, string> Environment, InstanceGpus? Gpus);
