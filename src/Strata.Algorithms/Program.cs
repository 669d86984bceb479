using Strata.Algorithms;
using Strata.Algorithms.Monitor;

// strata-algorithms: AWS's built-in SageMaker containers that Strata runs itself, each as a process of
// its own. `train`: the training algorithms (XGBoost, Linear Learner, k-means, PCA), configured by
// SageMaker's training-container contract in the environment (see TrainingEnvironment), writing
// $SM_MODEL_DIR/model.onnx. `analyze`: the model monitor analyzer, a processing container configured
// by the environment DefaultModelMonitor.suggest_baseline sets (see Analyzer), writing
// statistics.json and constraints.json. On failure each writes the reason to its output directory's
// failure file, as SageMaker's containers do, and exits 1.
if (args is ["train"]) return Trainer.Run(Environment.GetEnvironmentVariable, Console.Out);
if (args is ["analyze"]) return Analyzer.Run("/opt/ml", Environment.GetEnvironmentVariable, Console.Out);
if (args is ["analyze", "--opt-ml", var optMl]) return Analyzer.Run(optMl, Environment.GetEnvironmentVariable, Console.Out);
if (args is ["analyze", "--opt-ml", var root, "--model-socket", var socket]) return Analyzer.Run(root, Environment.GetEnvironmentVariable, Console.Out, socket);
Console.Error.WriteLine("usage: strata-algorithms train     (configured by STRATA_ALGORITHM and SageMaker's SM_* environment)");
Console.Error.WriteLine("       strata-algorithms analyze   (configured by dataset_format, dataset_source, output_path)");
return 2;
