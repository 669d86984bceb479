using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.States.Intrinsics;
using Strata.States.Jsonata;
using Strata.States.JsonPath;

namespace Strata.States.Definition;

/// <summary>Reads a definition into the model and finds everything ValidateStateMachineDefinition reports.
/// The walk never stops at the first problem: every diagnostic is collected, in definition order, then the
/// transition checks (missing targets, unreachable states, no terminal state) as AWS orders them.</summary>
internal sealed class DefinitionParser
{
    private const string Schema = "SCHEMA_VALIDATION_FAILED";

    private static readonly string[] StateTypes = ["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"];

    private static readonly HashSet<string> Common = ["Type", "Comment", "QueryLanguage"];
    private static readonly HashSet<string> JsonPathOnly =
    [
        "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "ItemsPath", "TimeoutSecondsPath",
        "HeartbeatSecondsPath", "SecondsPath", "TimestampPath", "ErrorPath", "CausePath", "MaxConcurrencyPath",
        "ToleratedFailurePercentagePath", "ToleratedFailureCountPath", "Iterator",
    ];
    private static readonly HashSet<string> JsonataOnly = ["Arguments", "Output", "Items"];

    private static readonly Dictionary<string, HashSet<string>> Allowed = new()
    {
        ["Pass"] = ["Next", "End", "InputPath", "OutputPath", "Assign", "Output", "Result", "ResultPath", "Parameters"],
        ["Task"] =
        [
            "Next", "End", "InputPath", "OutputPath", "Assign", "Output", "Resource", "Parameters", "Arguments", "ResultSelector", "ResultPath",
            "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials",
        ],
        ["Choice"] = ["InputPath", "OutputPath", "Assign", "Output", "Choices", "Default"],
        ["Wait"] = ["Next", "End", "InputPath", "OutputPath", "Assign", "Output", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
        ["Succeed"] = ["InputPath", "OutputPath", "Output"],
        ["Fail"] = ["Error", "Cause", "ErrorPath", "CausePath"],
        ["Parallel"] =
        [
            "Next", "End", "InputPath", "OutputPath", "Assign", "Output", "Branches", "Parameters", "Arguments", "ResultSelector", "ResultPath",
            "Retry", "Catch",
        ],
        ["Map"] =
        [
            "Next", "End", "InputPath", "OutputPath", "Assign", "Output", "Iterator", "ItemProcessor", "ItemsPath", "Items", "ItemSelector",
            "Parameters", "Arguments", "MaxConcurrency", "MaxConcurrencyPath", "ResultSelector", "ResultPath", "Retry", "Catch", "ItemReader",
            "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ToleratedFailureCount",
            "ToleratedFailureCountPath", "Label",
        ],
    };

    private static readonly HashSet<string> ComparisonOperators =
    [
        "StringEquals", "StringEqualsPath", "StringLessThan", "StringLessThanPath", "StringGreaterThan", "StringGreaterThanPath",
        "StringLessThanEquals", "StringLessThanEqualsPath", "StringGreaterThanEquals", "StringGreaterThanEqualsPath", "StringMatches",
        "NumericEquals", "NumericEqualsPath", "NumericLessThan", "NumericLessThanPath", "NumericGreaterThan", "NumericGreaterThanPath",
        "NumericLessThanEquals", "NumericLessThanEqualsPath", "NumericGreaterThanEquals", "NumericGreaterThanEqualsPath",
        "BooleanEquals", "BooleanEqualsPath", "TimestampEquals", "TimestampEqualsPath", "TimestampLessThan", "TimestampLessThanPath",
        "TimestampGreaterThan", "TimestampGreaterThanPath", "TimestampLessThanEquals", "TimestampLessThanEqualsPath",
        "TimestampGreaterThanEquals", "TimestampGreaterThanEqualsPath", "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean",
        "IsTimestamp",
    ];

    private readonly List<DefinitionDiagnostic> _errors = [];
    private readonly List<DefinitionDiagnostic> _transitions = [];
    private bool _noTerminal;

    private bool _allowUnreachable;

    public static (MachineModel? Model, List<DefinitionDiagnostic> Diagnostics) Parse(string definition, bool allowUnreachable = false)
    {
        var parser = new DefinitionParser { _allowUnreachable = allowUnreachable };
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(definition, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            return (null, [new DefinitionDiagnostic("ERROR", "INVALID_JSON_DESCRIPTION", e.Message, null)]);
        }
        if (root is not JsonObject obj)
            return (null, [new DefinitionDiagnostic("ERROR", "INVALID_JSON_DESCRIPTION", "The definition must be a JSON object", null)]);
        var language = Languages.JsonPath;
        if (obj["QueryLanguage"] is JsonNode ql)
        {
            language = ql.GetValueKind() == JsonValueKind.String ? ql.GetValue<string>() : "";
            if (language is not (Languages.JsonPath or Languages.Jsonata))
            {
                parser.Schema_($"The value for the field 'QueryLanguage' must be one of [JSONPath, JSONata]", "/QueryLanguage");
                language = Languages.JsonPath;
            }
        }
        foreach (var kv in obj)
        {
            if (kv.Key is not ("StartAt" or "States" or "Comment" or "Version" or "TimeoutSeconds" or "QueryLanguage"))
                parser.Schema_($"The field '{kv.Key}' is not supported by Step Functions", "");
        }
        int? timeout = null;
        if (obj["TimeoutSeconds"] is JsonNode t)
        {
            if (Json.IsInteger(t, out var ts) && ts > 0) timeout = (int)Math.Min(ts, int.MaxValue);
            else parser.Schema_("The value for the field 'TimeoutSeconds' must be a positive integer", "/TimeoutSeconds");
        }
        var model = parser.ParseMachine(obj, "", language, timeout);
        var all = parser._errors.Concat(parser._transitions).ToList();
        if (parser._noTerminal) all.Add(new DefinitionDiagnostic("ERROR", "MISSING_END_STATE", "Workflow has no terminal state", null));
        return (all.Count == 0 ? model : null, all);
    }

    private void Schema_(string message, string location) => _errors.Add(new DefinitionDiagnostic("ERROR", Schema, message, location));

    private MachineModel ParseMachine(JsonObject obj, string at, string language, int? timeout)
    {
        var startAt = obj["StartAt"] is JsonValue sv && sv.GetValueKind() == JsonValueKind.String ? sv.GetValue<string>() : null;
        if (obj["StartAt"] is null) Schema_("The field 'StartAt' is required but was missing", at == "" ? "" : at);
        else if (startAt is null) Schema_("The value for the field 'StartAt' must be a STRING", at + "/StartAt");
        var states = new Dictionary<string, StateModel>(StringComparer.Ordinal);
        var order = new List<string>();
        if (obj["States"] is not JsonObject statesObj)
        {
            Schema_(obj["States"] is null ? "The field 'States' is required but was missing" : "The value for the field 'States' must be an OBJECT", at == "" ? "" : at);
            statesObj = [];
        }
        foreach (var kv in statesObj)
        {
            var loc = at + "/States/" + kv.Key;
            if (kv.Value is not JsonObject so)
            {
                Schema_("The value for the state must be an OBJECT", loc);
                continue;
            }
            if (kv.Key.Length is 0 or > 80) Schema_("The state name must be between 1 and 80 characters long", loc);
            var state = ParseState(kv.Key, so, loc, language);
            if (state is not null) states[kv.Key] = state;
            order.Add(kv.Key);
        }
        var model = new MachineModel { StartAt = startAt ?? "", States = states, Order = order, QueryLanguage = language, TimeoutSeconds = timeout };
        if (startAt is not null && states.Count == order.Count) CheckTransitions(model, at);
        return model;
    }

    private void CheckTransitions(MachineModel m, string at)
    {
        if (!m.States.ContainsKey(m.StartAt))
        {
            _transitions.Add(new DefinitionDiagnostic("ERROR", "MISSING_TRANSITION_TARGET", $"Missing 'Next' target: {m.StartAt}", at + "/StartAt"));
        }
        var targets = new List<(string From, string Target, string Location)>();
        foreach (var name in m.Order)
        {
            var s = m.States[name];
            var loc = at + "/States/" + name;
            if (s.Next is not null) targets.Add((name, s.Next, loc + "/Next"));
            for (var i = 0; i < s.Choices.Count; i++)
                if (s.Choices[i].Next is { } n) targets.Add((name, n, $"{loc}/Choices[{i}]/Next"));
            if (s.Default is not null) targets.Add((name, s.Default, loc + "/Default"));
            for (var i = 0; i < s.Catch.Count; i++) targets.Add((name, s.Catch[i].Next, $"{loc}/Catch[{i}]/Next"));
        }
        foreach (var (_, target, location) in targets)
        {
            if (!m.States.ContainsKey(target))
                _transitions.Add(new DefinitionDiagnostic("ERROR", "MISSING_TRANSITION_TARGET", $"Missing 'Next' target: {target}", location));
        }
        var terminal = m.States.Values.Any(s => s.End || s.Type is "Succeed" or "Fail");
        if (!terminal)
        {
            _noTerminal = true;
            return;
        }
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        if (m.States.ContainsKey(m.StartAt)) { reached.Add(m.StartAt); queue.Enqueue(m.StartAt); }
        var edges = targets.ToLookup(t => t.From, t => t.Target, StringComparer.Ordinal);
        while (queue.Count > 0)
        {
            foreach (var target in edges[queue.Dequeue()])
                if (m.States.ContainsKey(target) && reached.Add(target)) queue.Enqueue(target);
        }
        foreach (var name in m.Order)
        {
            if (!reached.Contains(name) && !_allowUnreachable)
                _transitions.Add(new DefinitionDiagnostic("ERROR", "MISSING_TRANSITION_TARGET", $"State \"{name}\" is not reachable.", at + "/States/" + name));
        }
    }

    private StateModel? ParseState(string name, JsonObject so, string loc, string inherited)
    {
        var type = so["Type"] is JsonValue tv && tv.GetValueKind() == JsonValueKind.String ? tv.GetValue<string>() : null;
        if (so["Type"] is null)
        {
            Schema_("The field 'Type' is required but was missing", loc);
            return null;
        }
        if (type is null || !StateTypes.Contains(type))
        {
            Schema_($"The value for the field 'Type' must be one of [{string.Join(", ", StateTypes)}]", loc + "/Type");
            return null;
        }
        var language = inherited;
        if (so["QueryLanguage"] is JsonNode ql)
        {
            var l = ql.GetValueKind() == JsonValueKind.String ? ql.GetValue<string>() : "";
            if (l is Languages.JsonPath or Languages.Jsonata)
            {
                if (inherited == Languages.Jsonata && l == Languages.JsonPath)
                    Schema_("A state cannot use JSONPath when the state machine's QueryLanguage is JSONata", loc + "/QueryLanguage");
                language = l;
            }
            else Schema_("The value for the field 'QueryLanguage' must be one of [JSONPath, JSONata]", loc + "/QueryLanguage");
        }
        var allowed = Allowed[type];
        foreach (var kv in so)
        {
            if (Common.Contains(kv.Key)) continue;
            if (!allowed.Contains(kv.Key)) Schema_($"The field '{kv.Key}' is not supported by Step Functions", loc);
            else if (language == Languages.Jsonata && JsonPathOnly.Contains(kv.Key))
                Schema_($"The field '{kv.Key}' is not supported for the query language JSONata", loc);
            else if (language == Languages.JsonPath && JsonataOnly.Contains(kv.Key))
                Schema_($"The field '{kv.Key}' is not supported for the query language JSONPath", loc);
        }

        var next = Str(so, "Next", loc);
        var end = so["End"] is JsonValue ev && ev.GetValueKind() == JsonValueKind.True;
        if (so["End"] is JsonNode e && e.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            Schema_("The value for the field 'End' must be a BOOLEAN", loc + "/End");
        if (type is "Pass" or "Task" or "Wait" or "Parallel" or "Map")
        {
            if (next is null && !end) Schema_("The field 'Next' is required but was missing", loc);
            else if (next is not null && end) Schema_("The fields 'Next' and 'End' cannot both be set", loc);
        }

        CheckPaths(so, loc, language);
        var retry = ParseRetry(so, loc);
        var catches = ParseCatch(so, loc, language);
        var choices = new List<ChoiceRule>();
        string? defaultState = null;
        var branches = new List<MachineModel>();
        MachineModel? processor = null;
        var distributed = false;
        switch (type)
        {
            case "Task":
                if (so["Resource"] is not JsonValue rv || rv.GetValueKind() != JsonValueKind.String)
                    Schema_(so["Resource"] is null ? "The field 'Resource' is required but was missing" : "The value for the field 'Resource' must be a STRING", loc);
                else if (!rv.GetValue<string>().StartsWith("arn:", StringComparison.Ordinal))
                    Schema_("The value for the field 'Resource' must be a valid ARN", loc + "/Resource");
                PositiveInt(so, "TimeoutSeconds", loc, language);
                PositiveInt(so, "HeartbeatSeconds", loc, language);
                break;
            case "Choice":
                if (so["Choices"] is not JsonArray ca || ca.Count == 0)
                    Schema_(so["Choices"] is null ? "The field 'Choices' is required but was missing" : "The field 'Choices' must be a non-empty array", loc);
                else
                {
                    for (var i = 0; i < ca.Count; i++)
                    {
                        if (ca[i] is not JsonObject ro) { Schema_("A choice rule must be an OBJECT", $"{loc}/Choices[{i}]"); continue; }
                        var rule = ParseRule(ro, $"{loc}/Choices[{i}]", language, top: true);
                        if (rule is not null) choices.Add(rule);
                    }
                }
                defaultState = Str(so, "Default", loc);
                break;
            case "Wait":
                var waits = new[] { "Seconds", "Timestamp", "SecondsPath", "TimestampPath" }.Count(so.ContainsKey);
                if (waits != 1) Schema_("A Wait state must have exactly one of 'Seconds', 'Timestamp', 'SecondsPath' or 'TimestampPath'", loc);
                if (so["Seconds"] is JsonNode sec && !(language == Languages.Jsonata && sec is JsonValue sj && Json.TryString(sj, out var ss) && JsonataBridge.IsExpression(ss))
                    && (!Json.IsInteger(sec, out var secs) || secs < 0))
                    Schema_("The value for the field 'Seconds' must be a non-negative integer", loc + "/Seconds");
                if (so["Timestamp"] is JsonNode ts && (!Json.TryString(ts, out var tss) || (!(language == Languages.Jsonata && JsonataBridge.IsExpression(tss)) && !Timestamps.TryParse(tss, out _))))
                    Schema_("The value for the field 'Timestamp' must be a valid RFC3339 timestamp", loc + "/Timestamp");
                break;
            case "Parallel":
                if (so["Branches"] is not JsonArray ba || ba.Count == 0)
                    Schema_(so["Branches"] is null ? "The field 'Branches' is required but was missing" : "The field 'Branches' must be a non-empty array", loc);
                else
                {
                    for (var i = 0; i < ba.Count; i++)
                    {
                        if (ba[i] is JsonObject bo) branches.Add(ParseMachine(bo, $"{loc}/Branches[{i}]", language, null));
                        else Schema_("A branch must be an OBJECT", $"{loc}/Branches[{i}]");
                    }
                }
                break;
            case "Map":
                var proc = so["ItemProcessor"] ?? so["Iterator"];
                var procName = so.ContainsKey("ItemProcessor") ? "ItemProcessor" : "Iterator";
                if (proc is not JsonObject po) Schema_("The field 'ItemProcessor' is required but was missing", loc);
                else
                {
                    if (po["ProcessorConfig"] is JsonObject pc && pc["Mode"] is JsonNode mode)
                    {
                        var m = Json.TryString(mode, out var ms) ? ms : "";
                        if (m is not ("INLINE" or "DISTRIBUTED")) Schema_("The value for the field 'Mode' must be one of [INLINE, DISTRIBUTED]", $"{loc}/{procName}/ProcessorConfig/Mode");
                        distributed = m == "DISTRIBUTED";
                    }
                    var inner = new JsonObject();
                    foreach (var kv in po) if (kv.Key is not ("ProcessorConfig")) inner[kv.Key] = kv.Value?.DeepClone();
                    processor = ParseMachine(inner, $"{loc}/{procName}", language, null);
                }
                if (so["MaxConcurrency"] is JsonNode mc && !(Json.IsInteger(mc, out var mcv) && mcv >= 0) && !IsJsonataString(mc, language))
                    Schema_("The value for the field 'MaxConcurrency' must be a non-negative integer", loc + "/MaxConcurrency");
                if (!distributed)
                {
                    foreach (var f in new[] { "ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label" })
                        if (so.ContainsKey(f)) Schema_($"The field '{f}' is only supported by a Map state in DISTRIBUTED mode", loc);
                }
                else
                {
                    if (so.TryGetPropertyValue("ItemReader", out var ir))
                    {
                        if (ir is not JsonObject reader || !Json.TryString(reader["Resource"], out var rr)
                            || rr is not ("arn:aws:states:::s3:getObject" or "arn:aws:states:::s3:listObjectsV2"))
                            Schema_("The value for the field 'Resource' must be one of [arn:aws:states:::s3:getObject, arn:aws:states:::s3:listObjectsV2]", loc + "/ItemReader/Resource");
                        else if (reader.TryGetPropertyValue("ReaderConfig", out var rc) && rc is not JsonObject)
                            Schema_("The value for the field 'ReaderConfig' must be an object", loc + "/ItemReader/ReaderConfig");
                        else if ((rc as JsonObject)?["InputType"] is JsonNode it && !(Json.TryString(it, out var its) && its is "JSON" or "JSONL" or "CSV" or "MANIFEST" or "PARQUET"))
                            Schema_("The value for the field 'InputType' must be one of [CSV, JSON, JSONL, MANIFEST, PARQUET]", loc + "/ItemReader/ReaderConfig/InputType");
                    }
                    if (so.TryGetPropertyValue("ResultWriter", out var rw))
                    {
                        if (rw is not JsonObject writer || writer["Resource"] is null && writer["WriterConfig"] is null)
                            Schema_("The field 'ResultWriter' must have a Resource and Parameters, a WriterConfig, or both", loc + "/ResultWriter");
                        else if (writer["Resource"] is JsonNode wr && !(Json.TryString(wr, out var wrs) && wrs == "arn:aws:states:::s3:putObject"))
                            Schema_("The value for the field 'Resource' must be arn:aws:states:::s3:putObject", loc + "/ResultWriter/Resource");
                        else if (writer.TryGetPropertyValue("WriterConfig", out var wc) && wc is not JsonObject)
                            Schema_("The value for the field 'WriterConfig' must be an object", loc + "/ResultWriter/WriterConfig");
                        else if ((wc as JsonObject)?["Transformation"] is JsonNode tr && !(Json.TryString(tr, out var trs) && trs is "NONE" or "COMPACT" or "FLATTEN"))
                            Schema_("The value for the field 'Transformation' must be one of [NONE, COMPACT, FLATTEN]", loc + "/ResultWriter/WriterConfig/Transformation");
                        else if ((wc as JsonObject)?["OutputType"] is JsonNode ot && !(Json.TryString(ot, out var ots) && ots is "JSON" or "JSONL"))
                            Schema_("The value for the field 'OutputType' must be one of [JSON, JSONL]", loc + "/ResultWriter/WriterConfig/OutputType");
                    }
                    if (so.TryGetPropertyValue("Label", out var label) && !(Json.TryString(label, out var ls) && ls.Length is > 0 and <= 40))
                        Schema_("The value for the field 'Label' must be a string of 1 to 40 characters", loc + "/Label");
                }
                break;
        }
        CheckJsonata(so, loc, language);
        return new StateModel
        {
            Name = name,
            Type = type,
            Raw = so,
            QueryLanguage = language,
            Next = next,
            End = end,
            Retry = retry,
            Catch = catches,
            Choices = choices,
            Default = defaultState,
            Branches = branches,
            Processor = processor,
            IsDistributed = distributed,
        };
    }

    private static bool IsJsonataString(JsonNode? n, string language) =>
        language == Languages.Jsonata && Json.TryString(n, out var s) && JsonataBridge.IsExpression(s);

    private void PositiveInt(JsonObject so, string field, string loc, string language)
    {
        if (so[field] is JsonNode n && !IsJsonataString(n, language) && !(Json.IsInteger(n, out var v) && v > 0))
            Schema_($"The value for the field '{field}' must be a positive integer", loc + "/" + field);
    }

    private string? Str(JsonObject so, string field, string loc)
    {
        if (so[field] is null) return null;
        if (Json.TryString(so[field], out var s)) return s;
        Schema_($"The value for the field '{field}' must be a STRING", loc + "/" + field);
        return null;
    }

    private void CheckPaths(JsonObject so, string loc, string language)
    {
        if (language == Languages.Jsonata) return;
        foreach (var f in new[] { "InputPath", "OutputPath", "ItemsPath", "TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath", "TimestampPath", "MaxConcurrencyPath", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath" })
        {
            if (!so.TryGetPropertyValue(f, out var v)) continue;
            if (v is null && f is "InputPath" or "OutputPath") continue;
            if (!Json.TryString(v, out var p) || !JsonPathExpression.TryCompile(p, out var compiled, out _) || (f.EndsWith("SecondsPath", StringComparison.Ordinal) && !compiled!.IsDefinite))
                Schema_($"The value for the field '{f}' must be a valid JSONPath", loc + "/" + f);
        }
        foreach (var f in new[] { "ErrorPath", "CausePath" })
        {
            if (!so.TryGetPropertyValue(f, out var v)) continue;
            if (!Json.TryString(v, out var p) || !(IntrinsicFunction.LooksLikeCall(p) ? TryIntrinsic(p) : JsonPathExpression.TryCompile(p, out _, out _)))
                Schema_($"The value for the field '{f}' must be a valid JSONPath or a valid intrinsic function call", loc + "/" + f);
        }
        if (so.TryGetPropertyValue("ResultPath", out var rp) && rp is not null)
        {
            if (!Json.TryString(rp, out var p) || !JsonPathExpression.TryCompile(p, out var c, out _) || !c!.IsReferencePath)
                Schema_("The value for the field 'ResultPath' must be a valid ReferencePath", loc + "/ResultPath");
        }
        foreach (var f in new[] { "Parameters", "ResultSelector", "ItemSelector", "Assign" })
            if (so[f] is JsonNode t) CheckTemplate(t, loc + "/" + f);
    }

    private static bool TryIntrinsic(string text)
    {
        try
        {
            IntrinsicFunction.Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private void CheckTemplate(JsonNode node, string loc)
    {
        if (node is JsonArray arr)
        {
            for (var i = 0; i < arr.Count; i++) if (arr[i] is JsonNode n) CheckTemplate(n, $"{loc}[{i}]");
            return;
        }
        if (node is not JsonObject obj) return;
        foreach (var kv in obj)
        {
            if (kv.Key.EndsWith(".$", StringComparison.Ordinal))
            {
                if (!Json.TryString(kv.Value, out var p)
                    || !(IntrinsicFunction.LooksLikeCall(p) ? TryIntrinsic(p) : JsonPathExpression.TryCompile(p, out _, out _)))
                    Schema_($"The value for the field '{kv.Key}' must be a valid JSONPath or a valid intrinsic function call", loc + "/" + kv.Key);
            }
            else if (kv.Value is JsonNode n) CheckTemplate(n, loc + "/" + kv.Key);
        }
    }

    /// <summary>Every <c>{% %}</c> string in a JSONata state compiles; a <c>{% %}</c> string in a JSONPath state is
    /// refused where AWS refuses it (it would be a literal otherwise, which is never what was meant).</summary>
    private void CheckJsonata(JsonObject so, string loc, string language)
    {
        if (language != Languages.Jsonata) return;
        foreach (var f in new[] { "Arguments", "Output", "Assign", "Items", "ItemSelector", "TimeoutSeconds", "HeartbeatSeconds", "Seconds", "Timestamp", "Error", "Cause", "MaxConcurrency", "ToleratedFailurePercentage", "ToleratedFailureCount" })
            if (so[f] is JsonNode n) CompileAll(n, loc + "/" + f);
    }

    private void CompileAll(JsonNode node, string loc)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var kv in o) if (kv.Value is JsonNode n) CompileAll(n, loc + "/" + kv.Key);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) if (a[i] is JsonNode n) CompileAll(n, $"{loc}[{i}]");
                break;
            default:
                if (Json.TryString(node, out var s) && JsonataBridge.IsExpression(s))
                {
                    try
                    {
                        JsonataBridge.Compile(s);
                    }
                    catch (JsonataException e)
                    {
                        Schema_($"The JSONata expression '{s}' is invalid: {e.Code}: {e.Message}", loc);
                    }
                }
                break;
        }
    }

    private List<Retrier> ParseRetry(JsonObject so, string loc)
    {
        var list = new List<Retrier>();
        if (so["Retry"] is not JsonNode r) return list;
        if (r is not JsonArray arr) { Schema_("The value for the field 'Retry' must be an ARRAY", loc + "/Retry"); return list; }
        for (var i = 0; i < arr.Count; i++)
        {
            var at = $"{loc}/Retry[{i}]";
            if (arr[i] is not JsonObject ro) { Schema_("A retrier must be an OBJECT", at); continue; }
            foreach (var kv in ro)
                if (kv.Key is not ("ErrorEquals" or "IntervalSeconds" or "MaxAttempts" or "BackoffRate" or "MaxDelaySeconds" or "JitterStrategy" or "Comment"))
                    Schema_($"The field '{kv.Key}' is not supported by Step Functions", at);
            var errors = ErrorEquals(ro, at, i == arr.Count - 1, "retrier");
            double interval = 1, backoff = 2;
            var attempts = 3;
            double? maxDelay = null;
            if (ro["IntervalSeconds"] is JsonNode iv) { if (Json.IsInteger(iv, out var v) && v > 0) interval = v; else Schema_("The value for the field 'IntervalSeconds' must be a positive integer", at + "/IntervalSeconds"); }
            if (ro["MaxAttempts"] is JsonNode mv) { if (Json.IsInteger(mv, out var v) && v >= 0 && v <= 99999999) attempts = (int)v; else Schema_("The value for the field 'MaxAttempts' must be a non-negative integer", at + "/MaxAttempts"); }
            if (ro["BackoffRate"] is JsonNode bv) { if (Json.TryNumber(bv, out var v) && v >= 1) backoff = v; else Schema_("The value for the field 'BackoffRate' must be a number greater than or equal to 1.0", at + "/BackoffRate"); }
            if (ro["MaxDelaySeconds"] is JsonNode dv) { if (Json.IsInteger(dv, out var v) && v > 0) maxDelay = v; else Schema_("The value for the field 'MaxDelaySeconds' must be a positive integer", at + "/MaxDelaySeconds"); }
            var jitter = false;
            if (ro["JitterStrategy"] is JsonNode jv)
            {
                var j = Json.TryString(jv, out var js) ? js : "";
                if (j is not ("FULL" or "NONE")) Schema_("The value for the field 'JitterStrategy' must be one of [FULL, NONE]", at + "/JitterStrategy");
                jitter = j == "FULL";
            }
            list.Add(new Retrier(errors, interval, attempts, backoff, maxDelay, jitter));
        }
        return list;
    }

    private List<Catcher> ParseCatch(JsonObject so, string loc, string language)
    {
        var list = new List<Catcher>();
        if (so["Catch"] is not JsonNode c) return list;
        if (c is not JsonArray arr) { Schema_("The value for the field 'Catch' must be an ARRAY", loc + "/Catch"); return list; }
        for (var i = 0; i < arr.Count; i++)
        {
            var at = $"{loc}/Catch[{i}]";
            if (arr[i] is not JsonObject co) { Schema_("A catcher must be an OBJECT", at); continue; }
            foreach (var kv in co)
            {
                if (kv.Key is not ("ErrorEquals" or "Next" or "ResultPath" or "Comment" or "Assign" or "Output"))
                    Schema_($"The field '{kv.Key}' is not supported by Step Functions", at);
                else if (language == Languages.Jsonata && kv.Key == "ResultPath") Schema_("The field 'ResultPath' is not supported for the query language JSONata", at);
                else if (language == Languages.JsonPath && kv.Key == "Output") Schema_("The field 'Output' is not supported for the query language JSONPath", at);
            }
            var errors = ErrorEquals(co, at, i == arr.Count - 1, "catcher");
            var next = Str(co, "Next", at);
            if (co["Next"] is null) Schema_("The field 'Next' is required but was missing", at);
            if (co.TryGetPropertyValue("ResultPath", out var rp) && rp is not null
                && (!Json.TryString(rp, out var p) || !JsonPathExpression.TryCompile(p, out var cp, out _) || !cp!.IsReferencePath))
                Schema_("The value for the field 'ResultPath' must be a valid ReferencePath", at + "/ResultPath");
            if (language == Languages.Jsonata)
                foreach (var f in new[] { "Output", "Assign" }) if (co[f] is JsonNode n) CompileAll(n, at + "/" + f);
            if (next is not null) list.Add(new Catcher(errors, next, co));
        }
        return list;
    }

    private string[] ErrorEquals(JsonObject o, string at, bool last, string what)
    {
        if (o["ErrorEquals"] is not JsonArray ee || ee.Count == 0)
        {
            Schema_(o["ErrorEquals"] is null ? "The field 'ErrorEquals' is required but was missing" : "The field 'ErrorEquals' must be a non-empty array", at);
            return [];
        }
        var errors = ee.Select(e => Json.TryString(e, out var s) ? s : "").ToArray();
        if (errors.Contains("States.ALL") && (errors.Length > 1 || !last))
            Schema_($"The error 'States.ALL' must appear alone in ErrorEquals and only in the last {what}", at + "/ErrorEquals");
        return errors;
    }

    private ChoiceRule? ParseRule(JsonObject ro, string at, string language, bool top)
    {
        string? next = null;
        if (top)
        {
            next = Str(ro, "Next", at);
            if (ro["Next"] is null) Schema_("The field 'Next' is required but was missing", at);
        }
        else if (ro.ContainsKey("Next")) Schema_("The field 'Next' is not supported in a nested choice rule", at);
        if (language == Languages.Jsonata)
        {
            foreach (var kv in ro)
            {
                if (kv.Key is not ("Condition" or "Next" or "Comment" or "Assign" or "Output"))
                    Schema_($"The field '{kv.Key}' is not supported for the query language JSONata", at);
            }
            if (ro["Condition"] is not JsonNode cond) Schema_("The field 'Condition' is required but was missing", at);
            else if (cond.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)
                     && !(Json.TryString(cond, out var cs) && JsonataBridge.IsExpression(cs)))
                Schema_("The value for the field 'Condition' must be a JSONata expression or a BOOLEAN", at + "/Condition");
            else CompileAll(cond, at + "/Condition");
            foreach (var f in new[] { "Output", "Assign" }) if (ro[f] is JsonNode n) CompileAll(n, at + "/" + f);
            return new ChoiceRule { Raw = ro, Next = next, Operator = "Condition" };
        }
        foreach (var f in new[] { "And", "Or" })
        {
            if (ro[f] is JsonNode list)
            {
                var children = new List<ChoiceRule>();
                if (list is not JsonArray la || la.Count == 0) Schema_($"The field '{f}' must be a non-empty array", at + "/" + f);
                else
                    for (var i = 0; i < la.Count; i++)
                        if (la[i] is JsonObject co && ParseRule(co, $"{at}/{f}[{i}]", language, false) is { } child) children.Add(child);
                return new ChoiceRule { Raw = ro, Next = next, Operator = f, Children = children };
            }
        }
        if (ro["Not"] is JsonNode not)
        {
            if (not is not JsonObject no) { Schema_("The field 'Not' must be an OBJECT", at + "/Not"); return null; }
            var child = ParseRule(no, at + "/Not", language, false);
            return new ChoiceRule { Raw = ro, Next = next, Operator = "Not", Children = child is null ? [] : [child] };
        }
        var ops = ro.Select(kv => kv.Key).Where(ComparisonOperators.Contains).ToList();
        foreach (var kv in ro)
            if (!ComparisonOperators.Contains(kv.Key) && kv.Key is not ("Variable" or "Next" or "Comment" or "Assign"))
                Schema_($"The field '{kv.Key}' is not supported by Step Functions", at);
        if (ops.Count != 1) { Schema_("A choice rule must have exactly one comparison operator", at); return null; }
        var op = ops[0];
        if (!Json.TryString(ro["Variable"], out var variable) || !JsonPathExpression.TryCompile(variable, out _, out _))
            Schema_(ro["Variable"] is null ? "The field 'Variable' is required but was missing" : "The value for the field 'Variable' must be a valid JSONPath", at);
        var operand = ro[op];
        var ok = op switch
        {
            _ when op.EndsWith("Path", StringComparison.Ordinal) => Json.TryString(operand, out var p) && JsonPathExpression.TryCompile(p, out _, out _),
            _ when op.StartsWith("String", StringComparison.Ordinal) => Json.TryString(operand, out _),
            _ when op.StartsWith("Numeric", StringComparison.Ordinal) => Json.TryNumber(operand, out _),
            _ when op.StartsWith("Timestamp", StringComparison.Ordinal) => Json.TryString(operand, out var ts) && Timestamps.TryParse(ts, out _),
            _ => operand?.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
        };
        if (!ok) Schema_($"The value for the field '{op}' is not valid", at + "/" + op);
        return new ChoiceRule { Raw = ro, Next = next, Operator = op };
    }
}
