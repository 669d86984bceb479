using System.Runtime.InteropServices;

namespace Strata.Server.Hosting;

/// <summary>One GPU's reading: how busy it was (percent of the last sample period in which a
/// kernel ran, as nvidia-smi shows it) and how much of its memory is in use, in percent.</summary>
public readonly record struct GpuReading(double Utilization, double MemoryUsed);

/// <summary>Where GPU readings come from: NVML on a machine with NVIDIA's driver, a fake in tests.</summary>
public interface IGpuReadings
{
    /// <summary>The device at NVML's <paramref name="index"/> (PCI bus order); null when it cannot be read.</summary>
    GpuReading? Read(int index);
}

/// <summary>
/// NVIDIA's management library (<c>libnvidia-ml.so.1</c>, installed with the driver, not with
/// CUDA), read for SageMaker's GPUUtilization and GPUMemoryUtilization instance metrics. It is
/// opened once per process; on a machine without the driver <see cref="Open"/> answers null and
/// no GPU metric is published.
/// </summary>
public sealed class Nvml : IGpuReadings
{
    const string Library = "libnvidia-ml.so.1";
    const int Success = 0; // NVML_SUCCESS

    [StructLayout(LayoutKind.Sequential)]
    struct Utilization
    {
        public uint Gpu;
        public uint Memory; // the share of time memory was read or written, not the share in use
    }

    [StructLayout(LayoutKind.Sequential)]
    struct Memory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    static class Native
    {
        [DllImport(Library)] public static extern int nvmlInit_v2();
        [DllImport(Library)] public static extern int nvmlDeviceGetCount_v2(out uint count);
        [DllImport(Library)] public static extern int nvmlDeviceGetHandleByIndex_v2(uint index, out IntPtr device);
        [DllImport(Library)] public static extern int nvmlDeviceGetUtilizationRates(IntPtr device, out Utilization utilization);
        [DllImport(Library)] public static extern int nvmlDeviceGetMemoryInfo(IntPtr device, out Memory memory);
    }

    Nvml(int devices) => Devices = devices;

    /// <summary>The GPUs NVML sees.</summary>
    public int Devices { get; }

    /// <summary>NVML, initialised; null when the library is not installed or finds no driver.</summary>
    public static Nvml? Open()
    {
        try
        {
            if (Native.nvmlInit_v2() != Success || Native.nvmlDeviceGetCount_v2(out var count) != Success) return null;
            return new Nvml((int)count);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }

    public GpuReading? Read(int index)
    {
        if (index < 0 || index >= Devices
            || Native.nvmlDeviceGetHandleByIndex_v2((uint)index, out var device) != Success
            || Native.nvmlDeviceGetUtilizationRates(device, out var utilization) != Success
            || Native.nvmlDeviceGetMemoryInfo(device, out var memory) != Success
            || memory.Total == 0)
            return null;
        return new GpuReading(utilization.Gpu, memory.Used * 100.0 / memory.Total);
    }
}

/// <summary>The GPUs one instance holds (NVML's indices, which are CUDA's under
/// <c>CUDA_DEVICE_ORDER=PCI_BUS_ID</c>) and where their readings come from.</summary>
public sealed record InstanceGpus(IGpuReadings Readings, IReadOnlyList<int> Devices)
{
    /// <summary>GPUUtilization and GPUMemoryUtilization as SageMaker reports them: each GPU's
    /// percentage summed over the instance's GPUs (0–400 for four); null when any of them cannot
    /// be read, so an instance never reports part of its GPUs as the whole.</summary>
    public (double Gpu, double GpuMemory)? Read()
    {
        double gpu = 0, memory = 0;
        foreach (var device in Devices)
        {
            if (Readings.Read(device) is not { } reading) return null;
            gpu += reading.Utilization;
            memory += reading.MemoryUsed;
        }
        return (gpu, memory);
    }
}
