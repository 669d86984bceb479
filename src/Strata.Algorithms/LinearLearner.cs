namespace Strata.Algorithms;

public static class LinearLearner
{
    public static void Train(TrainingEnvironment env, TextWriter log) => throw new ClientError("linear-learner is not implemented yet");
}
