using Strata.Server.Hosting;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// Model Monitor's data capture on endpoint configurations: what CreateEndpointConfig accepts
/// beyond the model's own checks, what is stored, what DescribeEndpointConfig and DescribeEndpoint
/// answer, and the settings hosting runs (the capture itself: Hosting/DataCapture.cs).
/// </summary>
public static class DataCaptureConfigs
{
    /// <summary>The row of a checked DataCaptureConfig (the generated validation has checked its
    /// required members, range, patterns and enums); null when none was given.</summary>
    public static DataCaptureRow? Row(DataCaptureConfig? config)
    {
        if (config is null) return null;
        var destination = config.DestinationS3Uri!;
        // Captures are written to Strata's own S3, named by s3:// URI; an https:// URL would name
        // a bucket by a host of AWS's.
        if (!destination.StartsWith("s3://", StringComparison.Ordinal) || destination.Length <= 5 || destination[5] == '/')
            throw SageMakerErrors.ValidationException($"DataCaptureConfig.DestinationS3Uri '{destination}' is not a valid S3 URI: Strata accepts s3://bucket/prefix.");
        var header = config.CaptureContentTypeHeader;
        return new DataCaptureRow
        {
            EnableCapture = config.EnableCapture ?? true,
            InitialSamplingPercentage = config.InitialSamplingPercentage!.Value,
            DestinationS3Uri = destination,
            KmsKeyId = config.KmsKeyId,
            CaptureModes = config.CaptureOptions!.Select(o => o.CaptureMode!).ToList(),
            CsvContentTypes = header?.CsvContentTypes,
            JsonContentTypes = header?.JsonContentTypes,
            HasContentTypeHeader = header is not null,
        };
    }

    /// <summary>DescribeEndpointConfig's DataCaptureConfig: as given, EnableCapture filled in.</summary>
    public static DataCaptureConfig? Wire(DataCaptureRow? row) => row is null ? null : new()
    {
        EnableCapture = row.EnableCapture,
        InitialSamplingPercentage = row.InitialSamplingPercentage,
        DestinationS3Uri = row.DestinationS3Uri,
        KmsKeyId = row.KmsKeyId,
        CaptureOptions = row.CaptureModes.Select(m => new CaptureOption { CaptureMode = m }).ToList(),
        CaptureContentTypeHeader = row.HasContentTypeHeader ? new CaptureContentTypeHeader { CsvContentTypes = row.CsvContentTypes, JsonContentTypes = row.JsonContentTypes } : null,
    };

    /// <summary>DescribeEndpoint's DataCaptureConfig: what the configuration it serves captures.</summary>
    public static DataCaptureConfigSummary? Summary(DataCaptureRow? row) => row is null ? null : new()
    {
        EnableCapture = row.EnableCapture,
        CaptureStatus = row.EnableCapture ? "Started" : "Stopped",
        CurrentSamplingPercentage = row.InitialSamplingPercentage,
        DestinationS3Uri = row.DestinationS3Uri,
        KmsKeyId = row.KmsKeyId,
    };

    /// <summary>What hosting runs.</summary>
    public static CaptureSettings? Settings(DataCaptureRow? row) => row is null ? null : new()
    {
        EnableCapture = row.EnableCapture,
        SamplingPercentage = row.InitialSamplingPercentage,
        DestinationS3Uri = row.DestinationS3Uri,
        KmsKeyId = row.KmsKeyId,
        CaptureInput = row.CaptureModes.Any(m => m is "Input" or "InputAndOutput"),
        CaptureOutput = row.CaptureModes.Any(m => m is "Output" or "InputAndOutput"),
        CsvContentTypes = row.CsvContentTypes ?? [],
        JsonContentTypes = row.JsonContentTypes ?? [],
    };
}
