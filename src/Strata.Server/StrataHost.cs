using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Identity;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Monitoring;
using Strata.Server.Jobs.Processing;
using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Jobs.Trail;
using Strata.Server.Jobs.Training;
using Strata.Server.Jobs.Transform;
using Strata.Server.Jobs.Tuning;
using Strata.Server.Pipeline;
using Strata.Server.Protocol;
using Strata.Server.Services.AutoScaling;
using Strata.Server.Services.CloudTrail;
using Strata.Server.Services.CloudWatch;
using Strata.Server.Services.Events;
using Strata.Server.Services.Iam;
using Strata.Server.Services.Kms;
using Strata.Server.Services.Logs;
using Strata.Server.Services.Runtime;
using Strata.Server.Services.S3;
using Strata.Server.Services.SageMaker;
using Strata.Server.Services.Sns;
using Strata.Server.Services.StepFunctions;
using Strata.Server.Services.Sts;
using Strata.Server.Storage;

namespace Strata.Server;

/// <summary>The composition root: opens the data directory, builds the services and the
/// request pipeline, and puts them behind Kestrel's HTTP and HTTPS listeners.</summary>
public static class StrataHost
{
    /// <summary>The one version: the assembly's (Directory.Build.props), which `strata --version` prints too.</summary>
    public static readonly string Version = typeof(StrataHost).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;

    static int _hostsBuilt;

