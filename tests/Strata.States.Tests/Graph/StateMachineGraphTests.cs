using System.Text.Json.Nodes;
using System.Xml.Linq;
using Strata.States.Graph;

namespace Strata.States.Tests.Graph;

public sealed class StateMachineGraphTests
{
    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>The seed's retraining pipeline: pre-process, train, evaluate, decide, register, deploy; a Catch notifies.</summary>
    internal const string Pipeline = """
        {
          "StartAt": "Preprocess",
          "States": {
            "Preprocess": { "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync", "Next": "Train",
                            "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "Notify failure" }] },
            "Train": { "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync", "Next": "Evaluate",
                       "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "Notify failure" }] },
            "Evaluate": { "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync", "Next": "Good enough?" },
            "Good enough?": { "Type": "Choice",
                              "Choices": [{ "Variable": "$.auc", "NumericGreaterThanEquals": 0.9, "Next": "Register" }],
                              "Default": "Rejected" },
            "Register": { "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage", "Next": "Deploy 10 %" },
            "Deploy 10 %": { "Type": "Parallel", "End": true, "Branches": [
                { "StartAt": "Create model", "States": { "Create model": { "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel", "Next": "Update endpoint" },
                                                          "Update endpoint": { "Type": "Task", "Resource": "arn:aws:states:::sagemaker:updateEndpoint", "End": true } } },
                { "StartAt": "Announce", "States": { "Announce": { "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true } } }
            ] },
            "Rejected": { "Type": "Fail", "Error": "ModelRejected", "Cause": "AUC below 0.9" },
            "Notify failure": { "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Next": "Failed" },
            "Failed": { "Type": "Fail" }
          }
        }
        """;

    static XElement Render(string definition, IReadOnlyDictionary<string, StateStatus>? statuses = null) =>
        XElement.Parse(StateMachineGraph.RenderSvg(definition, statuses, "retrain"));

    static IEnumerable<XElement> States(XElement svg) =>
        svg.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "state");

    [Fact]
    public void EveryStateIsDrawnOnceWithItsType()
    {
        var svg = Render(Pipeline);
        var drawn = States(svg).Select(g => ((string)g.Attribute("data-name")!, (string)g.Attribute("data-type")!)).ToList();
        Assert.Equal(12, drawn.Count); // 9 at the top, 3 in the branches
        Assert.Contains(("Deploy 10 %", "Parallel"), drawn);
        Assert.Contains(("Update endpoint", "Task"), drawn);
        Assert.Contains(("Good enough?", "Choice"), drawn);
        Assert.Equal(2, svg.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "terminal"));
    }

    [Fact]
    public void TransitionsAreDrawnWithChoiceAndCatchLabels()
    {
        var svg = Render(Pipeline);
        var edges = svg.Descendants(Svg + "path").Where(p => ((string?)p.Attribute("class"))?.StartsWith("edge") == true).ToList();
        // Start→Preprocess, 9 Next/Default/rules, 2 Catch, 3 to End at the top; 3 inside the branches.
        Assert.Equal(2, edges.Count(e => (string?)e.Attribute("stroke-dasharray") is not null));
        var labels = svg.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("$.auc ≥ 0.9", labels);
        Assert.Contains("Default", labels);
        Assert.Contains("Catch States.ALL", labels);
    }

    [Fact]
    public void StatesAreLaidOutDownwardsInTheOrderTheyRun()
    {
        var svg = Render(Pipeline);
        double Y(string name) => (double)States(svg).Single(g => (string)g.Attribute("data-name")! == name).Element(Svg + "rect")!.Attribute("y")!;
        Assert.True(Y("Preprocess") < Y("Train"));
        Assert.True(Y("Train") < Y("Evaluate"));
        Assert.True(Y("Evaluate") < Y("Good enough?"));
        Assert.True(Y("Good enough?") < Y("Register"));
        Assert.True(Y("Create model") < Y("Update endpoint"));
    }

    [Fact]
    public void ALoopIsDrawnBackUpwards()
    {
        const string loop = """
            { "StartAt": "Poll", "States": {
                "Poll": { "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeTrainingJob", "Next": "Done?" },
                "Done?": { "Type": "Choice", "Choices": [{ "Variable": "$.s", "StringEquals": "Completed", "Next": "Yes" }], "Default": "Wait" },
                "Wait": { "Type": "Wait", "Seconds": 30, "Next": "Poll" },
                "Yes": { "Type": "Succeed" } } }
            """;
        var svg = Render(loop);
        Assert.Single(svg.Descendants(Svg + "path"), p => (string?)p.Attribute("class") == "edge back");
    }

    [Fact]
    public void StatusesColourTheStates()
    {
        var svg = Render(Pipeline, new Dictionary<string, StateStatus>
        {
            ["Preprocess"] = StateStatus.Succeeded,
            ["Train"] = StateStatus.CaughtError,
            ["Notify failure"] = StateStatus.InProgress,
        });
        string Status(string name) => (string)States(svg).Single(g => (string)g.Attribute("data-name")! == name).Attribute("data-status")!;
        string Fill(string name) => (string)States(svg).Single(g => (string)g.Attribute("data-name")! == name).Element(Svg + "rect")!.Attribute("fill")!;
        Assert.Equal("Succeeded", Status("Preprocess"));
        Assert.Equal("CaughtError", Status("Train"));
        Assert.Equal("NotRun", Status("Evaluate"));
        Assert.NotEqual(Fill("Preprocess"), Fill("Evaluate"));
        Assert.NotEqual(Fill("Preprocess"), Fill("Train"));
        Assert.Contains("Caught error", svg.Descendants(Svg + "text").Select(t => t.Value)); // the legend
    }

    [Fact]
    public void StatusesAreReadFromTheHistory()
    {
        var t = DateTimeOffset.UnixEpoch;
        static JsonObject Name(string n) => new() { ["name"] = n };
        HistoryEvent[] history =
        [
            new(1, 0, t, "ExecutionStarted", null, null),
            new(2, 1, t, "TaskStateEntered", "stateEnteredEventDetails", Name("Preprocess")),
            new(3, 2, t, "TaskScheduled", null, null),
            new(4, 3, t, "TaskSucceeded", null, null),
            new(5, 4, t, "TaskStateExited", "stateExitedEventDetails", Name("Preprocess")),
            new(6, 5, t, "TaskStateEntered", "stateEnteredEventDetails", Name("Train")),
            new(7, 6, t, "TaskScheduled", null, null),
            new(8, 7, t, "TaskFailed", null, null),
            new(9, 8, t, "TaskScheduled", null, null), // retried
            new(10, 9, t, "TaskFailed", null, null),
            new(11, 10, t, "TaskStateEntered", "stateEnteredEventDetails", Name("Notify failure")),
            new(12, 11, t, "TaskScheduled", null, null),
            new(13, 12, t, "TaskSucceeded", null, null),
            new(14, 13, t, "TaskStateExited", "stateExitedEventDetails", Name("Notify failure")),
            new(15, 14, t, "FailStateEntered", "stateEnteredEventDetails", Name("Failed")),
            new(16, 15, t, "ExecutionFailed", null, null),
        ];
        var statuses = StateMachineGraph.StatusesFromHistory(history);
        Assert.Equal(StateStatus.Succeeded, statuses["Preprocess"]);
        Assert.Equal(StateStatus.CaughtError, statuses["Train"]);
        Assert.Equal(StateStatus.Succeeded, statuses["Notify failure"]);
        Assert.Equal(StateStatus.Failed, statuses["Failed"]);
        Assert.False(statuses.ContainsKey("Evaluate"));
    }
}
