using System.CommandLine;
using System.Text.Json.Nodes;
using Strata.Server;
using Strata.Server.Identity;
using Strata.Server.Jobs.Containers;
using Strata.Server.Storage;

// Every default comes from StrataOptions, the one place that states them.
var defaults = new StrataOptions();
var dataDir = new Option<string>("--data-dir") { Description = "Where Strata keeps its state and objects (env STRATA_DATA_DIR; default ~/.strata)", DefaultValueFactory = _ => StrataOptions.DefaultDataDir() };
var port = new Option<int>("--port") { Description = "HTTP port", DefaultValueFactory = _ => defaults.Port };
var tlsPort = new Option<int>("--tls-port") { Description = "HTTPS port (0 turns HTTPS off)", DefaultValueFactory = _ => defaults.TlsPort };
var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate for HTTPS (default: self-signed, made on first start)" };
var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key for --tls-cert" };
var host = new Option<string>("--host") { Description = "Address to bind", DefaultValueFactory = _ => defaults.Host };
var region = new Option<string>("--region") { Description = "The region Strata serves", DefaultValueFactory = _ => defaults.Region };

var demo = new Option<bool>("--demo") { Description = "Also upload a sample model and deploy endpoint 'demo' (two variants, 80/20)" };
var vpcePort = new Option<int>("--vpce-port") { Description = "Also listen here as a VPC endpoint: requests carry aws:SourceVpce (0: off)" };
var vpceId = new Option<string>("--vpce-id") { Description = "The VPC endpoint id the --vpce-port listener stands for", DefaultValueFactory = _ => StrataOptions.DefaultVpceId };
var autoScalingPeriod = new Option<double>("--autoscaling-period")
{
    Description = "Seconds between autoscaling evaluations (env STRATA_AUTOSCALING_PERIOD; default 60)",
    DefaultValueFactory = _ => double.TryParse(Environment.GetEnvironmentVariable("STRATA_AUTOSCALING_PERIOD"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : defaults.AutoScalingPeriod.TotalSeconds
};
var zonesOption = new Option<string?>("--zones") { Description = "Comma-separated availability zones instances spread over (default: the region's a, b, c)" };
var serverlessIdle = new Option<double>("--serverless-idle") { Description = "Seconds a serverless variant stays warm without requests (default 120)", DefaultValueFactory = _ => defaults.ServerlessIdle.TotalSeconds };
var smtpUrl = new Option<string?>("--smtp-url") { Description = "SMTP server SNS sends email notifications through (smtp://host:port; default: email subscriptions refused)" };
var cloudTrailDelivery = new Option<double>("--cloudtrail-delivery-seconds") { Description = "Seconds between a trail's log file deliveries (default 300)", DefaultValueFactory = _ => defaults.CloudTrailDeliveryPeriod.TotalSeconds };
var cloudTrailDigest = new Option<double>("--cloudtrail-digest-seconds") { Description = "Seconds between a trail's signed digest files (default 3600)", DefaultValueFactory = _ => defaults.CloudTrailDigestPeriod.TotalSeconds };
var s3Lifecycle = new Option<double>("--s3-lifecycle-seconds") { Description = "Seconds between passes applying buckets' lifecycle rules (default 3600)", DefaultValueFactory = _ => defaults.S3LifecyclePeriod.TotalSeconds };
var limitOption = new Option<string[]>("--limit")
{
    Description = "Change a limit AWS keeps as a service quota, NAME=VALUE (repeatable): "
        + string.Join(", ", Strata.Server.Services.SageMaker.SageMakerLimits.All.Select(l => $"{l.Name} ({l.Meaning}; default {l.Get(defaults.Limits)})")),
};
var gpuOnCpu = new Option<bool>("--gpu-instances-on-cpu") { Description = "Run GPU instance types (ml.g4dn.*, ml.g5.*, ml.p3.*, ml.p4d.*, ml.p5.*) on the CPU when this machine has no NVIDIA GPU (default: their endpoints fail saying so)" };
var serve = new Command("serve", "Run the Strata server: every AWS API on one port") { dataDir, port, tlsPort, tlsCert, tlsKey, host, region, demo, vpcePort, vpceId, autoScalingPeriod, zonesOption, serverlessIdle, smtpUrl, cloudTrailDelivery, cloudTrailDigest, s3Lifecycle, limitOption, gpuOnCpu };
serve.SetAction(async (parse, ct) =>
{
    Strata.Server.Services.SageMaker.SageMakerLimits limits;
    try { limits = Strata.Server.Services.SageMaker.SageMakerLimits.Parse(parse.GetValue(limitOption) ?? []); }
    catch (FormatException e)
    {
        Console.Error.WriteLine($"strata: {e.Message}");
        return 2;
    }
    var options = new StrataOptions
    {
        DataDir = Path.GetFullPath(parse.GetValue(dataDir)!),
        Port = parse.GetValue(port),
        TlsPort = parse.GetValue(tlsPort),
        TlsCertPath = parse.GetValue(tlsCert),
        TlsKeyPath = parse.GetValue(tlsKey),
        Host = parse.GetValue(host)!,
        Region = parse.GetValue(region)!,
        Demo = parse.GetValue(demo),
        VpcePort = parse.GetValue(vpcePort),
        VpceId = parse.GetValue(vpceId)!,
        AutoScalingPeriod = TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(autoScalingPeriod))),
        Zones = parse.GetValue(zonesOption)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        ServerlessIdle = TimeSpan.FromSeconds(Math.Max(0.1, parse.GetValue(serverlessIdle))),
        SmtpUrl = parse.GetValue(smtpUrl) is { } smtp ? new Uri(smtp) : null,
        CloudTrailDeliveryPeriod = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(cloudTrailDelivery))),
        CloudTrailDigestPeriod = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(cloudTrailDigest))),
        S3LifecyclePeriod = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(s3Lifecycle))),
        Limits = limits,
        GpuInstancesOnCpu = parse.GetValue(gpuOnCpu),
        RootAccessKeyId = Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"),
        RootSecretAccessKey = Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"),
    };
    if (options.SmtpUrl is { } smtpUri && (smtpUri.Scheme is not ("smtp" or "smtps") || smtpUri.Port <= 0))
    {
        Console.Error.WriteLine("strata: --smtp-url must be smtp://host:port or smtps://host:port");
        return 2;
    }
    if (options.TlsCertPath is not null != options.TlsKeyPath is not null)
    {
        Console.Error.WriteLine("strata: --tls-cert and --tls-key go together");
        return 2;
    }
    // One server per data directory, checked before anything in it is touched.
    StrataHost.EnsureDataDirectory(options.DataDir);
    using var held = DataDirectoryLock.TryAcquire(options.DataDir);
    if (held is null)
    {
        Console.Error.WriteLine($"strata: {options.DataDir} is in use by {DataDirectoryLock.Name(DataDirectoryLock.Holder(options.DataDir) ?? [])}: one server per data directory (stop it, or give another --data-dir)");
        return 2;
    }
    if (PortInUse.FirstTaken(options.BindAddress, options.Ports) is { } taken)
    {
        Console.Error.WriteLine($"strata: {PortInUse.Message(taken)}; choose another with --port, --tls-port or --vpce-port");
        return 2;
    }
    // Before any job is recovered: containers a server killed outright left running still write
    // their job directories (Sandbox.ReapOrphans).
    if (Sandbox.Available && Sandbox.ReapOrphans() is { Count: > 0 } reaped)
        Console.Out.WriteLine($"strata: killed what {reaped.Count} container(s) of a server that is gone left running (users {string.Join(", ", reaped)})");
    var listeners = new JsonObject
    {
        ["pid"] = Environment.ProcessId,
        ["port"] = options.Port,
        ["http"] = $"http://{options.Host}:{options.Port}",
        ["started"] = DateTimeOffset.UtcNow,
    };
    if (options.TlsPort > 0) listeners["https"] = $"https://{options.Host}:{options.TlsPort}";
    if (options.VpcePort > 0) listeners["vpce"] = $"http://{options.Host}:{options.VpcePort}";
    held.Describe(listeners);
    var app = StrataHost.Build(options, Console.Out);
    try { await app.RunAsync(ct); }
    catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
    {
        // Taken between the check above and the bind.
        Console.Error.WriteLine($"strata: {(PortInUse.FirstTaken(options.BindAddress, options.Ports) is { } port ? PortInUse.Message(port) : "a port is in use")}");
        return 2;
    }
    return 0;
});

