using Google.Protobuf;

namespace Strata.Algorithms;

/// <summary>
/// A small ONNX graph written by hand, for the models ML.NET has no exporter for (PCA's projection)
/// or exports with other outputs than AWS's container answers (k-means' closest cluster and
/// distance). It writes ONNX's <c>ModelProto</c> in protobuf's wire format (onnx.proto's field
/// numbers; IR version 8, opset 13), with one float input <c>Features</c> [N, F] as every built-in
/// algorithm's model has, float initializers, nodes and named outputs.
/// </summary>
public sealed class OnnxGraph(string name, int columns)
{
    const int IrVersion = 8;
    const int Opset = 13;
    const int Float = 1; // TensorProto.DataType.FLOAT
    const int AttributeInt = 2, AttributeInts = 7; // AttributeProto.AttributeType

    readonly List<byte[]> _nodes = [];
    readonly List<byte[]> _initializers = [];
    readonly List<byte[]> _outputs = [];
    int _nodeCount;

    /// <summary>A constant tensor (an initializer); returns its name for use as a node input.</summary>
    public string Constant(string tensor, float[] values, params long[] dims)
    {
        _initializers.Add(Message(o =>
        {
            foreach (var d in dims) Int(o, 1, d);
            Int(o, 2, Float);
            Text(o, 8, tensor);
            var raw = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian");
            o.WriteTag(9, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(raw));
        }));
        return tensor;
    }

    /// <summary>A node computing <paramref name="output"/>; returns the output's name.</summary>
    public string Node(string opType, string[] inputs, string output, params OnnxAttribute[] attributes)
    {
        var nodeName = $"{opType}_{_nodeCount++}";
        _nodes.Add(Message(o =>
        {
            foreach (var input in inputs) Text(o, 1, input);
            Text(o, 2, output);
            Text(o, 3, nodeName);
            Text(o, 4, opType);
            foreach (var a in attributes)
                Nested(o, 5, Message(m =>
                {
                    Text(m, 1, a.Name);
                    if (a.Ints is { } ints)
                    {
                        foreach (var i in ints) Int(m, 8, i);
                        Int(m, 20, AttributeInts);
                    }
                    else
                    {
                        Int(m, 3, a.Value);
                        Int(m, 20, AttributeInt);
                    }
                }));
        }));
        return output;
    }

    /// <summary>Declares <paramref name="tensor"/> an output of float, shape [N] or [N, width].</summary>
    public void Output(string tensor, int? width = null) => _outputs.Add(ValueInfo(tensor, width));

    /// <summary>Writes the model as <c>model.onnx</c> in <paramref name="modelDir"/>.</summary>
    public void Save(string modelDir) => MlData.WriteModelFile(modelDir, stream =>
    {
        var graph = Message(o =>
        {
            foreach (var node in _nodes) Nested(o, 1, node);
            Text(o, 2, name);
            foreach (var initializer in _initializers) Nested(o, 5, initializer);
            Nested(o, 11, ValueInfo(MlData.FeaturesColumn, columns));
            foreach (var output in _outputs) Nested(o, 12, output);
        });
        var model = Message(o =>
        {
            Int(o, 1, IrVersion);
            Text(o, 2, "strata-algorithms");
            Nested(o, 7, graph);
            Nested(o, 8, Message(m => { Text(m, 1, ""); Int(m, 2, Opset); }));
        });
        stream.Write(model);
    });

    /// <summary>A float tensor of shape [N] or [N, width], N symbolic.</summary>
    static byte[] ValueInfo(string tensor, int? width) => Message(o =>
    {
        Text(o, 1, tensor);
        Nested(o, 2, Message(type => Nested(type, 1, Message(tensorType =>
        {
            Int(tensorType, 1, Float);
            Nested(tensorType, 2, Message(shape =>
            {
                Nested(shape, 1, Message(d => Text(d, 2, "N")));
                if (width is { } w) Nested(shape, 1, Message(d => Int(d, 1, w)));
            }));
        }))));
    });

    static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true)) write(output);
        return buffer.ToArray();
    }

    static void Nested(CodedOutputStream o, int field, byte[] message)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(message));
    }

    static void Text(CodedOutputStream o, int field, string value)
    {
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteString(value);
    }

    static void Int(CodedOutputStream o, int field, long value)
    {
        o.WriteTag(field, WireFormat.WireType.Varint);
        o.WriteInt64(value);
    }
}

/// <summary>An ONNX node attribute: an integer, or a list of integers (axes).</summary>
public sealed record OnnxAttribute(string Name, long Value, long[]? Ints = null)
{
    public static OnnxAttribute Of(string name, long value) => new(name, value);
    public static OnnxAttribute List(string name, params long[] values) => new(name, 0, values);
}