    /// <summary>Builds the server. <paramref name="clock"/> is the one clock everything reads
    /// (<c>strata serve</c>: the system's; tests: one they drive). <paramref name="routes"/> lets
    /// a host that embeds Strata (the tests) put its own middleware before Strata's routes.</summary>
    public static WebApplication Build(StrataOptions options, TextWriter console, TimeProvider? clock = null, Action<IApplicationBuilder>? routes = null)
    {
        EnsureDataDirectory(options.DataDir);
        clock ??= TimeProvider.System;
        var state = new SqliteStateStore(Path.Combine(options.DataDir, "state.db"));
        var credentials = new CredentialStore(state, clock);
        var (account, rootKey, created) = credentials.Bootstrap(options.RootAccessKeyId, options.RootSecretAccessKey, clock);
        var blobs = new BlobStore(Path.Combine(options.DataDir, "objects"));
        var s3Store = new S3Store(state, blobs);
        var kmsStore = new KmsStore(state, KmsStore.LoadMasterKey(options.DataDir));
        var kms = new KmsService(kmsStore, clock, options.Region);
        var sse = new ServerSideEncryption(kms, kmsStore, options.Region);
        // CloudWatch Logs in a database of its own: container output is written continuously.
        var logStore = new LogStore(Path.Combine(options.DataDir, "logs.db"));
        var metrics = new MetricsStore(clock, Path.Combine(options.DataDir, "metrics.db"));
        // Log events, from PutLogEvents or Strata's own output, become metrics through metric filters.
        var metricFilters = new MetricFilterPublisher(logStore, metrics);
        var logs = new LogsService(logStore, clock, options.Region, metricFilters);
        // Where services emit their own events (endpoint, job, alarm, object state changes):
        // EventBridge's default bus of each account.
        var eventsStore = new EventsStore(state);
        var events = new EventsService(eventsStore, clock, options.Region) { Metrics = metrics };
        IServiceEvents serviceEvents = events;
        var s3Environment = new S3Environment(s3Store, credentials, clock, options.Region, sse) { Events = serviceEvents };
        var s3 = new S3Service(s3Environment, options.S3Domains);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Strata", Environment.GetEnvironmentVariable("STRATA_LOG_LEVEL") is { } level && Enum.TryParse<LogLevel>(level, true, out var l) ? l : LogLevel.Information);
        // With this logger enabled at any level, ASP.NET starts an Activity (a random trace id, a
        // log scope) for every request, 3 % of an InvokeEndpoint's server time; what it would log
        // (request start and end) Strata's own request log says, and Kestrel logs unhandled errors.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Services.AddSingleton<IStateStore>(state);
        builder.Services.AddSingleton(clock);
        builder.Services.AddSingleton(credentials);
        // The long-running loops are hosted services, built below once the app's loggers exist;
        // the host starts them in this order and stops them in reverse, before the state store closes.
        HostingService hosting = null!;
        TransformJobRunner transforms = null!;
        TrainingJobRunner training = null!;
        ProcessingJobRunner processing = null!;
        HyperParameterTuner tuner = null!;
        Scaler scaler = null!;
        MetricsStore metricsStore = null!;
        // First to start, last to stop: the final flush sees every metric the others recorded.
        builder.Services.AddHostedService(sp => new MetricsFlusher(metricsStore, clock, sp.GetRequiredService<ILogger<MetricsFlusher>>()));
        LogIngestion logIngestion = null!;
        LogRetention logRetention = null!;
        // Log ingestion starts before hosting and stops after it, so that what hosting prints while it stops still goes in.
        builder.Services.AddHostedService(_ => logIngestion);
        builder.Services.AddHostedService(_ => logRetention);
        // Data capture stops after hosting: requests that finish while hosting stops are captured too.
        DataCaptureWriter dataCapture = null!;
        builder.Services.AddHostedService(_ => dataCapture);
        builder.Services.AddHostedService(_ => hosting);
        builder.Services.AddHostedService(_ => transforms);
        builder.Services.AddHostedService(_ => training);
        builder.Services.AddHostedService(_ => processing);
        // After the training runner: the tuning jobs go on once their training jobs are restored.
        builder.Services.AddHostedService(_ => tuner);
        builder.Services.AddHostedService(_ => scaler);
        // After hosting: queued asynchronous requests run once their endpoints are restored.
        AsyncInference asyncInference = null!;
        builder.Services.AddHostedService(_ => asyncInference);
        AlarmEvaluator alarms = null!;
        builder.Services.AddHostedService(_ => alarms);
        SnsDeliveryService snsDelivery = null!;
        builder.Services.AddHostedService(_ => snsDelivery);
        EventsDeliveryService eventsDelivery = null!;
        builder.Services.AddHostedService(_ => eventsDelivery);
        EventsScheduler eventsScheduler = null!;
        builder.Services.AddHostedService(_ => eventsScheduler);
        // After the processing runner: a monitoring execution is a processing job.
        MonitoringScheduler monitoringScheduler = null!;
        builder.Services.AddHostedService(_ => monitoringScheduler);
        // After the jobs' runners: a resumed execution's .sync task polls jobs that are restored.
        ExecutionRunner stepFunctionsRunner = null!;
        builder.Services.AddHostedService(_ => stepFunctionsRunner);
        builder.Services.AddHostedService(sp => new LifecycleWorker(s3Environment, options.S3LifecyclePeriod, sp.GetRequiredService<ILogger<LifecycleWorker>>()));
        // CloudTrail's event history in a database of its own: the audit stage writes with every request.
        var historyStore = new EventHistoryStore(Path.Combine(options.DataDir, "cloudtrail.db"));
        EventHistory eventHistory = null!;
        builder.Services.AddHostedService(_ => eventHistory);
        // CloudTrail's trails: the audit stage hands records to trailDelivery, which delivers them.
        TrailDelivery trailDelivery = null!;
        builder.Services.AddHostedService(_ => trailDelivery);
        builder.Services.AddSingleton(_ => trailDelivery);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // S3 objects up to 5 GiB per PUT stream through
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MaxRequestHeadersTotalSize = 64 * 1024;
            var address = options.BindAddress;
            kestrel.Listen(address, options.Port);
            if (options.VpcePort > 0) kestrel.Listen(address, options.VpcePort);
            if (options.TlsPort > 0)
            {
                var certificate = TlsCertificate.Load(options);
                kestrel.Listen(address, options.TlsPort, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                });
            }
        });

        var app = builder.Build();
        // Identity first: every other service is authorized by it, and hosting acts through it.
        var iamStore = new IamStore(state);
        var iam = new IamService(iamStore, credentials, clock);
        var sts = new StsService(iamStore, credentials, clock);
        var snsStore = new SnsStore(state);
        var authorizer = new Authorizer(iamStore, [Authorizer.RoleTrust(iamStore),
            BucketPolicyOperations.Lookup(s3Store, json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource)),
            KmsService.Lookup(kmsStore, json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource)),
            SnsService.Lookup(snsStore, json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource)),
            EventsService.Lookup(eventsStore, json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource))], clock);
        events.ParsePolicy = json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource);
        eventHistory = new EventHistory(historyStore, clock, app.Services.GetRequiredService<ILogger<EventHistory>>());
        var trailsStore = new TrailsStore(state);
        var trailKeys = new TrailKeys(options.DataDir, clock);
        var trailBuckets = new S3TrailBuckets(s3Store, sse, kms, json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource), clock);
        trailDelivery = new TrailDelivery(trailsStore, trailBuckets, trailKeys, clock, options.Region, options.CloudTrailDeliveryPeriod, options.CloudTrailDigestPeriod,
            app.Services.GetRequiredService<ILogger<TrailDelivery>>());
        // Every record, the pipeline's and those of calls made on a customer's behalf, goes through one log.
        var auditLog = new AuditLog(eventHistory, trailDelivery, serviceEvents);
        var roles = new ExecutionRoles(iamStore, authorizer, auditLog, clock, options.Region);

        logIngestion = new LogIngestion(logStore, clock, app.Services.GetRequiredService<ILogger<LogIngestion>>(), metricFilters);
        logRetention = new LogRetention(logStore, clock, options.LogRetentionPeriod, app.Services.GetRequiredService<ILogger<LogRetention>>());
        var sageMakerStore = new SageMakerStore(state) { Events = serviceEvents };
        metricsStore = metrics;
        var images = new ImageCatalogue(options.DataDir);
        // Worker sockets live in a short private directory: socket paths are limited to 108 bytes.
        var artifacts = new ArtifactReader(s3Store, sse, roles, options.Region, Path.Combine(options.DataDir, "models"));
        var zones = new Zones(options.Zones ?? Zones.Default(options.Region));
        var adminToken = Chaos.EnsureToken(options.DataDir);
        // One per server: a process hosts several only in tests (fake-clock servers running side
        // by side), and each server removes its own directory as it stops.
        var hostNumber = Interlocked.Increment(ref _hostsBuilt);
        var runDir = Path.Combine(Path.GetTempPath(), "strata-" + Environment.ProcessId + (hostNumber == 1 ? "" : "-" + hostNumber));
        var endpoints = new EndpointHosting(sageMakerStore, clock);
        dataCapture = new DataCaptureWriter(new S3CaptureStore(new S3JobStorage(s3Store, sse, roles, clock, options.Region)), clock,
            app.Services.GetRequiredService<ILogger<DataCaptureWriter>>());
        hosting = new HostingService(artifacts, images, metrics, endpoints,
            new HostingOptions
            {
                RunDir = runDir,
                DataDir = options.DataDir,
                LogDir = Path.Combine(options.DataDir, "logs"),
                ServerlessIdle = options.ServerlessIdle,
                LogEvents = logIngestion,
                GpuInstancesOnCpu = options.GpuInstancesOnCpu,
            }, clock,
            app.Services.GetRequiredService<ILogger<HostingService>>(), zones)
        { Capture = dataCapture };
        var transformJobs = new TransformJobStore(state) { Events = serviceEvents };
        transforms = new TransformJobRunner(new TransformJobs(transformJobs, sageMakerStore), new TransformCheckpoints(state),
            new S3JobStorage(s3Store, sse, roles, clock, options.Region), artifacts, images, metrics,
            new TransformOptions { WorkDir = Path.Combine(options.DataDir, "transform"), RunDir = runDir, DataDir = options.DataDir, LogDir = Path.Combine(options.DataDir, "logs"), LogEvents = logIngestion, Gpus = hosting.Gpus }, clock,
            app.Services.GetRequiredService<ILogger<TransformJobRunner>>());
        var trainingJobs = new TrainingJobStore(state) { Events = serviceEvents };
        training = new TrainingJobRunner(trainingJobs, new S3JobStorage(s3Store, sse, roles, clock, options.Region), images, metrics,
            new TrainingOptions { WorkDir = Path.Combine(options.DataDir, "training"), DataDir = options.DataDir, LogDir = Path.Combine(options.DataDir, "logs"), LogEvents = logIngestion, Region = options.Region },
            clock, app.Services.GetRequiredService<ILogger<TrainingJobRunner>>());
        var processingJobs = new ProcessingJobStore(state) { Events = serviceEvents };
        var jobStorage = new S3JobStorage(s3Store, sse, roles, clock, options.Region);
        processing = new ProcessingJobRunner(processingJobs, jobStorage, images,
            new ProcessingOptions
            {
                WorkDir = Path.Combine(options.DataDir, "processing"),
                Containers = new() { DataDir = options.DataDir, LogDir = Path.Combine(options.DataDir, "logs"), LogEvents = logIngestion },
                Region = options.Region,
            },
            clock, app.Services.GetRequiredService<ILogger<ProcessingJobRunner>>())
        { Metrics = metrics };
        var modelRegistry = new ModelRegistryStore(state) { Events = serviceEvents };
        var tuningJobs = new TuningJobStore(state, trainingJobs) { Events = serviceEvents };
        tuner = new HyperParameterTuner(tuningJobs, new TuningTrainingJobs(trainingJobs, training, sageMakerStore, logStore, options.Region), clock,
            app.Services.GetRequiredService<ILogger<HyperParameterTuner>>());
        trainingJobs.Ended = tuner.TrainingJobEnded;
        var sageMaker = new SageMakerService(sageMakerStore, hosting, endpoints, images, roles, clock, options.Region, transformJobs, transforms, trainingJobs, training,
            modelRegistry, processingJobs, processing)
        {
            TuningJobs = tuningJobs,
            Tuner = tuner,
            Limits = options.Limits,
            Monitoring = new MonitoringStore(state),
        };
        monitoringScheduler = new MonitoringScheduler(sageMaker, clock, app.Services.GetRequiredService<ILogger<MonitoringScheduler>>());
        sageMaker.SchedulesChanged = monitoringScheduler.Wake;
        var runtime = new RuntimeService(hosting, metrics, options.Region,
            (account, name) => sageMakerStore.GetEndpoint(account, name) is { } e ? (e.EndpointStatus, e.FailureReason) : null);
        var autoScalingStore = new AutoScalingStore(state);
        var autoScaling = new ApplicationAutoScalingService(autoScalingStore, sageMakerStore, clock, options.Region) { Limits = options.Limits };
        scaler = new Scaler(autoScalingStore, sageMakerStore, hosting, metrics, clock, options.AutoScalingPeriod, app.Services.GetRequiredService<ILogger<Scaler>>()) { Events = serviceEvents };
        // SNS: messages are signed with a key made once in the data directory; SubscribeURL,
        // UnsubscribeURL and SigningCertURL point at this server's HTTP listener.
        var snsSigning = SnsSigning.Load(options.DataDir);
        snsDelivery = new SnsDeliveryService(snsStore, clock, app.Services.GetRequiredService<ILogger<SnsDeliveryService>>(), options.SmtpUrl);
        var snsHost = options.Host is "0.0.0.0" or "::" ? "127.0.0.1" : options.Host;
        var sns = new SnsService(new SnsEnvironment(snsStore, snsSigning, clock, options.Region, $"http://{snsHost}:{options.Port}",
            json => iamStore.Parse(json, Strata.Policy.PolicyKind.Resource), snsDelivery.Wake, options.SmtpUrl is not null));
        // Asynchronous inference acts as the endpoint's execution role: S3 for input and answers,
        // SNS (its sns:Publish checked) for the notifications; topics of its own account only.
        var snsForAsync = new SnsPublisher(sns);
        asyncInference = new AsyncInference(state, hosting, new S3JobStorage(s3Store, sse, roles, clock, options.Region), metrics, clock,
            (account, name) => AsyncEndpointRecords.Facts(sageMakerStore, account, name),
            async (account, role, topic, message, ct) =>
            {
                if (topic.Split(':') is not [_, _, _, _, var owner, _] || owner != account) throw new TopicNotFound(topic);
                roles.Require(roles.Assume(role, ExecutionRoles.SageMaker), "sns:Publish", topic, $"sns.{options.Region}.amazonaws.com", "Could not publish the asynchronous inference notification");
                await snsForAsync.PublishAsync(topic, null, message, ct);
            },
            options.Region, options.AsyncInferencePeriod, app.Services.GetRequiredService<ILogger<AsyncInference>>());
        asyncInference.Runtime = runtime;
        runtime.Endpoints = (account, name) => AsyncEndpointRecords.Facts(sageMakerStore, account, name);
        runtime.Async = asyncInference;
        processing.InvokeEndpoint = async (account, endpoint, body, contentType, accept, ct)
            => (await runtime.InvokeForAnalysisAsync(account, endpoint, body, contentType, accept, ct)).Body;
        var cloudWatch = new CloudWatchService(metrics, state, clock)
        {
            Region = options.Region,
            Notifier = new SnsAlarmNotifier(new SnsPublisher(sns)),
            ScalingActions = new ScalerAlarmAction(scaler),
            Events = serviceEvents,
        };
        autoScaling.Alarms = new CloudWatchScalingAlarms(cloudWatch);
        eventsDelivery = new EventsDeliveryService(events, eventsStore, new StrataEventTargets(new SnsPublisher(sns), logStore, metricFilters, logIngestion, clock), clock,
            app.Services.GetRequiredService<ILogger<EventsDeliveryService>>());
        eventsScheduler = new EventsScheduler(events, eventsStore, clock, options.Region, app.Services.GetRequiredService<ILogger<EventsScheduler>>());
        events.Log = app.Services.GetRequiredService<ILogger<EventsService>>();
        events.DeliveriesQueued = eventsDelivery.Wake;
        events.RulesChanged = eventsScheduler.Wake;
        var cloudTrail = new CloudTrailService(historyStore, clock);
        alarms = new AlarmEvaluator(cloudWatch, clock, app.Services.GetRequiredService<ILogger<AlarmEvaluator>>());
        var audit = new AuditStage(auditLog, clock, options.Region, app.Services.GetRequiredService<ILogger<AuditStage>>());
        var trailLogGroups = new CloudWatchTrailLogGroups(roles, logStore, metricFilters, clock, options.Region);
        trailDelivery.LogGroups = trailLogGroups;
        var trails = new TrailsService(trailsStore, trailBuckets, trailLogGroups, trailKeys, trailDelivery, clock, options.Region);
        // CloudTrail's operations: the trails', and any other list of them concatenated here.
        Operation[] cloudTrailOperations = [.. cloudTrail.Operations, .. trails.Operations];
        // Step Functions: executions run in the background; their tasks call Strata's own
        // operations through the request pipeline, as the state machine's role.
        IInternalCalls? internalCalls = null;
        var executionStore = new ExecutionStore(state) { Logs = new ExecutionLogs(logIngestion) };
        var activityStore = new ActivityStore(state);
        var callbackTasks = new CallbackTasks(state, executionStore, clock);
        stepFunctionsRunner = new ExecutionRunner(executionStore,
            new TaskIntegrations(new DeferredCalls(() => internalCalls!), roles, clock, callbackTasks, activityStore)
            {
                ServerStopping = app.Lifetime.ApplicationStopping,
                Http = new HttpTasks(new EventsHttpConnections(eventsStore, options.Region), options.Region),
            }, clock,
            app.Services.GetRequiredService<ILogger<ExecutionRunner>>())
        {
            Events = serviceEvents,
            MapRuns = new MapRunStore(state, executionStore),
        };
        var stepFunctions = new StepFunctionsService(new StepFunctionsStore(state), executionStore, stepFunctionsRunner, roles, clock, options.Region,
            app.Services.GetRequiredService<ILogger<StepFunctionsService>>())
        {
            Activities = activityStore,
            Callbacks = callbackTasks,
            ServerStopping = app.Lifetime.ApplicationStopping,
        };
        var catalog = new ServiceCatalog(ServiceCatalog.AwsServices(s3, new NamedOperations(sageMaker.Operations, SageMakerErrorTable.Errors), runtime,
            new NamedOperations(iam.Operations, IamErrorTable.Errors), new NamedOperations(sts.Operations), new NamedOperations(kms.Operations, KmsErrorTable.Errors), new NamedOperations(autoScaling.Operations, AutoScalingErrorTable.Errors),
            new NamedOperations(cloudWatch.Operations), new NamedOperations(logs.Operations, LogsErrorTable.Errors),
            new NamedOperations(sns.Operations, SnsErrorTable.Errors), new NamedOperations(events.Operations),
            new NamedOperations(cloudTrailOperations), new NamedOperations(stepFunctions.Operations, StepFunctionsErrorTable.Errors)));
        var pipeline = new RequestPipeline(catalog, new SigV4Authenticator(credentials, clock), authorizer,
            app.Services.GetRequiredService<ILogger<RequestPipeline>>(), options.Region, options.VpcePort > 0 ? (options.VpcePort, options.VpceId) : null, audit)
        {
            Catalog = catalog,
        };
        internalCalls = pipeline;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Strata");
        // Compared with blob files' modification times, which the file system stamps with the
        // machine's clock, not with the injected one.
        var started = DateTime.UtcNow;

        routes?.Invoke(app);
        app.Run(async http =>
        {
            // Strata's own routes live under /_strata/, which no bucket name can be.
            if (http.Request.Path.StartsWithSegments("/_strata", StringComparison.Ordinal))
            {
                if (await Chaos.HandleAsync(http, adminToken, hosting, zones, metrics, () => Status.Snapshot(hosting, state),
                    (owner, schedule) => MonitorPage.Gather(sageMaker.Monitoring, processingJobs, jobStorage, owner.Length > 0 ? owner : account.Id, schedule))) return;
                await StrataRoutes(http, options, account, metrics, snsSigning, eventHistory, sageMakerStore);
                return;
            }
            await pipeline.HandleAsync(http);
        });

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var urls = new JsonObject { ["http"] = $"http://{options.Host}:{options.Port}" };
            if (options.TlsPort > 0) urls["https"] = $"https://{options.Host}:{options.TlsPort}";
            File.WriteAllText(Path.Combine(options.DataDir, "server.json"), urls.ToJsonString());
            console.WriteLine($"strata {Version}: data {options.DataDir}, region {options.Region}, account {account.Id}");
            if (created)
            {
                console.WriteLine("root credentials (printed on this first start only; `strata env` prints them whenever needed):");
                console.WriteLine($"  AWS_ACCESS_KEY_ID={rootKey.AccessKeyId}");
                console.WriteLine($"  AWS_SECRET_ACCESS_KEY={rootKey.SecretAccessKey}");
            }
            console.WriteLine($"strata: listening on http://{options.Host}:{options.Port}");
            if (options.TlsPort > 0) console.WriteLine($"strata: listening on https://{options.Host}:{options.TlsPort}");
            if (options.VpcePort > 0) console.WriteLine($"strata: listening on http://{options.Host}:{options.VpcePort} as VPC endpoint {options.VpceId} (aws:SourceVpce)");
            console.Flush();
            endpoints.RestoreAll(hosting);
            if (options.Demo)
            {
                _ = Task.Run(async () =>
                {
                    try { await Demo.DeployAsync(account.Id, options.Region, s3Store, sageMakerStore, iamStore, hosting, endpoints, clock, console); }
                    catch (Exception e) { log.LogError(e, "The demo could not be deployed"); }
                });
            }
            // Blobs that no row references are leftovers of a crash; remove them in the background.
            _ = Task.Run(() =>
            {
                try
                {
                    var swept = s3Store.SweepUnreferencedBlobs(started);
                    if (swept > 0) log.LogInformation("Removed {Count} unreferenced blobs left by an earlier crash", swept);
                }
                catch (Exception e) { log.LogWarning(e, "Blob sweep failed"); }
            });
        });
        // Shutdown says what it stopped: what ran as it began (endpoints, instances, jobs), printed once all has stopped.
        JsonObject? running = null;
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            if (app.Lifetime.ApplicationStarted.IsCancellationRequested) running = Status.Snapshot(hosting, state);
        });
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            if (running is null) return;
            console.WriteLine(Status.Stopped(running));
            console.Flush();
        });
        app.Lifetime.ApplicationStopped.Register(state.Dispose);
        app.Lifetime.ApplicationStopped.Register(logStore.Dispose);
        app.Lifetime.ApplicationStopped.Register(historyStore.Dispose);
        return app;
    }

    /// <summary>Creates the data directory if needed. It holds secret keys: only its owner may
    /// look inside.</summary>
    public static void EnsureDataDirectory(string dir)
    {
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    static async Task StrataRoutes(HttpContext http, StrataOptions options, AccountRecord account, MetricsStore metrics, SnsSigning snsSigning, EventHistory eventHistory,
        SageMakerStore sageMaker)
    {
        // The certificate that verifies SNS's message signatures (their SigningCertURL).
        if (http.Request.Path.Equals(snsSigning.CertificatePath, StringComparison.Ordinal) && HttpMethods.IsGet(http.Request.Method))
        {
            http.Response.ContentType = "application/x-pem-file";
            await http.Response.WriteAsync(snsSigning.CertificatePem);
            return;
        }
        if (http.Request.Path.Equals("/_strata/metrics", StringComparison.Ordinal) && HttpMethods.IsGet(http.Request.Method))
        {
            http.Response.ContentType = "text/plain; version=0.0.4";
            // Live series only: an endpoint's metrics leave the exposition with the endpoint (CloudWatch keeps them).
            var endpoints = sageMaker.AllEndpoints().Select(e => (e.Account, e.Endpoint.EndpointName)).ToHashSet();
            await http.Response.WriteAsync(metrics.Prometheus(key => key.Namespace is not ("AWS/SageMaker" or "/aws/sagemaker/Endpoints")
                || key.Dimensions.FirstOrDefault(d => d.Key == "EndpointName").Value is not { } endpoint || endpoints.Contains((key.Account, endpoint))));
            return;
        }
        if (http.Request.Path.Equals("/_strata/health", StringComparison.Ordinal) && HttpMethods.IsGet(http.Request.Method))
        {
            http.Response.ContentType = "application/json";
            var audit = eventHistory.Health;
            var body = new JsonObject
            {
                // Degraded while the audit store cannot be written: requests are answered, their records wait.
                ["status"] = (string?)audit["status"] == "ok" ? "ok" : "degraded",
                ["version"] = Version,
                ["region"] = options.Region,
                ["accountId"] = account.Id,
                ["audit"] = audit,
            };
            await http.Response.WriteAsync(body.ToJsonString());
            return;
        }
        http.Response.StatusCode = 404;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new JsonObject { ["message"] = "no such Strata route" }));
    }
}

