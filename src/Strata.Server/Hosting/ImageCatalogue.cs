using System.Text.Json;
using System.Text.Json.Serialization;

namespace Strata.Server.Hosting;

/// <summary>
/// Bring-your-own-container without a Docker engine: a JSON file in the data directory that maps
/// an image URI to a command implementing the serving-container contract (it listens on
/// <c>SAGEMAKER_BIND_TO_PORT</c> and answers GET /ping and POST /invocations). Managed with
/// <c>strata images add URI -- COMMAND…</c>; read on every use, so changes apply at once.
/// </summary>
public sealed class ImageCatalogue(string dataDir)
{
    string FilePath => Path.Combine(dataDir, "images.json");

    public IReadOnlyDictionary<string, List<string>> Images
    {
        get
        {
            if (!File.Exists(FilePath)) return new Dictionary<string, List<string>>();
            var file = JsonSerializer.Deserialize(File.ReadAllText(FilePath), CatalogueJson.Default.CatalogueFile);
            return file?.Images ?? [];
        }
    }

    public List<string>? CommandFor(string image) => Images.TryGetValue(image, out var command) ? command : null;

    public void Add(string image, List<string> command) => Save(new Dictionary<string, List<string>>(Images) { [image] = command });

    public bool Remove(string image)
    {
        var images = new Dictionary<string, List<string>>(Images);
        if (!images.Remove(image)) return false;
        Save(images);
        return true;
    }

    void Save(Dictionary<string, List<string>> images)
    {
        var tmp = FilePath + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(new CatalogueFile(images), CatalogueJson.Default.CatalogueFile));
        File.Move(tmp, FilePath, overwrite: true);
    }
}

public sealed record CatalogueFile(Dictionary<string, List<string>> Images);

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(CatalogueFile))]
internal sealed partial class CatalogueJson : JsonSerializerContext;
