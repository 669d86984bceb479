using System.Net;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Events;

// Connections (how to authorize with an HTTP endpoint) and API destinations (the endpoint, its
// method and rate), the control plane of EventBridge's HTTP targets; EventsDeliveryService makes
// the requests. A connection's credentials are kept to make requests and never answered: Describe
// gives the API key's name or the user name, and the SecretArn AWS would keep them under.
public sealed partial class EventsService
{
    /// <summary>AWS's default InvocationRateLimitPerSecond.</summary>
    public const int DefaultInvocationRateLimitPerSecond = 300;

    public string ConnectionArn(string account, string name, string id) => $"arn:aws:events:{region}:{account}:connection/{name}/{id}";

    public string ApiDestinationArn(string account, string name, string id) => $"arn:aws:events:{region}:{account}:api-destination/{name}/{id}";

    /// <summary>What IAM policies name a connection or destination by (the ARN's name part; the
    /// request gives the name, not the generated id).</summary>
    string ConnectionResource(RequestContext ctx, string name) => $"arn:aws:events:{region}:{ctx.Principal.AccountId}:connection/{name}";

    string ApiDestinationResource(RequestContext ctx, string name) => $"arn:aws:events:{region}:{ctx.Principal.AccountId}:api-destination/{name}";

    static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    static DateTimeOffset? At(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    static AwsException ConnectionNotFound(string name)
        => EventsErrors.ResourceNotFoundException($"Failed to describe the connection(s). Connection '{name}' does not exist.");

    static AwsException ApiDestinationNotFound(string name)
        => EventsErrors.ResourceNotFoundException($"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.");

    /// <summary>The answer of Update, Delete and DeauthorizeConnection: the connection's state.</summary>
    static T StateOf<T>(ConnectionRow c) where T : IConnectionStateResponse, new() => new()
    {
        ConnectionArn = c.Arn,
        ConnectionState = c.State,
        CreationTime = At(c.CreationTime),
        LastModifiedTime = At(c.LastModifiedTime),
        LastAuthorizedTime = At(c.LastAuthorizedTime),
    };

    // ---- connections ----

    CreateConnectionResponse CreateConnection(CreateConnectionRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var auth = r.AuthParameters!;
        CheckSupported(r.InvocationConnectivityParameters, auth.ConnectivityParameters, r.KmsKeyIdentifier);
        var now = Now(clock);
        var row = new ConnectionRow
        {
            Name = r.Name!,
            Arn = ConnectionArn(account, r.Name!, Guid.NewGuid().ToString()),
            Description = r.Description,
            AuthorizationType = r.AuthorizationType!,
            State = "AUTHORIZED",
            SecretArn = $"arn:aws:secretsmanager:{region}:{account}:secret:events!connection/{r.Name}/{Guid.NewGuid()}",
            CreationTime = now,
            LastModifiedTime = now,
            LastAuthorizedTime = now,
        };
        row = WithCredentials(row, r.AuthorizationType!, auth.ApiKeyAuthParameters?.ApiKeyName, auth.ApiKeyAuthParameters?.ApiKeyValue,
            auth.BasicAuthParameters?.Username, auth.BasicAuthParameters?.Password, auth.OAuthParameters is not null,
            auth.ApiKeyAuthParameters is not null, auth.BasicAuthParameters is not null, requireAll: true);
        row = row with { InvocationHttpParameters = HttpParametersRow(auth.InvocationHttpParameters) };
        if (!store.AddConnection(account, row)) throw EventsErrors.ResourceAlreadyExistsException($"Connection {row.Name} already exists.");
        return new() { ConnectionArn = row.Arn, ConnectionState = row.State, CreationTime = At(row.CreationTime), LastModifiedTime = At(row.LastModifiedTime) };
    }

    /// <summary>What Create and UpdateConnection may be given that Strata's connections do not do:
    /// private APIs (connectivity parameters) and keys of one's own.</summary>
    static void CheckSupported(ConnectivityResourceParameters? invocation, ConnectivityResourceParameters? auth, string? kmsKey)
    {
        if (invocation is not null)
            throw EventsErrors.ValidationException("Connections to private APIs are not supported by Strata: leave InvocationConnectivityParameters out.");
        if (kmsKey is not null)
            throw EventsErrors.ValidationException("KmsKeyIdentifier is not supported by Strata: connections are kept in the state database, as every other resource is.");
        if (auth is not null)
            throw EventsErrors.ValidationException("Connections to private APIs are not supported by Strata: leave ConnectivityParameters out.");
    }

    /// <summary>A connection with the credentials of its authorization type, checked as AWS checks
    /// them: the parameters of that type and no other's. An update may give only what changes.</summary>
    static ConnectionRow WithCredentials(ConnectionRow row, string type, string? keyName, string? keyValue, string? user, string? password,
        bool oauth, bool apiKeyGiven, bool basicGiven, bool requireAll)
    {
        if (type == "OAUTH_CLIENT_CREDENTIALS" || oauth)
            throw EventsErrors.ValidationException("OAUTH_CLIENT_CREDENTIALS connections are not supported by Strata: use API_KEY or BASIC authorization.");
        switch (type)
        {
            case "API_KEY":
                if (basicGiven) throw EventsErrors.ValidationException("BasicAuthParameters cannot be specified for the API_KEY authorization type.");
                if (requireAll && (keyName is null || keyValue is null))
                    throw EventsErrors.ValidationException("ApiKeyAuthParameters with ApiKeyName and ApiKeyValue are required for the API_KEY authorization type.");
                return row with
                {
                    AuthorizationType = type,
                    ApiKeyName = keyName ?? row.ApiKeyName,
                    ApiKeyValue = keyValue ?? row.ApiKeyValue,
                    Username = null,
                    Password = null,
                };
            case "BASIC":
                if (apiKeyGiven) throw EventsErrors.ValidationException("ApiKeyAuthParameters cannot be specified for the BASIC authorization type.");
                if (requireAll && (user is null || password is null))
                    throw EventsErrors.ValidationException("BasicAuthParameters with Username and Password are required for the BASIC authorization type.");
                return row with
                {
                    AuthorizationType = type,
                    Username = user ?? row.Username,
                    Password = password ?? row.Password,
                    ApiKeyName = null,
                    ApiKeyValue = null,
                };
            default:
                throw EventsErrors.ValidationException($"Unsupported AuthorizationType {type}.");
        }
    }

    static ConnectionHttpParametersRow? HttpParametersRow(ConnectionHttpParameters? p) => p is null ? null : new()
    {
        HeaderParameters = (p.HeaderParameters ?? []).Select(h => new ConnectionParameterRow { Key = h.Key ?? "", Value = h.Value ?? "", IsValueSecret = h.IsValueSecret ?? false }).ToList(),
        QueryStringParameters = (p.QueryStringParameters ?? []).Select(q => new ConnectionParameterRow { Key = q.Key ?? "", Value = q.Value ?? "", IsValueSecret = q.IsValueSecret ?? false }).ToList(),
        BodyParameters = (p.BodyParameters ?? []).Select(b => new ConnectionParameterRow { Key = b.Key ?? "", Value = b.Value ?? "", IsValueSecret = b.IsValueSecret ?? false }).ToList(),
    };

    /// <summary>The parameters as Describe answers them: a secret value is left out.</summary>
    static ConnectionHttpParameters? HttpParametersResponse(ConnectionHttpParametersRow? p) => p is null ? null : new()
    {
        HeaderParameters = p.HeaderParameters.Select(h => new ConnectionHeaderParameter { Key = h.Key, Value = h.IsValueSecret ? null : h.Value, IsValueSecret = h.IsValueSecret }).ToList(),
        QueryStringParameters = p.QueryStringParameters.Select(q => new ConnectionQueryStringParameter { Key = q.Key, Value = q.IsValueSecret ? null : q.Value, IsValueSecret = q.IsValueSecret }).ToList(),
        BodyParameters = p.BodyParameters.Select(b => new ConnectionBodyParameter { Key = b.Key, Value = b.IsValueSecret ? null : b.Value, IsValueSecret = b.IsValueSecret }).ToList(),
    };

    DescribeConnectionResponse DescribeConnection(DescribeConnectionRequest r, RequestContext ctx)
    {
        var c = store.GetConnection(ctx.Principal.AccountId, r.Name!) ?? throw ConnectionNotFound(r.Name!);
        return new()
        {
            ConnectionArn = c.Arn,
            Name = c.Name,
            Description = c.Description,
            ConnectionState = c.State,
            AuthorizationType = c.AuthorizationType,
            SecretArn = c.SecretArn,
            AuthParameters = new ConnectionAuthResponseParameters
            {
                ApiKeyAuthParameters = c.ApiKeyName is null ? null : new ConnectionApiKeyAuthResponseParameters { ApiKeyName = c.ApiKeyName },
                BasicAuthParameters = c.Username is null ? null : new ConnectionBasicAuthResponseParameters { Username = c.Username },
                InvocationHttpParameters = HttpParametersResponse(c.InvocationHttpParameters),
            },
            CreationTime = At(c.CreationTime),
            LastModifiedTime = At(c.LastModifiedTime),
            LastAuthorizedTime = At(c.LastAuthorizedTime),
        };
    }

    UpdateConnectionResponse UpdateConnection(UpdateConnectionRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var auth = r.AuthParameters;
        CheckSupported(r.InvocationConnectivityParameters, auth?.ConnectivityParameters, r.KmsKeyIdentifier);
        var now = Now(clock);
        var updated = store.UpdateConnection(account, r.Name!, c =>
        {
            var type = r.AuthorizationType ?? c.AuthorizationType;
            // Changing the type needs the new type's credentials; a deauthorized connection needs
            // them again too (its credentials were removed).
            var requireAll = type != c.AuthorizationType || c.State == "DEAUTHORIZED";
            var changed = WithCredentials(c, type, auth?.ApiKeyAuthParameters?.ApiKeyName, auth?.ApiKeyAuthParameters?.ApiKeyValue,
                auth?.BasicAuthParameters?.Username, auth?.BasicAuthParameters?.Password, auth?.OAuthParameters is not null,
                auth?.ApiKeyAuthParameters is not null, auth?.BasicAuthParameters is not null, requireAll);
            var reauthorized = auth?.ApiKeyAuthParameters is not null || auth?.BasicAuthParameters is not null || requireAll;
            return changed with
            {
                Description = r.Description ?? c.Description,
                InvocationHttpParameters = auth?.InvocationHttpParameters is { } p ? HttpParametersRow(p) : c.InvocationHttpParameters,
                State = reauthorized ? "AUTHORIZED" : c.State,
                LastAuthorizedTime = reauthorized ? now : c.LastAuthorizedTime,
                LastModifiedTime = now,
            };
        }) ?? throw ConnectionNotFound(r.Name!);
        return StateOf<UpdateConnectionResponse>(updated);
    }

    DeleteConnectionResponse DeleteConnection(DeleteConnectionRequest r, RequestContext ctx)
    {
        var deleted = store.DeleteConnection(ctx.Principal.AccountId, r.Name!, out var usedBy) ?? throw ConnectionNotFound(r.Name!);
        // AWS keeps a connection that an API destination still uses: the destination would be left
        // with nothing to authorize its requests.
        if (usedBy is not null)
            throw EventsErrors.ValidationException($"Connection '{r.Name}' is in use by api-destination '{usedBy}': delete or update the api-destination first.");
        return StateOf<DeleteConnectionResponse>(deleted);
    }

    /// <summary>Removes the connection's credentials (AWS deletes the secret's authorization values):
    /// its destinations' deliveries fail until UpdateConnection gives new ones.</summary>
    DeauthorizeConnectionResponse DeauthorizeConnection(DeauthorizeConnectionRequest r, RequestContext ctx)
    {
        var now = Now(clock);
        var c = store.UpdateConnection(ctx.Principal.AccountId, r.Name!, c => c with
        {
            State = "DEAUTHORIZED",
            ApiKeyValue = null,
            Password = null,
            LastModifiedTime = now,
        }) ?? throw ConnectionNotFound(r.Name!);
        return StateOf<DeauthorizeConnectionResponse>(c);
    }

    ListConnectionsResponse ListConnections(ListConnectionsRequest r, RequestContext ctx)
    {
        var connections = store.ConnectionsOf(ctx.Principal.AccountId).Where(c => r.ConnectionState is null || c.State == r.ConnectionState);
        var (page, next) = Page(connections, c => c.Name, r.NamePrefix, r.NextToken, r.Limit);
        return new()
        {
            Connections = page.Select(c => new Connection
            {
                ConnectionArn = c.Arn,
                Name = c.Name,
                ConnectionState = c.State,
                AuthorizationType = c.AuthorizationType,
                CreationTime = At(c.CreationTime),
                LastModifiedTime = At(c.LastModifiedTime),
                LastAuthorizedTime = At(c.LastAuthorizedTime),
            }).ToList(),
            NextToken = next,
        };
    }

    // ---- API destinations ----

    /// <summary>The connection an ARN names, of the caller's account and region.</summary>
    ConnectionRow ConnectionOf(string account, string arn)
    {
        var prefix = $"arn:aws:events:{region}:{account}:connection/";
        var rest = arn.StartsWith(prefix, StringComparison.Ordinal) ? arn[prefix.Length..] : null;
        var name = rest?.Split('/')[0];
        return name is not null && store.GetConnection(account, name) is { } c && c.Arn == arn
            ? c : throw EventsErrors.ResourceNotFoundException($"Connection '{arn}' does not exist.");
    }

    /// <summary>What Create and UpdateApiDestination give a destination to call, checked (an update
    /// may leave either out): the connection an ARN names, which it returns, and the endpoint.</summary>
    ConnectionRow? CheckDestination(string account, string? connectionArn, string? endpoint)
    {
        var connection = connectionArn is null ? null : ConnectionOf(account, connectionArn);
        if (endpoint is not null) CheckEndpoint(endpoint);
        return connection;
    }

    /// <summary>An endpoint Strata may call: https anywhere, plain http only to this machine (tests,
    /// local services), as AWS calls only https endpoints.</summary>
    static void CheckEndpoint(string endpoint)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            throw EventsErrors.ValidationException($"InvocationEndpoint {endpoint} is not a valid HTTPS URL.");
        if (uri.Scheme == Uri.UriSchemeHttp && !(uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip))))
            throw EventsErrors.ValidationException($"InvocationEndpoint {endpoint} must use HTTPS (plain HTTP is accepted only to a loopback address).");
    }

    CreateApiDestinationResponse CreateApiDestination(CreateApiDestinationRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var connection = CheckDestination(account, r.ConnectionArn!, r.InvocationEndpoint!)!;
        var now = Now(clock);
        var row = new ApiDestinationRow
        {
            Name = r.Name!,
            Arn = ApiDestinationArn(account, r.Name!, Guid.NewGuid().ToString()),
            Description = r.Description,
            ConnectionArn = connection.Arn,
            InvocationEndpoint = r.InvocationEndpoint!,
            HttpMethod = r.HttpMethod!,
            InvocationRateLimitPerSecond = r.InvocationRateLimitPerSecond ?? DefaultInvocationRateLimitPerSecond,
            CreationTime = now,
            LastModifiedTime = now,
        };
        switch (store.AddApiDestination(account, row, connection.Name))
        {
            case "destination": throw EventsErrors.ResourceAlreadyExistsException($"An api-destination '{row.Name}' already exists.");
            case "connection": throw EventsErrors.ResourceNotFoundException($"Connection '{r.ConnectionArn}' does not exist.");
        }
        return new() { ApiDestinationArn = row.Arn, ApiDestinationState = row.State, CreationTime = At(row.CreationTime), LastModifiedTime = At(row.LastModifiedTime) };
    }

    DescribeApiDestinationResponse DescribeApiDestination(DescribeApiDestinationRequest r, RequestContext ctx)
    {
        var d = store.GetApiDestination(ctx.Principal.AccountId, r.Name!) ?? throw ApiDestinationNotFound(r.Name!);
        return new()
        {
            ApiDestinationArn = d.Arn,
            Name = d.Name,
            Description = d.Description,
            ApiDestinationState = d.State,
            ConnectionArn = d.ConnectionArn,
            InvocationEndpoint = d.InvocationEndpoint,
            HttpMethod = d.HttpMethod,
            InvocationRateLimitPerSecond = d.InvocationRateLimitPerSecond,
            CreationTime = At(d.CreationTime),
            LastModifiedTime = At(d.LastModifiedTime),
        };
    }

    UpdateApiDestinationResponse UpdateApiDestination(UpdateApiDestinationRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var connection = CheckDestination(account, r.ConnectionArn, r.InvocationEndpoint);
        var now = Now(clock);
        var d = store.UpdateApiDestination(account, r.Name!, d => d with
        {
            Description = r.Description ?? d.Description,
            ConnectionArn = connection?.Arn ?? d.ConnectionArn,
            InvocationEndpoint = r.InvocationEndpoint ?? d.InvocationEndpoint,
            HttpMethod = r.HttpMethod ?? d.HttpMethod,
            InvocationRateLimitPerSecond = r.InvocationRateLimitPerSecond ?? d.InvocationRateLimitPerSecond,
            LastModifiedTime = now,
        }) ?? throw ApiDestinationNotFound(r.Name!);
        return new() { ApiDestinationArn = d.Arn, ApiDestinationState = d.State, CreationTime = At(d.CreationTime), LastModifiedTime = At(d.LastModifiedTime) };
    }

    /// <summary>Deletes a destination whether or not a rule targets it, as AWS does (rules are not
    /// looked at): deliveries to it then fail for good and are recorded as failed.</summary>
    DeleteApiDestinationResponse DeleteApiDestination(DeleteApiDestinationRequest r, RequestContext ctx)
    {
        if (!store.DeleteApiDestination(ctx.Principal.AccountId, r.Name!)) throw ApiDestinationNotFound(r.Name!);
        return new();
    }

    ListApiDestinationsResponse ListApiDestinations(ListApiDestinationsRequest r, RequestContext ctx)
    {
        var destinations = store.ApiDestinationsOf(ctx.Principal.AccountId).Where(d => r.ConnectionArn is null || d.ConnectionArn == r.ConnectionArn);
        var (page, next) = Page(destinations, d => d.Name, r.NamePrefix, r.NextToken, r.Limit);
        return new()
        {
            ApiDestinations = page.Select(d => new ApiDestination
            {
                ApiDestinationArn = d.Arn,
                Name = d.Name,
                ApiDestinationState = d.State,
                ConnectionArn = d.ConnectionArn,
                InvocationEndpoint = d.InvocationEndpoint,
                HttpMethod = d.HttpMethod,
                InvocationRateLimitPerSecond = d.InvocationRateLimitPerSecond,
                CreationTime = At(d.CreationTime),
                LastModifiedTime = At(d.LastModifiedTime),
            }).ToList(),
            NextToken = next,
        };
    }

    // ---- delivery ----

    /// <summary>What a delivery to an API destination needs: the destination and its connection, of
    /// the rule's account. Throws <see cref="EventTargetUnavailable"/> when either is gone or the
    /// connection has no credentials.</summary>
    internal (ApiDestinationRow Destination, ConnectionRow Connection) ApiDestinationFor(string account, string arn)
    {
        if (arn.Split(':', 6) is not [_, _, "events", _, var owner, var resource] || !resource.StartsWith("api-destination/", StringComparison.Ordinal) || owner != account)
            throw new EventTargetUnavailable("ResourceNotFoundException", $"API destination {arn} does not exist.");
        var name = resource["api-destination/".Length..].Split('/')[0];
        var destination = store.GetApiDestination(account, name);
        if (destination is null || destination.Arn != arn)
            throw new EventTargetUnavailable("ResourceNotFoundException", $"API destination {arn} does not exist.");
        var connectionName = destination.ConnectionArn.Split('/') is [_, var n, ..] ? n : "";
        var connection = store.GetConnection(account, connectionName);
        if (connection is null || connection.Arn != destination.ConnectionArn)
            throw new EventTargetUnavailable("ResourceNotFoundException", $"Connection {destination.ConnectionArn} does not exist.");
        if (connection.State != "AUTHORIZED")
            throw new EventTargetUnavailable("SDK_CLIENT_ERROR", $"Unable to invoke ApiDestination endpoint: the connection {connection.Name} is {connection.State}.");
        return (destination, connection);
    }
}

/// <summary>The answers of Update, Delete and DeauthorizeConnection: one shape thrice in the model.</summary>
public interface IConnectionStateResponse
{
    string? ConnectionArn { get; init; }
    string? ConnectionState { get; init; }
    DateTimeOffset? CreationTime { get; init; }
    DateTimeOffset? LastModifiedTime { get; init; }
    DateTimeOffset? LastAuthorizedTime { get; init; }
}

public sealed partial record UpdateConnectionResponse : IConnectionStateResponse;

public sealed partial record DeleteConnectionResponse : IConnectionStateResponse;

public sealed partial record DeauthorizeConnectionResponse : IConnectionStateResponse;