/// <summary>A target-tracking policy's alarms are CloudWatch alarms, made and deleted with the
/// policy (the composition root is the one place that knows both services).</summary>
sealed class CloudWatchScalingAlarms(CloudWatchService cloudWatch) : IScalingAlarms
{
    public string Put(string account, ScalingAlarm a) => cloudWatch.PutMetricAlarm(account, new PutMetricAlarmInput
    {
        AlarmName = a.AlarmName,
        AlarmDescription = a.AlarmDescription,
        Namespace = a.Namespace,
        MetricName = a.MetricName,
        Dimensions = a.Dimensions.Select(d => new Dimension { Name = d.Name, Value = d.Value }).ToList(),
        Statistic = a.Statistic,
        Unit = a.Unit,
        Period = 60,
        EvaluationPeriods = a.EvaluationPeriods,
        DatapointsToAlarm = a.EvaluationPeriods,
        Threshold = a.Threshold,
        ComparisonOperator = a.ComparisonOperator,
        AlarmActions = [a.PolicyARN],
    });

    public void Delete(string account, IReadOnlyCollection<string> alarmNames) => cloudWatch.DeleteOwnedAlarms(account, alarmNames);
}

/// <summary>An alarm whose action names a scaling policy has the scaler apply it.</summary>
sealed class ScalerAlarmAction(Scaler scaler) : IAlarmScalingAction
{
    public Task ExecuteAsync(string account, string policyArn, AlarmBreach breach, CancellationToken ct) => scaler.ExecutePolicyAsync(account, policyArn, breach, ct);
}

