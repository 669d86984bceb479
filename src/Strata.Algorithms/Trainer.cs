namespace Strata.Algorithms;

/// <summary>Runs one training job: picks the algorithm, and turns a failure into SageMaker's
/// failure file ("ClientError: ..." for what the customer gave, "AlgorithmError: ..." otherwise).</summary>
public static class Trainer
{
    public static int Run(Func<string, string?> env, TextWriter log)
    {
        try
        {
            var training = TrainingEnvironment.Read(env);
            switch (training.Algorithm)
            {
                case "xgboost": XGBoost.Train(training, log); break;
                case "linear-learner": LinearLearner.Train(training, log); break;
                case "kmeans": KMeans.Train(training, log); break;
                case "pca": Pca.Train(training, log); break;
                default: throw new InvalidOperationException($"STRATA_ALGORITHM '{training.Algorithm}' is not one of xgboost, linear-learner, kmeans, pca");
            }
            log.Flush();
            return 0;
        }
        catch (ClientError e)
        {
            return Fail(env, log, "ClientError: " + e.Message);
        }
        catch (Exception e)
        {
            return Fail(env, log, $"AlgorithmError: {e.Message} ({e.GetType().Name})");
        }
    }

    static int Fail(Func<string, string?> env, TextWriter log, string reason)
    {
        log.Flush();
        Console.Error.WriteLine(reason);
        if (TrainingEnvironment.OutputDir(env) is { } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "failure"), reason);
        }
        return 1;
    }
}