var envPort = new Option<int?>("--port") { Description = "HTTP port of the server (default: the one it last listened on)" };
var env = new Command("env", "Print export lines that point the aws CLI and SDKs at Strata: eval \"$(strata env)\"") { dataDir, envPort, region };
env.SetAction(parse =>
{
    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
    StrataHost.EnsureDataDirectory(dir);
    string? keyId = Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), secret = Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY");
    using var state = new SqliteStateStore(Path.Combine(dir, "state.db"));
    var (_, root, _) = new CredentialStore(state).Bootstrap(keyId, secret, TimeProvider.System);
    var url = parse.GetValue(envPort) is { } p ? $"http://127.0.0.1:{p}" : "http://127.0.0.1:9600";
    var serverFile = Path.Combine(dir, "server.json");
    if (parse.GetValue(envPort) is null && File.Exists(serverFile) && JsonNode.Parse(File.ReadAllText(serverFile))?["http"]?.GetValue<string>() is { } last)
        url = last.Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal);
    Console.WriteLine($"export AWS_ACCESS_KEY_ID={root.AccessKeyId}");
    Console.WriteLine($"export AWS_SECRET_ACCESS_KEY={root.SecretAccessKey}");
    // Both region variables: the aws CLI and boto3 read AWS_DEFAULT_REGION, the JS SDK v3 and
    // the .NET SDK AWS_REGION.
    Console.WriteLine($"export AWS_DEFAULT_REGION={parse.GetValue(region)}");
    Console.WriteLine($"export AWS_REGION={parse.GetValue(region)}");
    Console.WriteLine($"export AWS_ENDPOINT_URL={url}");
    // Step Functions' StartSyncExecution and TestState put "sync-" before the endpoint's host, and
    // no address takes a prefix (sync-127.0.0.1): botocore (the aws CLI v1, boto3) leaves it out when told.
    Console.WriteLine("export AWS_DISABLE_HOST_PREFIX_INJECTION=true");
    // The self-signed certificate of the HTTPS listener, for clients sent there.
    if (File.Exists(Path.Combine(dir, "tls", "cert.pem"))) Console.WriteLine($"export AWS_CA_BUNDLE={Path.Combine(dir, "tls", "cert.pem")}");
    return 0;
});