/// <summary>The request pipeline as the internal calls of services built before it (Step Functions' tasks).</summary>
sealed class DeferredCalls(Func<IInternalCalls> calls) : IInternalCalls
{
    public Task<InternalCallResult> CallAsync(Principal principal, string serviceId, string operation, byte[] body, CancellationToken ct)
        => calls().CallAsync(principal, serviceId, operation, body, ct);

    public Task<InternalHttpResult> SendAsync(Principal principal, string serviceId, InternalHttpRequest request, CancellationToken ct)
        => calls().SendAsync(principal, serviceId, request, ct);
}

/// <summary>What the runtime's asynchronous path needs of an endpoint's SageMaker records: its
/// status, its configuration's AsyncInferenceConfig and the role its (first) variant's model runs as.</summary>
static class AsyncEndpointRecords
{
    public static EndpointFacts? Facts(SageMakerStore store, string account, string name)
    {
        if (store.GetEndpoint(account, name) is not { } endpoint) return null;
        var config = store.GetEndpointConfig(account, endpoint.EndpointConfigName);
        var settings = config?.AsyncInferenceConfig is { } a
            ? new AsyncSettings(a.MaxConcurrentInvocationsPerInstance, a.S3OutputPath, a.S3FailurePath, a.KmsKeyId, a.SuccessTopic, a.ErrorTopic, a.IncludeInferenceResponseIn)
            : null;
        var role = config?.ProductionVariants.FirstOrDefault() is { ModelName: { } model } ? store.GetModel(account, model)?.ExecutionRoleArn : null;
        return new EndpointFacts(endpoint.EndpointStatus, endpoint.FailureReason, settings, role);
    }
}

