using Microsoft.ML.OnnxRuntime;

namespace Strata.Worker;

/// <summary>
/// The models a multi-model worker holds, within a memory budget. Loading a model that would
/// exceed it answers 507 (Insufficient Storage), as the multi-model container contract says:
/// the server then unloads the least recently used model and tries again.
/// </summary>
public sealed class ModelRegistry(long budgetBytes, int threads)
{
    /// <summary>What a loaded model is taken to cost: its file twice over (weights and ONNX
    /// Runtime's copy), and never less than an ONNX Runtime session's own overhead.</summary>
    public const long MinimumModelBytes = 16 * 1024 * 1024;

    public sealed record Loaded(string Name, string Url, OnnxModel Model, long Bytes);

    readonly Lock _lock = new();
    readonly Dictionary<string, Loaded> _models = [];
    long _used;

    public (int Status, string Message) Load(string name, string url)
    {
        var path = Path.Combine(url, "model.onnx");
        if (!File.Exists(path)) return (400, $"no model.onnx under {url}");
        var bytes = Math.Max(MinimumModelBytes, 2 * new FileInfo(path).Length);
        lock (_lock)
        {
            if (_models.ContainsKey(name)) return (409, $"model {name} is already loaded");
            if (_used + bytes > budgetBytes) return (507, $"loading {name} needs {bytes / (1024 * 1024)} MB; {(budgetBytes - _used) / (1024 * 1024)} MB of {budgetBytes / (1024 * 1024)} MB are free");
            _used += bytes; // reserved while it loads
        }
        try
        {
            var model = new OnnxModel(path, threads);
            lock (_lock) _models[name] = new Loaded(name, url, model, bytes);
            return (200, $"model {name} loaded");
        }
        catch (OnnxRuntimeException e)
        {
            lock (_lock) _used -= bytes;
            return (400, $"model {name} failed to load: {e.Message}");
        }
    }

    public bool Unload(string name)
    {
        Loaded? gone;
        lock (_lock)
        {
            if (!_models.Remove(name, out gone)) return false;
            _used -= gone.Bytes;
        }
        gone.Model.Dispose();
        return true;
    }

    public Loaded? Find(string name) { lock (_lock) return _models.GetValueOrDefault(name); }

    public OnnxModel? Use(string name) => Find(name)?.Model;

    public List<Loaded> List() { lock (_lock) return _models.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList(); }
}
