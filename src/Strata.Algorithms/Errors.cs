namespace Strata.Algorithms;

/// <summary>A problem with what the customer gave: a hyperparameter, a channel, a file. Reported as
/// SageMaker's built-in algorithms report it, "ClientError: ..." in the failure file.</summary>
public sealed class ClientError(string message) : Exception(message);