/// <summary>CloudWatch alarm actions publish through SNS (the composition root is the one place
/// that knows both). A topic of another account is not reached: Strata does not evaluate topic
/// policies for CloudWatch as a service principal, so only the alarm's own account's topics are.</summary>
sealed class SnsAlarmNotifier(SnsPublisher sns) : IAlarmNotifier
{
    public Task<string> PublishAsync(string account, string topicArn, string subject, string message, CancellationToken ct)
    {
        if (topicArn.Split(':') is not [_, _, _, _, var owner, _] || owner != account) throw new TopicNotFound(topicArn);
        // SNS subjects are at most 100 characters; AWS shortens long alarm subjects the same way.
        return sns.PublishAsync(topicArn, subject.Length > 100 ? subject[..100] : subject, message, ct);
    }
}

/// <summary>EventBridge's targets in the other services. Topics and log groups of the rule's own
/// account only: Strata does not evaluate their resource policies for EventBridge as a service
/// principal, so another account's are not reached.</summary>
sealed class StrataEventTargets(SnsPublisher sns, LogStore logs, MetricFilterPublisher metricFilters, LogIngestion logIngestion, TimeProvider clock) : IEventTargets
{
    static string Owner(string arn) => arn.Split(':') is [_, _, _, _, var owner, ..] ? owner : "";