var imageUri = new Argument<string>("image") { Description = "The image URI a model's container names" };
var imageCommand = new Argument<string[]>("command") { Description = "The command (after --) that serves the SageMaker container contract on SAGEMAKER_BIND_TO_PORT", Arity = ArgumentArity.OneOrMore };
var imagesAdd = new Command("add", "Map an image URI to a command that serves it (bring your own container)") { dataDir, imageUri, imageCommand };
imagesAdd.SetAction(parse =>
{
    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
    StrataHost.EnsureDataDirectory(dir);
    var command = parse.GetValue(imageCommand)!.ToList();
    new Strata.Server.Hosting.ImageCatalogue(dir).Add(parse.GetValue(imageUri)!, command);
    Console.WriteLine($"{parse.GetValue(imageUri)} -> {string.Join(' ', command)}");
    return 0;
});
var imagesList = new Command("list", "List the image catalogue") { dataDir };
imagesList.SetAction(parse =>
{
    foreach (var (image, command) in new Strata.Server.Hosting.ImageCatalogue(Path.GetFullPath(parse.GetValue(dataDir)!)).Images)
        Console.WriteLine($"{image} -> {string.Join(' ', command)}");
    return 0;
});
var imagesRemove = new Command("remove", "Remove an image from the catalogue") { dataDir, imageUri };
imagesRemove.SetAction(parse =>
{
    if (new Strata.Server.Hosting.ImageCatalogue(Path.GetFullPath(parse.GetValue(dataDir)!)).Remove(parse.GetValue(imageUri)!)) return 0;
    Console.Error.WriteLine($"strata: {parse.GetValue(imageUri)} is not in the catalogue");
    return 1;
});
var imagesCommand = new Command("images", "The image catalogue: containers of your own, without a Docker engine") { imagesAdd, imagesList, imagesRemove };

