using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>
/// The multipart/form-data body of a browser upload (S3's POST Object), read up to its file: the
/// fields before it (names case-insensitive), the name the browser gave the file, and the file's
/// content as a stream at its first byte, so the object streams to the store as any other body.
/// The file must be the last field: S3 ignores whatever follows it, so this never reads on.
/// </summary>
public sealed class PostForm
{
    /// <summary>S3 bounds what precedes the file (names and values together).</summary>
    public const int MaxFieldBytes = 20 * 1024;

    readonly Dictionary<string, string> _fields;

    readonly FileBody _file;

    PostForm(Dictionary<string, string> fields, string? fileName, FileBody file)
    {
        _fields = fields;
        FileName = fileName;
        _file = file;
    }

    /// <summary>The fields before the file, by their names as sent (looked up case-insensitively).</summary>
    public IReadOnlyDictionary<string, string> Fields => _fields;

    /// <summary>The file's name as the browser sent it, without any path before it; null when none.</summary>
    public string? FileName { get; }

    /// <summary>The file's content (not yet read), refused as it arrives once it is outside
    /// <paramref name="sizeRange"/> (a policy's <c>content-length-range</c>).</summary>
    public Stream File((long Min, long Max)? sizeRange)
    {
        _file.SizeRange = sizeRange;
        return _file;
    }

    public string? this[string name] => _fields.GetValueOrDefault(name);

    /// <summary>Reads the form up to its file. <paramref name="aborted"/> is the client going away,
    /// which is not a malformed form.</summary>
    public static async Task<PostForm> ReadAsync(string? contentType, Stream body, CancellationToken aborted = default)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || !media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw NotMultipart();
        var boundary = HeaderUtilities.RemoveQuotes(media.Boundary).Value;
        // RFC 2046 allows boundaries of 1 to 70 characters.
        if (string.IsNullOrEmpty(boundary) || boundary.Length > 70) throw Malformed();
        var reader = new MultipartReader(boundary, body) { HeadersLengthLimit = MaxFieldBytes };
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var size = 0;
        try
        {
            while (await reader.ReadNextSectionAsync(aborted) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                    throw Malformed();
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (string.IsNullOrEmpty(name)) throw Malformed();
                if (name.Equals("file", StringComparison.OrdinalIgnoreCase))
                    return new PostForm(fields, BaseName(disposition), new FileBody(section.Body, aborted));
                var value = await ReadFieldAsync(section.Body, MaxFieldBytes - size - name.Length, aborted);
                size += name.Length + value.Length;
                // Which of two values would the policy have judged? Neither: S3 takes one of each.
                if (!fields.TryAdd(name, value))
                    throw S3Errors.InvalidArgument($"Bucket POST must contain only one field named '{name}'.", name, value);
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException && !aborted.IsCancellationRequested)
        {
            throw Malformed();
        }
        throw S3Errors.InvalidArgument("POST requires exactly one file upload per request.", "file", "0");
    }

    /// <summary>The file name without the path some browsers send before it (S3 keeps what follows
    /// the last slash or backslash).</summary>
    static string? BaseName(ContentDispositionHeaderValue disposition)
    {
        var name = disposition.FileNameStar.HasValue ? disposition.FileNameStar.Value : HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
        if (name is null) return null;
        var cut = name.LastIndexOfAny(['/', '\\']);
        return cut < 0 ? name : name[(cut + 1)..];
    }

    static async Task<string> ReadFieldAsync(Stream section, int max, CancellationToken aborted)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int n;
        while ((n = await section.ReadAsync(chunk, aborted)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > max)
                throw new AwsException("MaxPostPreDataLengthExceeded", 400, "Your POST request fields preceding the upload file were too large.")
                    .With("MaxPostPreDataLength", MaxFieldBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static AwsException Malformed() => new("MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.");

    const string Enclosure = "Bucket POST must be of the enclosure-type multipart/form-data";

    static AwsException NotMultipart() => new AwsException("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold").With("Condition", Enclosure);

    /// <summary>The file's content: a body cut short before its closing boundary is a malformed
    /// form, and one outside its size range is refused, both before anything of it is stored.</summary>
    sealed class FileBody(Stream inner, CancellationToken aborted) : Storage.ForwardReadStream
    {
        public (long Min, long Max)? SizeRange { get; set; }
        long _read;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                var n = await inner.ReadAsync(buffer, cancellationToken);
                _read += n;
                if (SizeRange is { } range)
                {
                    // Refused as soon as it is over, not after the rest has been received.
                    if (_read > range.Max) throw PostPolicy.TooLarge(range.Max);
                    if (n == 0 && _read < range.Min) throw PostPolicy.TooSmall(_read, range.Min);
                }
                return n;
            }
            catch (Exception e) when (e is IOException or InvalidDataException && !aborted.IsCancellationRequested)
            {
                throw Malformed();
            }
        }
    }
}
