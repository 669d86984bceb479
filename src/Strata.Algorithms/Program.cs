using Strata.Algorithms;

// strata-algorithms: AWS's built-in SageMaker training algorithms (XGBoost, Linear Learner, k-means, PCA) as a
// training container of their own. `train` reads SageMaker's training-container contract from the
// environment (see TrainingEnvironment) and writes $SM_MODEL_DIR/model.onnx; on failure it writes
// the reason to $SM_OUTPUT_DIR/failure, as SageMaker's containers do, and exits 1.
if (args.Length != 1 || args[0] != "train")
{
    Console.Error.WriteLine("usage: strata-algorithms train   (configured by STRATA_ALGORITHM and SageMaker's SM_* environment)");
    return 2;
}
return Trainer.Run(Environment.GetEnvironmentVariable, Console.Out);