    public async Task PublishAsync(string account, string topicArn, string message, CancellationToken ct)
    {
        if (Owner(topicArn) != account) throw new EventTargetUnavailable("ResourceNotFoundException", $"Topic {topicArn} is not in account {account}.");
        try { await sns.PublishAsync(topicArn, null, message, ct); }
        catch (TopicNotFound) { throw new EventTargetUnavailable("ResourceNotFoundException", $"Topic {topicArn} does not exist."); }
        catch (AwsException e) { throw new EventTargetUnavailable(e.Code, e.Message); }
    }

    public Task PutLogEventAsync(string account, string logGroupArn, string logStream, DateTimeOffset timestamp, string message, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        // arn:aws:logs:region:account:log-group:NAME, or the same with ":*" as the console writes it.
        var parts = logGroupArn.Split(':');
        if (parts is not [_, _, "logs", _, var owner, "log-group", var name, ..] || owner != account)
            throw new EventTargetUnavailable("ResourceNotFoundException", $"Log group {logGroupArn} is not in account {account}.");
        var group = logs.GetGroup(account, name) ?? throw new EventTargetUnavailable("ResourceNotFoundException", $"The specified log group does not exist: {name}.");
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        logs.CreateStream(group.Id, logStream, now);
        var stream = logs.GetStream(group.Id, logStream) ?? throw new InvalidOperationException($"Log stream {logStream} vanished");
        var events = new[] { (timestamp.ToUnixTimeMilliseconds(), message) };
        logs.Append(group.Id, stream.Id, events, now);
        metricFilters.Appended(new AppendedLogEvents(account, group.Id, events));
        return Task.CompletedTask;
    }

