using System.Globalization;

namespace Strata.Algorithms;

/// <summary>
/// What AWS's own (first-party) algorithms — Linear Learner, k-means, PCA — share: their log lines,
/// which AWS's metric definitions read (<c>#quality_metric: host=algo-1, test msd &lt;loss&gt;=0.06</c>,
/// <c>#progress_metric</c>, <c>#throughput_metric</c>), and, for the unsupervised ones, their data:
/// a <c>train</c> channel and an optional <c>test</c> one, of <c>feature_dim</c> features per record.
/// </summary>
public static class FirstParty
{
    public const string Host = "algo-1";

    /// <summary><c>#quality_metric: host=algo-1, {channel} {metric} &lt;{kind}&gt;={value}</c>; kind is loss or score.</summary>
    public static void QualityMetric(TextWriter log, string channel, string metric, string kind, double value)
        => log.WriteLine($"#quality_metric: host={Host}, {channel} {metric} <{kind}>={Number(value)}");

    /// <summary>A test channel's score as AWS's algorithms print it before its quality metric line.</summary>
    public static void TestScore(TextWriter log, string metric, double value)
        => log.WriteLine($"#test_score ({Host}) : ('{metric}', {Number(value)})");

    public static void Progress(TextWriter log, int epochsDone, int epochs)
        => log.WriteLine($"#progress_metric: host={Host}, completed {Number(100.0 * epochsDone / epochs)} % of epochs");

    public static void Throughput(TextWriter log, long records, TimeSpan elapsed)
        => log.WriteLine($"#throughput_metric: host={Host}, train throughput={Number(records / Math.Max(elapsed.TotalSeconds, 1e-6))} records/second");

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>The channels of an unsupervised algorithm (<c>train</c>, optionally <c>test</c>), read
    /// as CSV unless a channel says otherwise (AWS's recordIO-protobuf is not supported), checked to
    /// have <paramref name="featureDim"/> features and no missing value.</summary>
    public static Dictionary<string, Dataset> UnsupervisedData(TrainingEnvironment env, string algorithm, int featureDim)
    {
        foreach (var name in env.Channels.Keys)
            if (name is not ("train" or "test"))
                throw new ClientError($"Channel '{name}' is not supported by {algorithm}; use 'train' and optionally 'test'");
        if (!env.Channels.ContainsKey("train")) throw new ClientError("Channel 'train' is required");
        var data = DataReader.Read(env.Channels.Values, DataReader.Csv);
        foreach (var d in data.Values)
        {
            if (d.Columns != featureDim)
                throw new ClientError($"Hyperparameter 'feature_dim': {featureDim} does not match the data of channel '{d.Name}', which has {d.Columns} features"
                    + (d.Labeled ? " after its first column, read as the label (for rows of features only, give the channel the content type text/csv;label_size=0)" : ""));
            RequireComplete(d, algorithm);
        }
        return data;
    }

    /// <summary>Fails naming the first missing value (ML.NET's trainers would silently skip its record).</summary>
    public static void RequireComplete(Dataset d, string algorithm)
    {
        var missing = Array.FindIndex(d.Features, float.IsNaN);
        if (missing >= 0)
            throw new ClientError($"Channel '{d.Name}', record {missing / d.Columns + 1}, feature {missing % d.Columns + 1}: a value is missing; {algorithm} needs every feature of every record");
    }
}
