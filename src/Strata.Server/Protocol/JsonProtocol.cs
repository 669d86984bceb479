using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Strata.Server.Protocol;

/// <summary>What the AWS JSON protocols (1.0 and 1.1) share beyond the generated layer: their
/// validation message for checks a service makes itself, and epoch-second timestamps for stored
/// rows. Requests are read and responses written by the generated operations
/// (<see cref="JsonOperation{TIn, TOut}"/>).</summary>
public static class JsonProtocol
{
    /// <summary>AWS's validation message: "1 validation error detected: Value … at 'member' failed
    /// to satisfy constraint: …".</summary>
    public static AwsException Invalid(string member, object? value, string constraint)
        => new("ValidationException", 400,
            $"1 validation error detected: Value {(value is null ? "null" : $"'{value}'")} at '{string.Join('.', member.Split('.').Select(m => char.ToLowerInvariant(m[0]) + m[1..]))}' failed to satisfy constraint: {constraint}");

    public static T Required<T>(T? value, string member) where T : class
        => value ?? throw Invalid(member, null, "Member must not be null");
}

/// <summary>An operation's absent input or output.</summary>
public sealed record Empty
{
    public static readonly Empty Instance = new();
}

/// <summary>Epoch seconds (with milliseconds), as AWS JSON protocols carry timestamps.</summary>
public sealed class EpochSecondsConverter : JsonConverter<DateTimeOffset>
{
    /// <summary>Epoch seconds, or (as AWS also reads them) an ISO 8601 string; anything else,
    /// or a time outside what a timestamp can hold, is a JsonException (the protocol's
    /// SerializationException), never an exception the pipeline would answer with a 500.</summary>
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            // Year 1 to 9999 in milliseconds; NaN and infinities fail the comparison too.
            if (reader.TryGetDouble(out var seconds) && seconds * 1000 is var ms && ms >= -62135596800000 && ms <= 253402300799999)
                return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(ms));
            throw new JsonException("The timestamp is out of range.");
        }
        if (reader.TokenType == JsonTokenType.String
            && DateTimeOffset.TryParse(reader.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time))
            return time;
        throw new JsonException("The timestamp is neither epoch seconds nor an ISO 8601 date.");
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
        => writer.WriteNumberValue(Math.Round(value.ToUnixTimeMilliseconds() / 1000.0, 3));
}

/// <summary>Doubles as the AWS JSON protocols carry them: always with a fraction or exponent (AWS's
/// services write <c>17.0</c>, and clients that keep JSON's types show it so), NaN and infinities
/// as the strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> both ways.</summary>
public sealed class AwsDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var value)) return value;
        if (reader.TokenType == JsonTokenType.String)
        {
            switch (reader.GetString())
            {
                case "NaN": return double.NaN;
                case "Infinity": return double.PositiveInfinity;
                case "-Infinity": return double.NegativeInfinity;
            }
        }
        throw new JsonException("The value is not a number.");
    }

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        if (double.IsNaN(value)) writer.WriteStringValue("NaN");
        else if (double.IsPositiveInfinity(value)) writer.WriteStringValue("Infinity");
        else if (double.IsNegativeInfinity(value)) writer.WriteStringValue("-Infinity");
        else
        {
            var text = value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            if (text.AsSpan().IndexOfAny('.', 'E') < 0) text += ".0";
            writer.WriteRawValue(text, skipInputValidation: true);
        }
    }
}

/// <summary><see cref="EpochSecondsConverter"/> for an optional timestamp (hand-written shapes that
/// name it per member; a context that registers EpochSecondsConverter needs neither).</summary>
public sealed class NullableEpochSecondsConverter : JsonConverter<DateTimeOffset?>
{
    static readonly EpochSecondsConverter Inner = new();
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.Null ? null : Inner.Read(ref reader, typeof(DateTimeOffset), options);
    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } v) Inner.Write(writer, v, options);
        else writer.WriteNullValue();
    }
}

/// <summary>Opaque pagination tokens shared by every List operation: the position after which
/// the next page starts, base64-encoded.</summary>
public static class PageToken
{
    public static string Encode(int offset) => Convert.ToBase64String(BitConverter.GetBytes(offset));

    public static int Decode(string? token)
    {
        if (string.IsNullOrEmpty(token)) return 0;
        try
        {
            var bytes = Convert.FromBase64String(token);
            if (bytes.Length == 4 && BitConverter.ToInt32(bytes) is var offset and >= 0) return offset;
        }
        catch (FormatException) { }
        throw new AwsException("ValidationException", 400, "Invalid pagination token.");
    }

    /// <summary>One page of <paramref name="items"/> and the token of the next (null at the end).</summary>
    public static (List<T> Page, string? Next) Page<T>(IReadOnlyList<T> items, string? token, int? maxResults, int defaultMax = 10, int limit = 100)
    {
        var max = maxResults ?? defaultMax;
        if (max < 1 || max > limit) throw JsonProtocol.Invalid("MaxResults", max, $"Member must have value less than or equal to {limit}");
        var offset = PageToken.Decode(token);
        var page = items.Skip(offset).Take(max).ToList();
        return (page, offset + page.Count < items.Count ? Encode(offset + page.Count) : null);
    }
}
