using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml;

namespace Strata.States.Graph;

/// <summary>How far a state got in one execution, as the picture colours it.</summary>
public enum StateStatus { NotRun, InProgress, Succeeded, Failed, CaughtError, Cancelled }

/// <summary>
/// Draws a state machine as an SVG picture: its states top to bottom from Start to End, the
/// transitions between them (Choice rules and Catchers labelled, Catchers dashed, loops drawn
/// around the side), Parallel branches and Map processors drawn inside their state, and each
/// state coloured by its status in one execution when statuses are given. A layered layout
/// (longest path from Start, then a few barycentre sweeps to untangle each layer) keeps it
/// readable for the pipelines people write without any layout library.
/// </summary>
public static class StateMachineGraph
{
    const double NodeHeight = 40, LayerGap = 56, NodeGap = 36, Pad = 18, Header = 28, CharWidth = 7.4;

    /// <summary>The SVG of a definition (JSON), coloured by <paramref name="statuses"/> (state name → status) when given.</summary>
    public static string RenderSvg(string definition, IReadOnlyDictionary<string, StateStatus>? statuses = null, string? title = null)
    {
        var root = JsonNode.Parse(definition) as JsonObject ?? throw new ArgumentException("the definition is not a JSON object");
        var graph = Layout(root, statuses ?? new Dictionary<string, StateStatus>(), topLevel: true);
        var titleHeight = title is null ? 0 : 30;
        var legendHeight = statuses is null ? 0 : 34;
        var width = Math.Max(graph.Width + 2 * Pad + graph.BackEdgeMargin, title is null ? 0 : title.Length * 8.5 + 2 * Pad);
        width = Math.Max(width, statuses is null ? 0 : 600);
        var height = graph.Height + 2 * Pad + titleHeight + legendHeight;

        var svg = new StringBuilder();
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = true };
        using (var w = XmlWriter.Create(svg, settings))
        {
            w.WriteStartElement("svg", "http://www.w3.org/2000/svg");
            w.WriteAttributeString("width", F(width));
            w.WriteAttributeString("height", F(height));
            w.WriteAttributeString("viewBox", $"0 0 {F(width)} {F(height)}");
            w.WriteAttributeString("font-family", "Helvetica, Arial, sans-serif");
            w.WriteAttributeString("font-size", "13");
            WriteDefs(w);
            w.WriteStartElement("rect");
            w.WriteAttributeString("width", F(width));
            w.WriteAttributeString("height", F(height));
            w.WriteAttributeString("fill", "#ffffff");
            w.WriteEndElement();
            if (title is not null)
                Text(w, Pad, Pad + 14, title, anchor: "start", size: 15, weight: "bold");
            var offsetX = (width - graph.Width - graph.BackEdgeMargin) / 2;
            graph.Draw(w, offsetX, Pad + titleHeight);
            if (statuses is not null) Legend(w, Pad, height - legendHeight + 6);
            w.WriteEndElement();
        }
        return svg.ToString();
    }

    /// <summary>Each state's status, read from an execution's history (GetExecutionHistory's events, in order).</summary>
    public static IReadOnlyDictionary<string, StateStatus> StatusesFromHistory(IReadOnlyList<HistoryEvent> events)
    {
        var statuses = new Dictionary<string, StateStatus>(StringComparer.Ordinal);
        var byId = events.ToDictionary(e => e.Id);
        // The state an event belongs to: follow previousEventId back to the StateEntered that began it.
        string? StateOf(HistoryEvent e)
        {
            for (var current = e; current is not null; current = byId.GetValueOrDefault(current.PreviousEventId))
                if (current.Type.EndsWith("StateEntered", StringComparison.Ordinal))
                    return current.Details?["name"]?.GetValue<string>();
            return null;
        }
        var failedBy = new Dictionary<long, string>();
        foreach (var e in events)
        {
            var name = e.Details?["name"]?.GetValue<string>();
            if (e.Type.EndsWith("StateEntered", StringComparison.Ordinal) && name is not null)
            {
                // A state entered right after another one failed: that one's error was caught.
                if (failedBy.TryGetValue(e.PreviousEventId, out var caught)) statuses[caught] = StateStatus.CaughtError;
                statuses[name] = e.Type == "FailStateEntered" ? StateStatus.Failed : StateStatus.InProgress;
            }
            else if (e.Type.EndsWith("StateExited", StringComparison.Ordinal) && name is not null)
            {
                if (statuses.GetValueOrDefault(name) != StateStatus.CaughtError) statuses[name] = StateStatus.Succeeded;
            }
            else if (e.Type is "TaskFailed" or "TaskTimedOut" or "TaskStartFailed" or "TaskSubmitFailed" or "ActivityFailed" or "ActivityTimedOut"
                     or "MapStateFailed" or "ParallelStateFailed" or "EvaluationFailed" && StateOf(e) is { } failed)
            {
                statuses[failed] = StateStatus.Failed;
                failedBy[e.Id] = failed;
            }
            else if (e.Type is "TaskScheduled" && StateOf(e) is { } retried && statuses.GetValueOrDefault(retried) == StateStatus.Failed)
                statuses[retried] = StateStatus.InProgress; // a Retry scheduled the task again
            else if (e.Type is "ExecutionFailed" or "ExecutionTimedOut" or "ExecutionAborted")
            {
                var end = e.Type == "ExecutionAborted" ? StateStatus.Cancelled : StateStatus.Failed;
                foreach (var (state, status) in statuses.ToArray())
                    if (status == StateStatus.InProgress) statuses[state] = end;
            }
        }
        return statuses;
    }

    static readonly (StateStatus Status, string Fill, string Stroke, string Label)[] Palette =
    [
        (StateStatus.NotRun, "#ffffff", "#8d99a6", "Not run"),
        (StateStatus.InProgress, "#dbeafe", "#1d4ed8", "In progress"),
        (StateStatus.Succeeded, "#dcfce7", "#15803d", "Succeeded"),
        (StateStatus.Failed, "#fee2e2", "#b91c1c", "Failed"),
        (StateStatus.CaughtError, "#ffedd5", "#c2410c", "Caught error"),
        (StateStatus.Cancelled, "#e5e7eb", "#4b5563", "Cancelled"),
    ];

    static (string Fill, string Stroke) Colours(StateStatus status)
    {
        var p = Palette.First(p => p.Status == status);
        return (p.Fill, p.Stroke);
    }

    static void Legend(XmlWriter w, double x, double y)
    {
        foreach (var (_, fill, stroke, label) in Palette)
        {
            Rect(w, x, y, 14, 14, fill, stroke, 3, dashed: false);
            Text(w, x + 20, y + 11, label, anchor: "start", size: 12);
            x += 34 + label.Length * 7;
        }
    }

    // ---- layout ------------------------------------------------------------------------------

    sealed class Node(string id, string label, string type)
    {
        public string Id { get; } = id;
        public string Label { get; } = label;
        public string Type { get; } = type; // a state type, or "Start"/"End"
        public double Width { get; set; }
        public double Height { get; set; } = NodeHeight;
        public double X { get; set; }
        public double Y { get; set; }
        public int Layer { get; set; }
        public double Order { get; set; }
        public StateStatus Status { get; set; }
        public List<Laid> Children { get; } = []; // Parallel branches, a Map's processor
        public double CenterX => X + Width / 2;
    }

    sealed record Edge(Node From, Node To, string? Label, bool Dashed)
    {
        public bool Back { get; set; }
        public List<Node> Via { get; } = []; // the points it passes in the layers it spans
    }

    sealed class Laid(List<Node> nodes, List<Edge> edges, double width, double height, double backEdgeMargin)
    {
        public List<Node> Nodes { get; } = nodes;
        public List<Edge> Edges { get; } = edges;
        public double Width { get; } = width;
        public double Height { get; } = height;
        public double BackEdgeMargin { get; } = backEdgeMargin;

        public void Draw(XmlWriter w, double dx, double dy)
        {
            var lane = 0;
            foreach (var edge in Edges) DrawEdge(w, edge, dx, dy, Width, edge.Back ? lane++ : 0);
            foreach (var node in Nodes) DrawNode(w, node, dx, dy);
        }
    }

    static Laid Layout(JsonObject machine, IReadOnlyDictionary<string, StateStatus> statuses, bool topLevel)
    {
        var states = machine["States"] as JsonObject ?? [];
        var startAt = machine["StartAt"]?.GetValue<string>();
        var nodes = new List<Node>();
        var byName = new Dictionary<string, Node>(StringComparer.Ordinal);
        var start = new Node("", topLevel ? "Start" : "", "Start") { Width = topLevel ? 64 : 0, Height = topLevel ? 26 : 0 };
        var end = new Node("", topLevel ? "End" : "", "End") { Width = topLevel ? 64 : 0, Height = topLevel ? 26 : 0 };
        nodes.Add(start);
        foreach (var (name, value) in states)
        {
            var state = value as JsonObject ?? [];
            var type = state["Type"]?.GetValue<string>() ?? "?";
            var node = new Node(name, name, type) { Status = statuses.GetValueOrDefault(name) };
            node.Width = Math.Max(120, name.Length * CharWidth + 28);
            if (type == "Parallel" && state["Branches"] is JsonArray branches)
                foreach (var branch in branches.OfType<JsonObject>()) node.Children.Add(Layout(branch, statuses, topLevel: false));
            else if (type == "Map" && (state["ItemProcessor"] ?? state["Iterator"]) is JsonObject processor)
                node.Children.Add(Layout(processor, statuses, topLevel: false));
            if (node.Children.Count > 0)
            {
                node.Width = Math.Max(node.Width, node.Children.Sum(c => c.Width + c.BackEdgeMargin) + NodeGap * (node.Children.Count - 1) + 2 * Pad);
                node.Height = Header + node.Children.Max(c => c.Height) + Pad;
            }
            nodes.Add(node);
            byName[name] = node;
        }
        nodes.Add(end);

        var edges = new List<Edge>();
        if (startAt is not null && byName.TryGetValue(startAt, out var first)) edges.Add(new Edge(start, first, null, false));
        foreach (var (name, value) in states)
        {
            var state = value as JsonObject ?? [];
            var from = byName[name];
            void To(string? target, string? label, bool dashed)
            {
                if (target is not null && byName.TryGetValue(target, out var to)) edges.Add(new Edge(from, to, label, dashed));
            }
            if (state["Choices"] is JsonArray choices)
            {
                foreach (var choice in choices.OfType<JsonObject>()) To(choice["Next"]?.GetValue<string>(), RuleLabel(choice), false);
                To(state["Default"]?.GetValue<string>(), "Default", false);
            }
            To(state["Next"]?.GetValue<string>(), null, false);
            if (state["End"]?.GetValue<bool>() == true || from.Type is "Succeed" or "Fail") edges.Add(new Edge(from, end, null, false));
            if (state["Catch"] is JsonArray catchers)
                foreach (var catcher in catchers.OfType<JsonObject>())
                    To(catcher["Next"]?.GetValue<string>(), "Catch " + string.Join(", ", (catcher["ErrorEquals"] as JsonArray ?? []).Select(e => e?.ToString())), true);
        }

        MarkBackEdges(start, edges);
        AssignLayers(nodes, edges, end);
        // An edge that spans layers passes through a point in each layer between (a "dummy"), so
        // that the ordering keeps room for it and it is never drawn through a state.
        var segments = new List<(Node From, Node To)>();
        foreach (var edge in edges.Where(e => !e.Back))
        {
            var previous = edge.From;
            for (var layer = edge.From.Layer + 1; layer < edge.To.Layer; layer++)
            {
                var via = new Node("", "", "Via") { Width = 12, Height = 0, Layer = layer };
                nodes.Add(via);
                edge.Via.Add(via);
                segments.Add((previous, via));
                previous = via;
            }
            segments.Add((previous, edge.To));
        }
        var layers = nodes.GroupBy(n => n.Layer).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
        Untangle(layers, segments);
        var width = Place(layers, segments, topLevel ? 0.0 : Header);
        // A nested graph ends at its last state (its End is not drawn); the top level at End.
        var height = nodes.Where(n => n.Height > 0).Max(n => n.Y + n.Height);
        var backEdges = edges.Count(e => e.Back);
        return new Laid(nodes, edges, width, height, backEdges == 0 ? 0 : 24 + 14 * backEdges);
    }

    /// <summary>Rows top to bottom; in each row, every node as near as it can be to the mean of the
    /// nodes that lead to it (straight edges), keeping the row's order and the gaps between nodes.</summary>
    static double Place(List<List<Node>> layers, List<(Node From, Node To)> segments, double top)
    {
        var y = top;
        foreach (var layer in layers)
        {
            var real = layer.Where(n => n.Type != "Via").ToList();
            var rowHeight = real.Count == 0 ? NodeHeight : real.Max(n => n.Height);
            var desired = layer.Select(n =>
            {
                var from = segments.Where(s => s.To == n).Select(s => s.From.CenterX).ToList();
                return from.Count > 0 ? from.Average() : 0;
            }).ToList();
            var right = double.NegativeInfinity;
            for (var i = 0; i < layer.Count; i++)
            {
                var node = layer[i];
                node.X = Math.Max(desired[i] - node.Width / 2, right + (i == 0 ? 0 : NodeGap));
                right = node.X + node.Width;
            }
            // Pushing right drifts the row: shift it back by the mean displacement.
            var drift = Enumerable.Range(0, layer.Count).Average(i => layer[i].CenterX - desired[i]);
            foreach (var node in layer)
            {
                node.X -= drift;
                node.Y = node.Type == "Via" ? y + rowHeight / 2 : y + (rowHeight - node.Height) / 2;
            }
            y += rowHeight + (real.Any(n => n.Height > 0) ? LayerGap : 0);
        }
        var all = layers.SelectMany(l => l).ToList();
        var left = all.Min(n => n.X);
        foreach (var node in all) node.X -= left;
        return all.Max(n => n.X + n.Width);
    }

    static string RuleLabel(JsonObject rule)
    {
        if (rule["Condition"] is { } condition) return Shorten(condition.ToString());
        foreach (var (key, value) in rule)
        {
            if (key is "Next" or "Variable" or "Comment" or "Assign" or "Output") continue;
            if (key is "And" or "Or" or "Not") return key;
            var variable = rule["Variable"]?.ToString() ?? "";
            return Shorten($"{variable} {Operator(key)} {value?.ToJsonString()}");
        }
        return "";
    }

    static string Operator(string comparison) => comparison switch
    {
        _ when comparison.EndsWith("GreaterThanEquals", StringComparison.Ordinal) || comparison.EndsWith("GreaterThanEqualsPath", StringComparison.Ordinal) => "≥",
        _ when comparison.EndsWith("LessThanEquals", StringComparison.Ordinal) || comparison.EndsWith("LessThanEqualsPath", StringComparison.Ordinal) => "≤",
        _ when comparison.Contains("GreaterThan", StringComparison.Ordinal) => ">",
        _ when comparison.Contains("LessThan", StringComparison.Ordinal) => "<",
        _ when comparison.Contains("Equals", StringComparison.Ordinal) => "=",
        _ => comparison,
    };

    static string Shorten(string s) => s.Length <= 34 ? s : s[..33] + "…";

    /// <summary>Edges that close a loop (to a state on the current depth-first path) are drawn upwards.</summary>
    static void MarkBackEdges(Node start, List<Edge> edges)
    {
        var onPath = new HashSet<Node>();
        var done = new HashSet<Node>();
        void Visit(Node node)
        {
            onPath.Add(node);
            foreach (var edge in edges.Where(e => e.From == node))
            {
                if (onPath.Contains(edge.To)) edge.Back = true;
                else if (!done.Contains(edge.To)) Visit(edge.To);
            }
            onPath.Remove(node);
            done.Add(node);
        }
        Visit(start);
    }

    /// <summary>Each node's layer is its longest forward path from Start; End sits below everything.</summary>
    static void AssignLayers(List<Node> nodes, List<Edge> edges, Node end)
    {
        var forward = edges.Where(e => !e.Back).ToList();
        var indegree = nodes.ToDictionary(n => n, n => forward.Count(e => e.To == n));
        var ready = new Queue<Node>(nodes.Where(n => indegree[n] == 0));
        while (ready.Count > 0)
        {
            var node = ready.Dequeue();
            foreach (var edge in forward.Where(e => e.From == node))
            {
                edge.To.Layer = Math.Max(edge.To.Layer, node.Layer + 1);
                if (--indegree[edge.To] == 0) ready.Enqueue(edge.To);
            }
        }
        end.Layer = nodes.Where(n => n != end).Max(n => n.Layer) + 1;
    }

    /// <summary>Orders each layer by the mean position of its neighbours, sweeping down then up.</summary>
    static void Untangle(List<List<Node>> layers, List<(Node From, Node To)> segments)
    {
        foreach (var layer in layers)
            for (var i = 0; i < layer.Count; i++) layer[i].Order = i;
        for (var sweep = 0; sweep < 4; sweep++)
        {
            var down = sweep % 2 == 0;
            var sequence = down ? layers.Skip(1) : Enumerable.Reverse(layers).Skip(1);
            foreach (var layer in sequence)
            {
                foreach (var node in layer)
                {
                    var neighbours = segments.Where(s => down ? s.To == node : s.From == node).Select(s => down ? s.From : s.To).ToList();
                    if (neighbours.Count > 0) node.Order = neighbours.Average(n => n.Order);
                }
                layer.Sort((a, b) => a.Order.CompareTo(b.Order));
                for (var i = 0; i < layer.Count; i++) layer[i].Order = i;
            }
        }
    }

    // ---- drawing -----------------------------------------------------------------------------

    static void DrawNode(XmlWriter w, Node node, double dx, double dy)
    {
        if (node.Width == 0 || node.Type == "Via") return;
        var x = node.X + dx;
        var y = node.Y + dy;
        w.WriteStartElement("g");
        w.WriteAttributeString("class", node.Type is "Start" or "End" ? "terminal" : "state");
        if (node.Type is not ("Start" or "End"))
        {
            w.WriteAttributeString("data-name", node.Id);
            w.WriteAttributeString("data-type", node.Type);
            w.WriteAttributeString("data-status", node.Status.ToString());
        }
        if (node.Type is "Start" or "End")
        {
            Rect(w, x, y, node.Width, node.Height, "#f3f4f6", "#6b7280", node.Height / 2, dashed: false);
            Text(w, x + node.Width / 2, y + node.Height / 2 + 4.5, node.Label, size: 12);
        }
        else
        {
            var (fill, stroke) = Colours(node.Status);
            var container = node.Children.Count > 0;
            Rect(w, x, y, node.Width, node.Height, container ? "#fafafa" : fill, stroke, container ? 8 : 6, dashed: false,
                strokeWidth: node.Status == StateStatus.NotRun ? 1.2 : 2);
            if (container)
            {
                Rect(w, x, y, node.Width, Header - 4, fill, "none", 8, dashed: false);
                Text(w, x + 10, y + 17, $"{node.Label}  ({node.Type})", anchor: "start", weight: "bold");
                var cx = x + (node.Width - node.Children.Sum(c => c.Width + c.BackEdgeMargin) - NodeGap * (node.Children.Count - 1)) / 2;
                foreach (var child in node.Children)
                {
                    if (node.Type == "Parallel")
                        Rect(w, cx - 8, y + Header - 2, child.Width + child.BackEdgeMargin + 16, node.Height - Header - 4, "none", "#c7ccd3", 6, dashed: true);
                    child.Draw(w, cx, y);
                    cx += child.Width + child.BackEdgeMargin + NodeGap;
                }
            }
            else
            {
                Text(w, x + node.Width / 2, y + 17, node.Label, weight: "bold");
                Text(w, x + node.Width / 2, y + 32, node.Type, size: 11, fill: "#4b5563");
            }
        }
        w.WriteEndElement();
    }

    static void DrawEdge(XmlWriter w, Edge edge, double dx, double dy, double graphWidth, int lane)
    {
        if (edge.From.Width == 0 && edge.From.Type == "Start" || edge.To.Width == 0 && edge.To.Type == "End") return;
        var stroke = edge.Dashed ? "#c2410c" : "#4b5563";
        string path;
        double labelX, labelY;
        if (edge.Back)
        {
            // Out of the source's bottom, along the gap below its row to the right-hand margin (one
            // lane per loop), up the margin and into the target's right side: it crosses no state.
            var x1 = edge.From.CenterX + dx;
            var y1 = edge.From.Y + edge.From.Height + dy;
            var below = y1 + 12 + 6 * lane;
            var x2 = edge.To.X + edge.To.Width + dx;
            var y2 = edge.To.Y + edge.To.Height / 2 + dy;
            var side = graphWidth + dx + 16 + 14 * lane;
            path = $"M{F(x1)},{F(y1)} L{F(x1)},{F(below - 6)} Q{F(x1)},{F(below)} {F(x1 + 6)},{F(below)} L{F(side - 6)},{F(below)} " +
                $"Q{F(side)},{F(below)} {F(side)},{F(below - 6)} L{F(side)},{F(y2 + 6)} Q{F(side)},{F(y2)} {F(side - 6)},{F(y2)} L{F(x2 + 2)},{F(y2)}";
            labelX = side;
            labelY = (below + y2) / 2;
        }
        else
        {
            // Down through each layer the edge spans, vertical where it leaves and where it arrives.
            var points = new List<(double X, double Y)> { (edge.From.CenterX + dx, edge.From.Y + edge.From.Height + dy) };
            points.AddRange(edge.Via.Select(v => (v.CenterX + dx, v.Y + dy)));
            points.Add((edge.To.CenterX + dx, edge.To.Y + dy - 2));
            var d = new StringBuilder($"M{F(points[0].X)},{F(points[0].Y)}");
            for (var i = 1; i < points.Count; i++)
            {
                var (xa, ya) = points[i - 1];
                var (xb, yb) = points[i];
                var bend = Math.Max(12, (yb - ya) / 2);
                d.Append($" C{F(xa)},{F(ya + bend)} {F(xb)},{F(yb - bend)} {F(xb)},{F(yb)}");
            }
            path = d.ToString();
            // The label sits on the first stretch, near the state it leaves.
            labelX = (points[0].X + points[1].X) / 2;
            labelY = (points[0].Y + points[1].Y) / 2;
        }
        w.WriteStartElement("path");
        w.WriteAttributeString("class", edge.Back ? "edge back" : "edge");
        w.WriteAttributeString("d", path);
        w.WriteAttributeString("fill", "none");
        w.WriteAttributeString("stroke", stroke);
        w.WriteAttributeString("stroke-width", "1.4");
        if (edge.Dashed) w.WriteAttributeString("stroke-dasharray", "5,4");
        w.WriteAttributeString("marker-end", edge.Dashed ? "url(#arrow-catch)" : "url(#arrow)");
        w.WriteEndElement();
        if (edge.Label is { Length: > 0 } label)
        {
            var width = label.Length * 6.3 + 10;
            Rect(w, labelX - width / 2, labelY - 9, width, 17, "#ffffff", "none", 3, dashed: false, opacity: 0.92);
            Text(w, labelX, labelY + 4, label, size: 11, fill: edge.Dashed ? "#c2410c" : "#374151");
        }
    }

    static void WriteDefs(XmlWriter w)
    {
        w.WriteStartElement("defs");
        foreach (var (id, colour) in new[] { ("arrow", "#4b5563"), ("arrow-catch", "#c2410c") })
        {
            w.WriteStartElement("marker");
            w.WriteAttributeString("id", id);
            w.WriteAttributeString("viewBox", "0 0 10 10");
            w.WriteAttributeString("refX", "9");
            w.WriteAttributeString("refY", "5");
            w.WriteAttributeString("markerWidth", "7");
            w.WriteAttributeString("markerHeight", "7");
            w.WriteAttributeString("orient", "auto-start-reverse");
            w.WriteStartElement("path");
            w.WriteAttributeString("d", "M0,0 L10,5 L0,10 z");
            w.WriteAttributeString("fill", colour);
            w.WriteEndElement();
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    static void Rect(XmlWriter w, double x, double y, double width, double height, string fill, string stroke, double radius, bool dashed,
        double strokeWidth = 1.2, double opacity = 1)
    {
        w.WriteStartElement("rect");
        w.WriteAttributeString("x", F(x));
        w.WriteAttributeString("y", F(y));
        w.WriteAttributeString("width", F(width));
        w.WriteAttributeString("height", F(height));
        w.WriteAttributeString("rx", F(radius));
        w.WriteAttributeString("fill", fill);
        if (opacity < 1) w.WriteAttributeString("fill-opacity", F(opacity));
        w.WriteAttributeString("stroke", stroke);
        w.WriteAttributeString("stroke-width", F(strokeWidth));
        if (dashed) w.WriteAttributeString("stroke-dasharray", "4,3");
        w.WriteEndElement();
    }

    static void Text(XmlWriter w, double x, double y, string text, string anchor = "middle", double size = 13, string? weight = null, string fill = "#111827")
    {
        w.WriteStartElement("text");
        w.WriteAttributeString("x", F(x));
        w.WriteAttributeString("y", F(y));
        w.WriteAttributeString("text-anchor", anchor);
        w.WriteAttributeString("font-size", F(size));
        if (weight is not null) w.WriteAttributeString("font-weight", weight);
        w.WriteAttributeString("fill", fill);
        w.WriteString(text);
        w.WriteEndElement();
    }

    static string F(double value) => Math.Round(value, 1).ToString(CultureInfo.InvariantCulture);
}