var accountName = new Argument<string>("name") { Description = "A name for the account (unique in this installation)" };
var accountsCreate = new Command("create", "Create an account (tenant) and print its id and root access key, once") { dataDir, accountName };
accountsCreate.SetAction(parse =>
{
    using var state = OpenState(parse.GetValue(dataDir)!);
    var credentials = new CredentialStore(state);
    credentials.Bootstrap(Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"), TimeProvider.System);
    try
    {
        var (account, root) = credentials.CreateAccount(parse.GetValue(accountName)!, TimeProvider.System);
        Console.WriteLine($"account {account.Id} ({account.Name})");
        Console.WriteLine($"AWS_ACCESS_KEY_ID={root.AccessKeyId}");
        Console.WriteLine($"AWS_SECRET_ACCESS_KEY={root.SecretAccessKey}");
        return 0;
    }
    catch (InvalidOperationException e)
    {
        Console.Error.WriteLine($"strata: {e.Message}");
        return 1;
    }
});
var accountsList = new Command("list", "List the accounts of this installation") { dataDir };
accountsList.SetAction(parse =>
{
    using var state = OpenState(parse.GetValue(dataDir)!);
    var credentials = new CredentialStore(state);
    credentials.Bootstrap(Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"), TimeProvider.System);
    foreach (var account in credentials.ListAccounts().OrderBy(a => a.CreatedAt))
        Console.WriteLine($"{account.Id}  {account.Name}  created {account.CreatedAt:u}");
    return 0;
});
var accountsCommand = new Command("accounts", "Accounts (tenants): each has its own root key, IAM entities and resources") { accountsCreate, accountsList };

var jobName = new Argument<string>("name") { Description = "The job's name" };
var jobAccount = new Option<string?>("--account") { Description = "The account that owns the job (default: the installation's first account)" };
var jobType = new Option<string?>("--type") { Description = "The kind of job, when a name is used by more than one: " + string.Join(", ", Strata.Server.JobsWatch.Types) };
jobType.AcceptOnlyFromAmong(Strata.Server.JobsWatch.Types);
var jobsWatch = new Command("watch", "Follow a job live until it ends: a transform job's progress, a training or processing job's status transitions, metrics and last log line") { dataDir, jobName, jobAccount, jobType };
jobsWatch.SetAction(async (parse, ct) =>
{
    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
    using var state = new SqliteStateStore(Path.Combine(dir, "state.db"));
    var credentials = new CredentialStore(state);
    var account = parse.GetValue(jobAccount) ?? credentials.Bootstrap(Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"), TimeProvider.System).Account.Id;
    return await Strata.Server.JobsWatch.RunAsync(state, Path.Combine(dir, "logs"), account, parse.GetValue(jobName)!, parse.GetValue(jobType), ct);
});
var jobsCommand = new Command("jobs", "Batch transform, training and processing jobs") { jobsWatch };

var sfnMachine = new Argument<string>("state-machine") { Description = "The state machine's name or ARN" };
var sfnExecution = new Option<string?>("--execution") { Description = "Colour each state by its status in this execution (name or ARN)" };
var sfnOutput = new Option<string?>("--output", "-o") { Description = "Write the SVG to this file (default: standard output)" };
var sfnAccount = new Option<string?>("--account") { Description = "The account that owns the state machine (default: the installation's first account)" };
var sfnGraph = new Command("graph", "Draw a state machine as SVG, its states coloured by their status in an execution") { dataDir, sfnMachine, sfnExecution, sfnOutput, sfnAccount };
sfnGraph.SetAction(parse =>
{
    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
    using var state = new SqliteStateStore(Path.Combine(dir, "state.db"));
    var credentials = new CredentialStore(state);
    var account = parse.GetValue(sfnAccount) ?? credentials.Bootstrap(Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"), TimeProvider.System).Account.Id;
    return Strata.Server.SfnGraph.Run(state, account, parse.GetValue(sfnMachine)!, parse.GetValue(sfnExecution), parse.GetValue(sfnOutput));
});
var sfnCommand = new Command("sfn", "Step Functions state machines") { sfnGraph };

var monitorSchedule = new Argument<string>("schedule") { Description = "The data-quality monitoring schedule's name" };
var monitorOutput = new Option<string?>("--output", "-o") { Description = "Write the HTML to this file (default: standard output)" };
var monitorAccount = new Option<string?>("--account") { Description = "The account that owns the schedule (default: the installation's first account)" };
var monitorReport = new Command("report", "Draw a data-quality schedule's drift as an HTML page: per feature the baseline's and the latest window's histograms, and the distance over time")
    { dataDir, monitorSchedule, monitorOutput, monitorAccount };
monitorReport.SetAction(async (parse, _) =>
{
    var (code, answer) = await Strata.Server.Chaos.FetchAsync(Path.GetFullPath(parse.GetValue(dataDir)!), HttpMethod.Get, "monitor/report",
        $"?schedule={Uri.EscapeDataString(parse.GetValue(monitorSchedule)!)}&account={Uri.EscapeDataString(parse.GetValue(monitorAccount) ?? "")}");
    if (code != 0) return code;
    string html;
    try { html = Strata.Server.MonitorPage.Render(answer!); }
    catch (Strata.Algorithms.ClientError e)
    {
        Console.Error.WriteLine($"strata: {e.Message}");
        return 1;
    }
    if (parse.GetValue(monitorOutput) is { } file)
    {
        File.WriteAllText(file, html);
        Console.Error.WriteLine($"strata: wrote {file}");
    }
    else Console.Out.Write(html);
    return 0;
});
var monitorCommand = new Command("monitor", "Model Monitor: a schedule's drift as a page to look at") { monitorReport };

var chaosZone = new Argument<string>("zone") { Description = "An availability zone of the installation" };
var chaosEndpoint = new Option<string?>("--endpoint") { Description = "Only instances of this endpoint" };
var chaosInstance = new Option<string?>("--instance") { Description = "This instance (an id `strata chaos instances` lists)" };
var chaosInstances = new Command("instances", "List the running instances and their zones") { dataDir };
chaosInstances.SetAction((parse, _) => Strata.Server.Chaos.SendAsync(Path.GetFullPath(parse.GetValue(dataDir)!), HttpMethod.Get, "chaos/instances", ""));
var chaosKill = new Command("kill-instance", "Kill one instance (SIGKILL), as a failing machine would; it is replaced") { dataDir, chaosEndpoint, chaosInstance };
chaosKill.SetAction((parse, _) => Strata.Server.Chaos.SendAsync(Path.GetFullPath(parse.GetValue(dataDir)!), HttpMethod.Post, "chaos/kill-instance",
    $"?endpoint={Uri.EscapeDataString(parse.GetValue(chaosEndpoint) ?? "")}&instance={Uri.EscapeDataString(parse.GetValue(chaosInstance) ?? "")}"));
var chaosFail = new Command("fail-zone", "Fail a zone: kill its instances; replacements start in healthy zones") { dataDir, chaosZone };
chaosFail.SetAction((parse, _) => Strata.Server.Chaos.SendAsync(Path.GetFullPath(parse.GetValue(dataDir)!), HttpMethod.Post, "chaos/fail-zone", "?zone=" + Uri.EscapeDataString(parse.GetValue(chaosZone)!)));
var chaosRestore = new Command("restore-zone", "Bring a failed zone back (new instances may start there again)") { dataDir, chaosZone };
chaosRestore.SetAction((parse, _) => Strata.Server.Chaos.SendAsync(Path.GetFullPath(parse.GetValue(dataDir)!), HttpMethod.Post, "chaos/restore-zone", "?zone=" + Uri.EscapeDataString(parse.GetValue(chaosZone)!)));
var chaosCommand = new Command("chaos", "Failure drills against a running server: instances, zones") { chaosInstances, chaosKill, chaosFail, chaosRestore };

var usageCommand = new Command("usage", "Serverless endpoints' metered usage: requests, GB-seconds, cold starts") { dataDir };
usageCommand.SetAction((parse, _) => Strata.Server.Chaos.SendAsync(Path.GetFullPath(parse.GetValue(dataDir)!), HttpMethod.Get, "usage", ""));

var metricsEndpoint = new Argument<string>("endpoint") { Description = "The endpoint's name" };
var metricsOnce = new Option<bool>("--once") { Description = "Print the table once instead of refreshing it every 2 seconds" };
var metricsCommand = new Command("metrics", "A live table of an endpoint's SageMaker metrics per variant (the last minute)") { dataDir, metricsEndpoint, metricsOnce };
metricsCommand.SetAction((parse, ct) => Strata.Server.EndpointMetrics.WatchAsync(Path.GetFullPath(parse.GetValue(dataDir)!), parse.GetValue(metricsEndpoint)!, parse.GetValue(metricsOnce), ct));

var logsEndpoint = new Argument<string>("endpoint") { Description = "The endpoint whose instances' output to print" };
var logsFollow = new Option<bool>("--follow", "-f") { Description = "Keep printing new events as they arrive (Ctrl-C ends)" };
var logsSince = new Option<string>("--since") { Description = "How far back to start: 30s, 10m, 2h, 1d, 1w", DefaultValueFactory = _ => "10m" };
var logsAccount = new Option<string?>("--account") { Description = "The account that owns the endpoint (default: the installation's first account)" };
var logsCommand = new Command("logs", "Print an endpoint's log events (CloudWatch Logs group /aws/sagemaker/Endpoints/NAME)") { dataDir, logsEndpoint, logsFollow, logsSince, logsAccount };
logsCommand.SetAction(async (parse, ct) =>
{
    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
    if (Strata.Server.LogsTail.ParseSince(parse.GetValue(logsSince)!) is not { } since)
    {
        Console.Error.WriteLine($"strata: --since {parse.GetValue(logsSince)}: expected a number and s, m, h, d or w");
        return 2;
    }
    using var state = new SqliteStateStore(Path.Combine(dir, "state.db"));
    var credentials = new CredentialStore(state);
    var account = parse.GetValue(logsAccount) ?? credentials.Bootstrap(Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"), TimeProvider.System).Account.Id;
    using var store = new LogStore(Path.Combine(dir, "logs.db"));
    return await Strata.Server.LogsTail.RunAsync(store, account, parse.GetValue(logsEndpoint)!, since, parse.GetValue(logsFollow), Console.Out, ct);
});

var auditLast = new Option<int>("--last", "-n") { Description = "How many events to show", DefaultValueFactory = _ => 20 };
var auditUser = new Option<string?>("--user") { Description = "Only this user's (or role session's) calls; root for the account's root" };
var auditEvent = new Option<string?>("--event") { Description = "Only calls of this operation, e.g. CreateEndpoint" };
var auditErrors = new Option<bool>("--errors") { Description = "Only refused or failed calls" };
var auditAccount = new Option<string?>("--account") { Description = "The account (default: the installation's first account)" };
var auditCommand = new Command("audit", "The latest CloudTrail events (management calls) as a table, newest first") { dataDir, auditLast, auditUser, auditEvent, auditErrors, auditAccount };
auditCommand.SetAction(parse =>
{
    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
    using var state = new SqliteStateStore(Path.Combine(dir, "state.db"));
    var credentials = new CredentialStore(state);
    var account = parse.GetValue(auditAccount) ?? credentials.Bootstrap(Environment.GetEnvironmentVariable("STRATA_ROOT_ACCESS_KEY_ID"), Environment.GetEnvironmentVariable("STRATA_ROOT_SECRET_ACCESS_KEY"), TimeProvider.System).Account.Id;
    using var store = new EventHistoryStore(Path.Combine(dir, "cloudtrail.db"));
    var rows = Strata.Server.Audit.Rows(store, account, Math.Max(1, parse.GetValue(auditLast)), parse.GetValue(auditUser), parse.GetValue(auditEvent), parse.GetValue(auditErrors), TimeProvider.System.GetUtcNow());
    Strata.Server.Audit.Print(rows, Console.Out);
    return 0;
});

var statusCommand = new Command("status", "What the data directory's server runs: endpoints and instances, jobs in progress, ports, disk used (exit 3: no server runs)") { dataDir };
statusCommand.SetAction((parse, _) => Status.RunAsync(Path.GetFullPath(parse.GetValue(dataDir)!), Console.Out));

var resetYes = new Option<bool>("--yes") { Description = "Really delete (without it: say what would be deleted)" };
var resetDiscardKey = new Option<bool>("--discard-master-key") { Description = "Delete master.key too (kept by default)" };
var resetCommand = new Command("reset", "Delete the data directory's state (not while a server runs there); master.key is kept unless --discard-master-key") { dataDir, resetYes, resetDiscardKey };
resetCommand.SetAction(parse => Reset.Run(Path.GetFullPath(parse.GetValue(dataDir)!), parse.GetValue(resetYes), parse.GetValue(resetDiscardKey), Console.Out, Console.Error));

var rootCommand = new RootCommand("Strata: the AWS machine-learning platform, self-hosted") { serve, env, statusCommand, resetCommand, imagesCommand, accountsCommand, jobsCommand, sfnCommand, monitorCommand, chaosCommand, usageCommand, metricsCommand, logsCommand, auditCommand };
return await rootCommand.Parse(args).InvokeAsync();

/// <summary>The state store of a data directory, for commands that work on it directly.</summary>
static SqliteStateStore OpenState(string dataDir)
{
    var dir = Path.GetFullPath(dataDir);
    StrataHost.EnsureDataDirectory(dir);
    return new SqliteStateStore(Path.Combine(dir, "state.db"));
}

public partial class Program;
