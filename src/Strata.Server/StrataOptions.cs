using System.Net;

namespace Strata.Server;

/// <summary>How `strata serve` is configured (command-line options and environment).</summary>
public sealed record StrataOptions
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 9600;
    /// <summary>HTTPS listener; 0 turns it off.</summary>
    public int TlsPort { get; init; } = 9643;
    public string? TlsCertPath { get; init; }
    public string? TlsKeyPath { get; init; }
    public string DataDir { get; init; } = DefaultDataDir();
    public string Region { get; init; } = "us-east-1";
    /// <summary>Host names under which buckets are addressed virtual-host style
    /// (<c>bucket.s3.localhost</c>, <c>bucket.localhost</c>).</summary>
    public IReadOnlyList<string> S3Domains { get; init; } = ["s3.localhost", "localhost"];
    /// <summary>A listener that stands for a VPC endpoint: its requests carry
    /// <c>aws:SourceVpce</c> = <see cref="VpceId"/>, so policies can require private traffic. 0: none.</summary>
    public int VpcePort { get; init; }
    public string VpceId { get; init; } = DefaultVpceId;
    public const string DefaultVpceId = "vpce-0a1b2c3d4e5f60718";
    /// <summary>The availability zones instances spread over (default: the region's a, b and c).</summary>
    public IReadOnlyList<string>? Zones { get; init; }
    /// <summary>GPU instance types (ml.g4dn.*, ml.g5.*, ml.p3.*, …) run on the CPU on a machine without
    /// an NVIDIA GPU, instead of their endpoints failing.</summary>
    public bool GpuInstancesOnCpu { get; init; }
    /// <summary>How long a serverless variant stays warm without requests before it scales to zero.</summary>
    public TimeSpan ServerlessIdle { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>How often autoscaling evaluates its policies (AWS: a minute; shorter for demos).</summary>
    public TimeSpan AutoScalingPeriod { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How often asynchronous endpoints publish their backlog metrics and expire requests
    /// past their TTL (SageMaker publishes them every minute; more often lets scaling react sooner).</summary>
    public TimeSpan AsyncInferencePeriod { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How often S3 applies buckets' lifecycle rules (S3: about daily; what falls due at a
    /// midnight UTC is done within this period of it).</summary>
    public TimeSpan S3LifecyclePeriod { get; init; } = TimeSpan.FromHours(1);
    /// <summary>How often CloudWatch Logs deletes events past their group's retention.</summary>
    public TimeSpan LogRetentionPeriod { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>How often each logging trail's records go to its bucket as one log file (AWS: about
    /// every 5 minutes).</summary>
    public TimeSpan CloudTrailDeliveryPeriod { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>How often a trail with log file validation delivers a signed digest (AWS: hourly).</summary>
    public TimeSpan CloudTrailDigestPeriod { get; init; } = TimeSpan.FromSeconds(3600);
    /// <summary>The root user's access key on first start (env STRATA_ROOT_ACCESS_KEY_ID and
    /// STRATA_ROOT_SECRET_ACCESS_KEY; default: made up and printed once).</summary>
    public string? RootAccessKeyId { get; init; }
    public string? RootSecretAccessKey { get; init; }
    /// <summary>The SMTP server SNS sends email and email-json notifications through
    /// (<c>smtp://host:port</c>, <c>smtps://user:password@host:port</c>); null: no email subscriptions.</summary>
    public Uri? SmtpUrl { get; init; }
    /// <summary>The limits AWS keeps as service quotas (<c>--limit NAME=VALUE</c>).</summary>
    public Services.SageMaker.SageMakerLimits Limits { get; init; } = new();
    /// <summary>Deploy the demo endpoint (sample classifier, two variants) on start.</summary>
    public bool Demo { get; init; }

    /// <summary>The address the listeners bind (<see cref="Host"/>; "localhost" is the loopback).</summary>
    public IPAddress BindAddress => Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(Host);

    /// <summary>The ports the server listens on.</summary>
    public IEnumerable<int> Ports => new[] { Port, TlsPort, VpcePort }.Where(p => p > 0);

    public static string DefaultDataDir()
        => Environment.GetEnvironmentVariable("STRATA_DATA_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".strata");
}
