using Microsoft.ML;
using Microsoft.ML.Data;

namespace Strata.Algorithms;

/// <summary>
/// Datasets as ML.NET data views (a Label column and a Features vector of the dataset's width), and
/// the ONNX export every algorithm ends with: the graph's only input is <c>Features</c>, float
/// [N, F], so that Strata's inference worker feeds it CSV rows of features as they are.
/// </summary>
public static class MlData
{
    public const string FeaturesColumn = "Features";

    public sealed class FloatRow
    {
        public float Label;
        public float[] Features = [];
    }

    public sealed class BoolRow
    {
        public bool Label;
        public float[] Features = [];
    }

    /// <summary>Class k, 0-based as XGBoost and Linear Learner number them. LoadFromEnumerable takes a
    /// key field's value 0-based too (it stores k+1, ML.NET's key 0 being "missing").</summary>
    public sealed class KeyRow
    {
        public uint Label;
        public float[] Features = [];
    }

    public sealed class FeaturesRow
    {
        public float[] Features = [];
    }

    public static IDataView Regression(MLContext ml, Dataset d)
        => Load(ml, d.Columns, Enumerable.Range(0, d.Rows).Select(i => new FloatRow { Label = d.Labels[i], Features = d.Row(i).ToArray() }));

    public static IDataView Binary(MLContext ml, Dataset d)
        => Load(ml, d.Columns, Enumerable.Range(0, d.Rows).Select(i => new BoolRow { Label = d.Labels[i] > 0.5f, Features = d.Row(i).ToArray() }));

    public static IDataView Multiclass(MLContext ml, Dataset d, int classes)
        => Load(ml, d.Columns, Enumerable.Range(0, d.Rows).Select(i => new KeyRow { Label = (uint)d.Labels[i], Features = d.Row(i).ToArray() }), classes);

    static IDataView Load<T>(MLContext ml, int columns, IEnumerable<T> rows, int classes = 0) where T : class
    {
        var schema = SchemaDefinition.Create(typeof(T));
        schema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, columns);
        if (classes > 0) schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), classes);
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    /// <summary>Writes <paramref name="model"/> as <c>model.onnx</c> in <paramref name="modelDir"/>
    /// (through a temporary file and a rename), keeping only <paramref name="outputs"/>, whose
    /// ONNX names are ML.NET's: the column name and ".output".</summary>
    public static void SaveOnnx(MLContext ml, ITransformer model, int columns, string modelDir, params string[] outputs)
    {
        var schema = SchemaDefinition.Create(typeof(FeaturesRow));
        schema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, columns);
        var input = ml.Data.LoadFromEnumerable([new FeaturesRow { Features = new float[columns] }], schema);
        WriteModelFile(modelDir, stream => ml.Model.ConvertToOnnx(model, input, stream, outputs));
    }

    /// <summary>Writes <c>model.onnx</c> in <paramref name="modelDir"/> through a temporary file,
    /// flushed and then renamed, so that a job stopped midway never leaves half a model.</summary>
    public static void WriteModelFile(string modelDir, Action<Stream> write)
    {
        Directory.CreateDirectory(modelDir);
        var path = Path.Combine(modelDir, "model.onnx");
        var temporary = path + ".tmp";
        using (var stream = File.Create(temporary))
        {
            write(stream);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
