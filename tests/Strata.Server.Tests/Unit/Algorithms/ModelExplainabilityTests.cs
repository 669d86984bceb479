using System.Text;
using System.Text.Json.Nodes;
using Strata.Algorithms;
using Strata.Algorithms.Monitor;

namespace Strata.Server.Tests.Unit;

/// <summary>The feature attribution analysis's pieces: Clarify's analysis configuration (defaults,
/// and what it refuses, saying what to fix), the model's answers read as one score per record,
/// a baseline's analysis.json, and a whole explanation of a linear model against the window's mean
/// record, whose SHAP values are wᵢ·(xᵢ − x̄ᵢ) (tolerance 1e-9).</summary>
public sealed class ModelExplainabilityTests
{
    static ModelExplainability.Config Parse(string json) => ModelExplainability.ParseConfig(json, "the analysis configuration");

    [Fact]
    public void TheConfigurationHasClarifysDefaults()
    {
        var config = Parse("""{"headers": ["a", "b", "y"], "label": "y", "methods": {"shap": {}}}""");
        Assert.Equal("mean_abs", config.AggMethod);
        Assert.True(config.SaveLocal);
        Assert.False(config.UseLogit);
        Assert.Null(config.Baseline);
        Assert.Null(config.NumSamples);
        Assert.Equal(("text/csv", "text/csv"), (config.ContentType, config.Accept));
        config = Parse("""
            {"methods": {"shap": {"baseline": [[1, "x"], [2, "y"]], "num_samples": 50, "agg_method": "median", "seed": 4}},
             "predictor": {"content_type": "text/csv", "accept_type": "application/json", "probability": "score", "label_headers": ["approved"]}}
            """);
        Assert.Equal([["1", "x"], ["2", "y"]], config.Baseline);
        Assert.Equal((50, "median", 4, "application/json", "score", "approved"), (config.NumSamples, config.AggMethod, config.Seed, config.Accept, config.Probability, config.LabelHeader));
    }

    [Theory]
    [InlineData("""{"methods": {}}""", "has no methods.shap")]
    [InlineData("""{"methods": {"shap": {"baseline": "s3://bucket/baseline.csv"}}}""", "is an S3 URI, which Strata does not read")]
    [InlineData("""{"methods": {"shap": {"baseline": [[1, 2], [3]]}}}""", "must have the same number of features")]
    [InlineData("""{"methods": {"shap": {"baseline": []}}}""", "at least one row")]
    [InlineData("""{"methods": {"shap": {"agg_method": "max"}}}""", "agg_method max is not one of mean_abs, median, mean_sq")]
    [InlineData("""{"methods": {"shap": {"num_samples": 0}}}""", "num_samples must be a whole number")]
    [InlineData("""{"methods": {"shap": {"use_logit": "yes"}}}""", "use_logit must be true or false")]
    [InlineData("""{"methods": {"shap": {}}, "predictor": {"content_type": "application/json"}}""", "content_type application/json is not supported")]
    [InlineData("""[1, 2]""", "must be a JSON object")]
    [InlineData("""{"methods": """, "is not JSON")]
    public void AConfigurationThatCannotBeUsedSaysWhatToFix(string json, string message)
        => Assert.Contains(message, Assert.Throws<ClientError>(() => Parse(json)).Message);

    [Fact]
    public void ScoresAreReadFromCsvAndJsonAnswers()
    {
        byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
        Assert.Equal([0.5, 1.5], ModelExplainability.Scores(Bytes("0.5\n1.5\n"), 2, null));
        Assert.Equal([0.9, 0.2], ModelExplainability.Scores(Bytes("a,0.9\nb,0.2"), 2, "1"));
        Assert.Equal([2.0, 3.0], ModelExplainability.Scores(Bytes("""{"predictions": [{"score": 2}, {"score": 3}]}"""), 2, null));
        Assert.Equal([0.25], ModelExplainability.Scores(Bytes("""[{"p": {"yes": 0.25}}]"""), 1, "p.yes"));
        Assert.Equal([4.0, 5.0], ModelExplainability.Scores(Bytes("[4, 5]"), 2, null));
        Assert.Contains("answered 1 prediction(s) to 2 record(s)", Assert.Throws<ClientError>(() => ModelExplainability.Scores(Bytes("1"), 2, null)).Message);
        Assert.Contains("is not a number", Assert.Throws<ClientError>(() => ModelExplainability.Scores(Bytes("setosa"), 1, null)).Message);
        Assert.Contains("past the 1 column(s)", Assert.Throws<ClientError>(() => ModelExplainability.Scores(Bytes("1"), 1, "3")).Message);
    }

    [Fact]
    public void ABaselinesAnalysisHoldsEachLabelsGlobalValues()
    {
        var parsed = ModelExplainability.ParseConstraints("""{"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": 0.5, "b": 0.25}, "expected_value": 1}}}}""", "c");
        Assert.Equal(0.25, parsed["label0"]["b"]);
        Assert.Contains("has no explanations.kernel_shap", Assert.Throws<ClientError>(() => ModelExplainability.ParseConstraints("""{"version": "1.0"}""", "c")).Message);
        Assert.Contains("is not a number", Assert.Throws<ClientError>(() => ModelExplainability.ParseConstraints(
            """{"explanations": {"kernel_shap": {"label0": {"global_shap_values": {"a": "high"}}}}}""", "c")).Message);
    }

    [Fact]
    public void ALinearModelIsExplainedExactlyAgainstTheWindowsMeanRecord()
    {
        double[] w = [0.5, -1, 2];
        List<List<string?>> records = [["1", "0", "1"], ["3", "1", "0"], ["2", "2", "2"]];
        var requests = 0;
        double[] Predict(List<string> rows)
        {
            requests++;
            return [.. rows.Select(r => r.Split(',').Select(double.Parse).Select((x, i) => w[i] * x).Sum() + 0.1)];
        }
        var config = Parse("""{"methods": {"shap": {}}}""");
        string[] names = ["a", "b", "c"];
        var explained = ModelExplainability.Explain(config, [.. names], records, Predict, "label0");
        double[] mean = [2, 1, 1];
        for (var i = 0; i < 3; i++)
        {
            for (var r = 0; r < records.Count; r++)
                Assert.Equal(w[i] * (double.Parse(records[r][i]!) - mean[i]), explained.Local[r][i], 1e-9);
            Assert.Equal(records.Average(x => Math.Abs(w[i] * (double.Parse(x[i]!) - mean[i]))), explained.Global[names[i]], 1e-9);
        }
        Assert.Equal(w.Select((x, i) => x * mean[i]).Sum() + 0.1, explained.ExpectedValue, 1e-9);
        Assert.Equal(1 + records.Count, requests);   // the baseline once, then a request per record
        var report = JsonNode.Parse(ModelExplainability.Report(explained))!;
        Assert.Equal(explained.Global["c"], report["explanations"]!["kernel_shap"]!["label0"]!["global_shap_values"]!["c"]!.GetValue<double>());
        Assert.Contains("the captured requests have 3", Assert.Throws<ClientError>(() => ModelExplainability.Explain(
            Parse("""{"methods": {"shap": {"baseline": [[1, 2]]}}}"""), ["a", "b", "c"], records, Predict, "label0")).Message);
    }
}