    public void RecordFailedDelivery(string account, DateTimeOffset at, string record)
        => logIngestion.Post(account, EventsService.FailedDeliveriesLogGroup, at.UtcDateTime.ToString("yyyy/MM/dd", System.Globalization.CultureInfo.InvariantCulture), at, record);
}

/// <summary>CloudTrail's view of S3 and KMS: buckets and their policies as the policy engine
/// judges them for the <c>cloudtrail.amazonaws.com</c> service principal, and objects put as
/// CloudTrail puts them (owned by the bucket's owner, SSE-KMS under the trail's key).</summary>
sealed class S3TrailBuckets(S3Store s3, ServerSideEncryption sse, KmsService kms, Func<string, Strata.Policy.PolicyDocument> parse, TimeProvider clock) : ITrailBuckets
{
    public bool Exists(string bucket) => s3.GetBucket(bucket) is not null;

    public bool Allows(string bucket, string action, string resource, string sourceArn, string sourceAccount)
        => s3.GetBucket(bucket) is { } record && Allows(record, action, resource, sourceArn, sourceAccount);

    static bool Allows(BucketRecord bucket, string action, string resource, string sourceArn, string sourceAccount, Func<string, Strata.Policy.PolicyDocument> parse)
    {
        if (bucket.Policy is null) return false;
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["aws:SourceArn"] = [sourceArn],
            ["aws:SourceAccount"] = [sourceAccount],
            ["aws:SecureTransport"] = ["true"],
            ["s3:x-amz-acl"] = ["bucket-owner-full-control"],
        };
        var request = new Strata.Policy.PolicyRequest(action, resource, context);
        var principal = new Strata.Policy.RequestPrincipal(ITrailBuckets.ServicePrincipal, "", Service: ITrailBuckets.ServicePrincipal);
        return Strata.Policy.Evaluator.Authorize(new Strata.Policy.AuthorizationRequest(request, principal, bucket.OwnerAccountId, [], parse(bucket.Policy))).IsAllowed;
    }

    bool Allows(BucketRecord bucket, string action, string resource, string sourceArn, string sourceAccount)
        => Allows(bucket, action, resource, sourceArn, sourceAccount, parse);

    public string? KmsKeyArn(string account, string keyId) => kms.Find(account, keyId).Key?.Arn;

    public bool KeyAllows(string keyArn, string sourceArn, string sourceAccount)
    {
        if (kms.Find(sourceAccount, keyArn).Key is not { KeyState: "Enabled" } key) return false;
        var context = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["aws:SourceArn"] = [sourceArn],
            ["aws:SourceAccount"] = [sourceAccount],
            ["aws:SecureTransport"] = ["true"],
            ["kms:EncryptionContext:aws:cloudtrail:arn"] = [sourceArn],
            ["kms:EncryptionContextKeys"] = ["aws:cloudtrail:arn"],
        };
        var request = new Strata.Policy.PolicyRequest("kms:GenerateDataKey", key.Arn, context);
        var principal = new Strata.Policy.RequestPrincipal(ITrailBuckets.ServicePrincipal, "", Service: ITrailBuckets.ServicePrincipal);
        return Strata.Policy.Evaluator.Authorize(new Strata.Policy.AuthorizationRequest(request, principal, key.AccountId, [], parse(key.Policy))).IsAllowed;
    }

    public string? Put(string bucketName, string key, byte[] body, string contentType, IReadOnlyDictionary<string, string> metadata, string? kmsKeyId,
        string sourceArn, string sourceAccount)
    {
        if (s3.GetBucket(bucketName) is not { } bucket) return "NoSuchBucket";
        if (!Allows(bucket, "s3:PutObject", $"arn:aws:s3:::{bucketName}/{key}", sourceArn, sourceAccount)) return "AccessDenied";
        (ObjectEncryption Meta, byte[] DataKey)? encryption;
        try
        {
            // The key is used as CloudTrail, so its key policy must allow CloudTrail (checked at
            // CreateTrail too, but a policy can change since).
            encryption = sse.ForServiceObject(bucket, key, kmsKeyId, sourceAccount, (_, keyArn) =>
            {
                if (!KeyAllows(keyArn, sourceArn, sourceAccount)) throw new AwsException("KMS.AccessDeniedException", 400, $"CloudTrail may not use the key {keyArn}");
            });
        }
        catch (AwsException e) { return e.Code; }
        var writer = s3.Blobs.CreateWriter();
        string blob;
        try
        {
            // Delivery runs on its own loop, not a request: waiting on the blob writer here is fine.
            if (encryption is { } sealedWith)
            {
                var sealing = SegmentCipher.Encrypt(writer.Stream, sealedWith.DataKey, writer.Id);
                sealing.Write(body);
                sealing.FinishAsync(CancellationToken.None).GetAwaiter().GetResult();
                sealing.Dispose();
            }
            else writer.Stream.Write(body);
            blob = writer.CommitAsync().GetAwaiter().GetResult();
        }
        finally { writer.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        s3.PutObject(bucketName, new ObjectRecord
        {
            Key = key,
            Size = body.Length,
            ETag = $"\"{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(body))}\"",
            LastModified = clock.GetUtcNow(),
            Segments = [new Segment(blob, body.Length)],
            Headers = new() { ["Content-Type"] = contentType },
            Metadata = new(metadata),
            OwnerAccountId = bucket.OwnerAccountId,
            Encryption = encryption?.Meta,
        });
        return null;
    }
}

