using Strata.Server.Services.CloudWatch;

namespace Strata.Server.Tests.Unit;

public sealed class AlarmRuleTests
{
    static readonly Dictionary<string, string> States = new()
    {
        ["cpu"] = "ALARM",
        ["disk"] = "OK",
        ["net"] = "INSUFFICIENT_DATA",
        ["name with spaces"] = "ALARM",
        ["arn:aws:cloudwatch:us-east-1:111122223333:alarm:deploy"] = "OK",
    };

    static bool Eval(string rule) => AlarmRule.Parse(rule).Evaluate(name => States.GetValueOrDefault(name));

    [Theory]
    [InlineData("ALARM(cpu)", true)]
    [InlineData("ALARM(\"cpu\")", true)]
    [InlineData("OK(cpu)", false)]
    [InlineData("INSUFFICIENT_DATA( net )", true)]
    [InlineData("ALARM(cpu) AND OK(disk)", true)]
    [InlineData("ALARM(cpu) AND NOT OK(disk)", false)]
    [InlineData("NOT NOT ALARM(cpu)", true)]
    // AND binds tighter than OR: FALSE OR (TRUE AND FALSE) is false; grouped the other way it is not.
    [InlineData("OK(cpu) OR ALARM(cpu) AND OK(net)", false)]
    [InlineData("(OK(cpu) OR ALARM(cpu)) AND NOT OK(net)", true)]
    [InlineData("TRUE", true)]
    [InlineData("FALSE OR FALSE", false)]
    [InlineData("ALARM(\"name with spaces\")", true)]
    [InlineData("ALARM(name with spaces)", true)]
    [InlineData("OK(arn:aws:cloudwatch:us-east-1:111122223333:alarm:deploy)", true)]
    [InlineData("ALARM(unknown)", false)]
    public void EvaluatesRules(string rule, bool expected) => Assert.Equal(expected, Eval(rule));

    [Fact]
    public void ListsItsFunctionsInOrder()
        => Assert.Equal([("ALARM", "cpu"), ("OK", "disk"), ("INSUFFICIENT_DATA", "cpu")],
            AlarmRule.Parse("ALARM(cpu) OR (OK(\"disk\") AND NOT INSUFFICIENT_DATA(cpu)) OR TRUE").Functions.ToList());

    [Theory]
    [InlineData("ALARM(cpu) AND")]
    [InlineData("ALARM(cpu) XOR OK(cpu)")]
    [InlineData("ALARMS(cpu)")]
    [InlineData("alarm(cpu)")]
    [InlineData("ALARM cpu")]
    [InlineData("ALARM(cpu")]
    [InlineData("ALARM(\"cpu)")]
    [InlineData("ALARM()")]
    [InlineData("(TRUE")]
    [InlineData("TRUE)")]
    [InlineData("TRUEFALSE")]
    [InlineData("")]
    public void RefusesMalformedRules(string rule) => Assert.Throws<AlarmRuleException>(() => AlarmRule.Parse(rule));

    [Fact]
    public void RefusesNestingThatWouldExhaustTheStack()
    {
        var deep = new string('(', 5000) + "TRUE" + new string(')', 5000);
        Assert.Contains("nested", Assert.Throws<AlarmRuleException>(() => AlarmRule.Parse(deep)).Message);
        Assert.Throws<AlarmRuleException>(() => AlarmRule.Parse(string.Concat(Enumerable.Repeat("NOT ", 5000)) + "TRUE"));
    }

    [Fact]
    public void SaysWhereARuleGoesWrong()
        => Assert.Equal("Error in alarm rule at position 12: expected an operator (AND, OR) or the end of the rule, found 'XOR OK(cpu)'.",
            Assert.Throws<AlarmRuleException>(() => AlarmRule.Parse("ALARM(cpu) XOR OK(cpu)")).Message);
}
