using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Services.StepFunctions;
using Strata.Server.Storage;
using Strata.States.Graph;

namespace Strata.Server;

/// <summary>`strata sfn graph MACHINE [--execution NAME]`: the state machine drawn as SVG, each
/// state coloured by how far it got in the execution when one is named (the definition that
/// execution ran, which an update since may have changed). Read from the state store, as the
/// other person-facing commands are; exit 2 when the machine or execution does not exist.</summary>
public static class SfnGraph
{
    public static int Run(IStateStore state, string account, string machine, string? execution, string? output)
    {
        // A name or an ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME / execution:MACHINE:NAME).
        if (machine.StartsWith("arn:", StringComparison.Ordinal) && machine.Split(':') is [.., var machineAccount, "stateMachine", var machineName])
            (account, machine) = (machineAccount, machineName);
        if (execution is not null && execution.StartsWith("arn:", StringComparison.Ordinal) && execution.Split(':') is [.., "execution", var ofMachine, var executionName])
            (machine, execution) = (ofMachine, executionName);

        string definition, title;
        IReadOnlyDictionary<string, StateStatus>? statuses = null;
        if (execution is not null)
        {
            var executions = new ExecutionStore(state);
            if (executions.Get(account, machine, execution) is not { } run)
            {
                Console.Error.WriteLine($"strata: state machine {machine} has no execution named {execution} in account {account}");
                return 2;
            }
            definition = run.Definition;
            statuses = StateMachineGraph.StatusesFromHistory(executions.Events(run));
            title = $"{machine} — execution {execution}: {run.Status}";
        }
        else if (new StepFunctionsStore(state).Get(account, machine) is { } row)
        {
            definition = row.Definition;
            title = machine;
        }
        else
        {
            Console.Error.WriteLine($"strata: no state machine named {machine} in account {account}");
            return 2;
        }

        var svg = StateMachineGraph.RenderSvg(definition, statuses, title);
        if (output is null) Console.Out.Write(svg);
        else
        {
            File.WriteAllText(output, svg);
            Console.Error.WriteLine($"strata: wrote {output}");
        }
        return 0;
    }
}