/// <summary>CloudTrail's view of CloudWatch Logs: a trail's records put into its log group as the
/// role it names, assumed by <c>cloudtrail.amazonaws.com</c>, every write authorized as that
/// role's session (logs:CreateLogStream, logs:PutLogEvents on the stream).</summary>
sealed class CloudWatchTrailLogGroups(ExecutionRoles roles, LogStore logs, MetricFilterPublisher metricFilters, TimeProvider clock, string region) : ITrailLogGroups
{
    const string Service = "cloudtrail.amazonaws.com";

    /// <summary>A role session is used for an hour, as CloudTrail keeps the credentials it gets:
    /// assuming the role for each delivery would put an AssumeRole record in every log file.</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (Principal Session, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);

    /// <summary>A refusal is kept as long: each attempt is itself an audited AssumeRole, which the
    /// next delivery would deliver and so try again, every period, for ever.</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Reason, DateTimeOffset Until)> _refused = new(StringComparer.Ordinal);

    Principal Session(string roleArn, bool fresh)
    {
        var now = clock.GetUtcNow();
        if (!fresh && _sessions.TryGetValue(roleArn, out var held) && held.Expires > now) return held.Session;
        if (!fresh && _refused.TryGetValue(roleArn, out var refused) && refused.Until > now) throw new ExecutionRoleException(refused.Reason);
        try
        {
            var session = roles.Assume(roleArn, Service);
            _sessions[roleArn] = (session, now.AddHours(1));
            _refused.TryRemove(roleArn, out _);
            return session;
        }
        catch (ExecutionRoleException e)
        {
            _refused[roleArn] = (e.Message, now.AddHours(1));
            throw;
        }
    }

    public void Check(string account, string logGroupArn, string roleArn)
    {
        Principal session;
        try { session = Session(roleArn, fresh: true); }
        catch (ExecutionRoleException) { throw CloudTrailErrors.InvalidCloudWatchLogsRoleArnException("Access denied. Check the trust relationships for your role."); }
        if (Deliver(account, logGroupArn, session, []) is not null)
            throw CloudTrailErrors.InvalidCloudWatchLogsLogGroupArnException("Access denied. Check the permissions for your role.");
    }

    public string? Put(string account, string logGroupArn, string roleArn, IReadOnlyList<(long Timestamp, string Message)> events)
    {
        try { return Deliver(account, logGroupArn, Session(roleArn, fresh: false), events); }
        catch (ExecutionRoleException) { return "AccessDeniedException"; }
    }

    string? Deliver(string account, string logGroupArn, Principal session, IReadOnlyList<(long Timestamp, string Message)> events)
    {
        if (logGroupArn.Split(':') is not [_, _, "logs", _, _, "log-group", var name, ..]) return "InvalidLogGroupArn";
        var stream = $"{account}_CloudTrail_{region}";
        var streamArn = $"arn:aws:logs:{region}:{account}:log-group:{name}:log-stream:{stream}";
        var via = $"logs.{region}.amazonaws.com";
        try
        {
            // As in AWS, the permission is checked before whether the group exists is revealed.
            roles.Require(session, "logs:PutLogEvents", streamArn, via, "Could not deliver to CloudWatch Logs");
            if (logs.GetGroup(account, name) is not { } group) return "ResourceNotFoundException";
            var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (logs.GetStream(group.Id, stream) is null)
            {
                roles.Require(session, "logs:CreateLogStream", streamArn, via, "Could not deliver to CloudWatch Logs");
                logs.CreateStream(group.Id, stream, now);
            }
            if (events.Count == 0) return null;
            var row = logs.GetStream(group.Id, stream) ?? throw new InvalidOperationException($"Log stream {stream} vanished");
            logs.Append(group.Id, row.Id, events, now);
            metricFilters.Appended(new AppendedLogEvents(account, group.Id, events));
            return null;
        }
        catch (ExecutionRoleException) { return "AccessDeniedException"; }
    }
}
