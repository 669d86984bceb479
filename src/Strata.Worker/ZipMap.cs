using System.Buffers;
using System.Text;

namespace Strata.Worker;

/// <summary>
/// ONNX-ML classifiers (scikit-learn's, through skl2onnx) end in a ZipMap: it turns the
/// probability tensor [N, classes] into a sequence of N maps, class label → probability. ONNX
/// Runtime builds each map with an allocation per entry, and its C API copies every map again
/// (a map value, then a tensor of its values) to read it: in a 300 000-row batch transform that
/// was most of the worker's time, and most of it in the C allocator. The worker loads such a
/// model with each ZipMap that ends the graph replaced by an Identity, reads the tensor, and zips
/// it with the labels itself (<see cref="MapColumns.FromTensor"/>): the same keys, in the same
/// order (ONNX Runtime's maps iterate their keys sorted), and the same float values.
/// </summary>
public static class ZipMap
{
    /// <summary>A ZipMap output read as its input tensor: the keys as ONNX Runtime's maps list
    /// them (sorted), and for each key the tensor column it comes from.</summary>
    public sealed record Zipped(string[] Keys, int[] Columns);

    /// <summary>The model with its final ZipMaps replaced, and the outputs that were theirs; null
    /// where there is nothing to replace or the model is one this rewrite leaves alone (data in
    /// external files, which a model loaded from memory would not find; subgraphs or functions,
    /// which might read the ZipMap's output; no import of ONNX's default domain, where Identity
    /// lives; labels ONNX Runtime would refuse, or repeated ones, which a map would merge).</summary>
    public static (byte[] Model, Dictionary<string, Zipped> Outputs)? Rewrite(ReadOnlySpan<byte> model)
    {
        if (model.IndexOf("ZipMap"u8) < 0) return null; // most models: no parse at all
        // Whatever this reading cannot make sense of is ONNX Runtime's to load (or to refuse,
        // with its own message): the rewrite only ever saves time.
        try { return TryRewrite(model); }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException or IndexOutOfRangeException) { return null; }
    }

    static (byte[] Model, Dictionary<string, Zipped> Outputs)? TryRewrite(ReadOnlySpan<byte> model)
    {
        ReadOnlySpan<byte> graph = default;
        var graphs = 0;
        var defaultDomain = false;
        for (var m = new Fields(model); m.Next();)
        {
            if (m.Number == ModelGraph)
            {
                graph = m.Bytes;
                graphs++;
            }
            else if (m.Number == ModelOpsetImport && Str(Find(m.Bytes, OpsetDomain)) == "") defaultDomain = true;
            else if (m.Number == ModelFunctions) return null;
        }
        // A graph given twice is merged by protobuf's rules, which this reading does not follow.
        if (graphs != 1 || !defaultDomain) return null;

        // The graph's ZipMaps (by their place among the nodes), the names every node reads, and
        // the graph's outputs.
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        var graphOutputs = new HashSet<string>(StringComparer.Ordinal);
        var zipMaps = new Dictionary<string, (int Node, string Input, string? Name, Zipped Zipped)>(StringComparer.Ordinal);
        var nodes = 0;
        for (var g = new Fields(graph); g.Next();)
        {
            if (g.Number == GraphSparseInitializer || g.Number == GraphInitializer && IsExternal(g.Bytes)) return null;
            if (g.Number == GraphOutput) graphOutputs.Add(Str(Find(g.Bytes, ValueInfoName)));
            if (g.Number != GraphNode) continue;
            var node = Node.Read(g.Bytes);
            var index = nodes++;
            if (node.Refused) return null;
            consumed.UnionWith(node.Inputs);
            if (node.OpType != "ZipMap" || node.Domain != "ai.onnx.ml" || node.Inputs.Count != 1 || node.Outputs.Count != 1) continue;
            if (node.Labels is not { } labels || labels.Distinct(StringComparer.Ordinal).Count() != labels.Length) return null;
            zipMaps[node.Outputs[0]] = (index, node.Inputs[0], node.Name, new Zipped(SortedKeys(labels, node.LabelBytes, node.IntLabels, out var columns), columns));
        }
        foreach (var output in zipMaps.Keys.ToList())
            if (!graphOutputs.Contains(output) || consumed.Contains(output)) zipMaps.Remove(output);
        if (zipMaps.Count == 0) return null;
        var replaced = zipMaps.ToDictionary(z => z.Value.Node, z => (Output: z.Key, z.Value.Input, z.Value.Name));

        var newGraph = new ArrayBufferWriter<byte>(graph.Length);
        nodes = 0;
        for (var g = new Fields(graph); g.Next();)
        {
            if (g.Number == GraphNode && replaced.TryGetValue(nodes++, out var zipMap))
            {
                var identity = new ArrayBufferWriter<byte>();
                WriteString(identity, NodeInput, zipMap.Input);
                WriteString(identity, NodeOutput, zipMap.Output);
                if (zipMap.Name is { } name) WriteString(identity, NodeName, name);
                WriteString(identity, NodeOpType, "Identity");
                WriteBytes(newGraph, GraphNode, identity.WrittenSpan);
            }
            else if (g.Number == GraphOutput && zipMaps.ContainsKey(Str(Find(g.Bytes, ValueInfoName))))
            {
                // Declared a float tensor now, its shape left to ONNX Runtime's inference.
                var tensorType = new ArrayBufferWriter<byte>();
                WriteVarint(tensorType, Tag(TensorTypeElemType, 0));
                WriteVarint(tensorType, OnnxFloat);
                var type = new ArrayBufferWriter<byte>();
                WriteBytes(type, TypeTensorType, tensorType.WrittenSpan);
                var info = new ArrayBufferWriter<byte>();
                WriteString(info, ValueInfoName, Str(Find(g.Bytes, ValueInfoName)));
                WriteBytes(info, ValueInfoType, type.WrittenSpan);
                WriteBytes(newGraph, GraphOutput, info.WrittenSpan);
            }
            else if (g.Number == GraphValueInfo && zipMaps.ContainsKey(Str(Find(g.Bytes, ValueInfoName)))) { }
            else newGraph.Write(g.Raw);
        }

        var rewritten = new ArrayBufferWriter<byte>(model.Length + 64);
        for (var m = new Fields(model); m.Next();)
        {
            if (m.Number == ModelGraph) WriteBytes(rewritten, ModelGraph, newGraph.WrittenSpan);
            else rewritten.Write(m.Raw);
        }
        return (rewritten.WrittenSpan.ToArray(), zipMaps.ToDictionary(z => z.Key, z => z.Value.Zipped, StringComparer.Ordinal));
    }

    /// <summary>The labels in the order ONNX Runtime's std::map iterates them (int64 labels by
    /// value, string labels by their bytes, as std::string compares), and for each the column it
    /// labels.</summary>
    static string[] SortedKeys(string[] labels, byte[][]? bytes, long[]? intLabels, out int[] columns)
    {
        columns = Enumerable.Range(0, labels.Length).ToArray();
        if (intLabels is not null) Array.Sort(intLabels.ToArray(), columns);
        else Array.Sort(bytes!.ToArray(), columns, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)));
        return columns.Select(c => labels[c]).ToArray();
    }

    static bool IsExternal(ReadOnlySpan<byte> tensor)
    {
        for (var t = new Fields(tensor); t.Next();)
            if (t.Number == TensorExternalData || t.Number == TensorDataLocation && t.Varint == 1) return true;
        return false;
    }

    /// <summary>The fields of a node this rewrite reads. <see cref="Refused"/>: a node that keeps
    /// the model from being rewritten (a subgraph, which might read a ZipMap's output; a tensor
    /// attribute whose data is in an external file).</summary>
    sealed record Node(string OpType, string Domain, string? Name, List<string> Inputs, List<string> Outputs,
        string[]? Labels, byte[][]? LabelBytes, long[]? IntLabels, bool Refused)
    {
        public static Node Read(ReadOnlySpan<byte> node)
        {
            string opType = "", domain = "";
            string? name = null;
            List<string> inputs = [], outputs = [];
            List<byte[]> strings = [];
            List<long> ints = [];
            var refused = false;
            for (var n = new Fields(node); n.Next();)
            {
                switch (n.Number)
                {
                    case NodeInput: inputs.Add(Str(n.Bytes)); break;
                    case NodeOutput: outputs.Add(Str(n.Bytes)); break;
                    case NodeName: name = Str(n.Bytes); break;
                    case NodeOpType: opType = Str(n.Bytes); break;
                    case NodeDomain: domain = Str(n.Bytes); break;
                    case NodeAttribute:
                        // Only the labels' values are gathered: a tree ensemble's attributes hold millions.
                        var attribute = Str(Find(n.Bytes, AttributeName));
                        for (var a = new Fields(n.Bytes); a.Next();)
                        {
                            if (a.Number is AttributeGraph or AttributeGraphs) refused = true;
                            else if (a.Number is AttributeTensor or AttributeTensors && IsExternal(a.Bytes)) refused = true;
                            else if (attribute == "classlabels_strings" && a.Number == AttributeStrings) strings.Add(a.Bytes.ToArray());
                            else if (attribute == "classlabels_int64s" && a.Number == AttributeInts && a.WireType == 0) ints.Add((long)a.Varint);
                            else if (attribute == "classlabels_int64s" && a.Number == AttributeInts && a.WireType == 2)
                                for (var packed = new Fields(a.Bytes); packed.NextVarint();) ints.Add((long)packed.Varint);
                        }
                        break;
                }
            }
            // As ONNX Runtime's ZipMap: exactly one of the two label lists, and not empty.
            return (strings.Count > 0, ints.Count > 0) switch
            {
                (true, false) => new Node(opType, domain, name, inputs, outputs, strings.Select(b => Str(b)).ToArray(), [.. strings], null, refused),
                (false, true) => new Node(opType, domain, name, inputs, outputs,
                    ints.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(), null, [.. ints], refused),
                _ => new Node(opType, domain, name, inputs, outputs, null, null, null, refused),
            };
        }
    }

    // Field numbers of onnx.proto's messages, and the one enum value used.
    const int ModelGraph = 7, ModelOpsetImport = 8, ModelFunctions = 25, OpsetDomain = 1;
    const int GraphNode = 1, GraphInitializer = 5, GraphOutput = 12, GraphValueInfo = 13, GraphSparseInitializer = 15;
    const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5, NodeDomain = 7;
    const int AttributeName = 1, AttributeTensor = 5, AttributeGraph = 6, AttributeInts = 8, AttributeStrings = 9, AttributeTensors = 10, AttributeGraphs = 11;
    const int ValueInfoName = 1, ValueInfoType = 2, TypeTensorType = 1, TensorTypeElemType = 1, OnnxFloat = 1;
    const int TensorExternalData = 13, TensorDataLocation = 14;

    static string Str(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>The last occurrence of a length-delimited field (as protobuf merges a repeated
    /// singular field), or empty.</summary>
    static ReadOnlySpan<byte> Find(ReadOnlySpan<byte> message, int number)
    {
        ReadOnlySpan<byte> found = default;
        for (var f = new Fields(message); f.Next();)
            if (f.Number == number && f.WireType == 2) found = f.Bytes;
        return found;
    }

    static uint Tag(int number, int wireType) => (uint)(number << 3 | wireType);

    static void WriteString(ArrayBufferWriter<byte> to, int number, string value) => WriteBytes(to, number, Encoding.UTF8.GetBytes(value));

    static void WriteBytes(ArrayBufferWriter<byte> to, int number, ReadOnlySpan<byte> value)
    {
        WriteVarint(to, Tag(number, 2));
        WriteVarint(to, (ulong)value.Length);
        to.Write(value);
    }

    static void WriteVarint(ArrayBufferWriter<byte> to, ulong value)
    {
        var span = to.GetSpan(10);
        var i = 0;
        for (; value >= 0x80; value >>= 7) span[i++] = (byte)(value | 0x80);
        span[i++] = (byte)value;
        to.Advance(i);
    }

    /// <summary>Protocol buffers' wire format, one field at a time; a malformed message throws
    /// FormatException.</summary>
    ref struct Fields(ReadOnlySpan<byte> message)
    {
        readonly ReadOnlySpan<byte> _message = message;
        int _at;

        public int Number { get; private set; }
        public int WireType { get; private set; }
        public ulong Varint { get; private set; }
        public ReadOnlySpan<byte> Bytes { get; private set; }

        /// <summary>The whole field, tag included, to copy unchanged.</summary>
        public ReadOnlySpan<byte> Raw { get; private set; }

        public bool Next()
        {
            if (_at >= _message.Length) return false;
            var start = _at;
            var tag = ReadVarint();
            Number = (int)(tag >> 3);
            WireType = (int)(tag & 7);
            Bytes = default;
            switch (WireType)
            {
                case 0: Varint = ReadVarint(); break;
                case 1: Skip(8); break;
                case 5: Skip(4); break;
                case 2:
                    var length = ReadVarint();
                    if (length > (ulong)(_message.Length - _at)) throw new FormatException("a field runs past its message");
                    Bytes = _message.Slice(_at, (int)length);
                    _at += (int)length;
                    break;
                default: throw new FormatException($"wire type {WireType}");
            }
            if (Number == 0) throw new FormatException("field 0");
            Raw = _message[start.._at];
            return true;
        }

        /// <summary>The next value of a packed repeated varint field.</summary>
        public bool NextVarint()
        {
            if (_at >= _message.Length) return false;
            Varint = ReadVarint();
            return true;
        }

        void Skip(int bytes)
        {
            if (bytes > _message.Length - _at) throw new FormatException("a field runs past its message");
            _at += bytes;
        }

        ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_at >= _message.Length) throw new FormatException("a varint runs past its message");
                var b = _message[_at++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return value;
            }
            throw new FormatException("a varint longer than 10 bytes");
        }
    }
}
