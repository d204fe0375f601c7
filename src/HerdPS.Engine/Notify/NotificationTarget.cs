using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Display;
using HerdPS.Inventory;
using HerdPS.Templating;
using HerdPS.Transport;

namespace HerdPS.Notify
{
    /// <summary>How one attempt to deliver went.</summary>
    public sealed class DeliveryAttempt
    {
        public bool Delivered { get; set; }
        /// <summary>Worth another attempt (a network error, a timeout, 5xx, 408, 429, a script that failed); false for other 4xx.</summary>
        public bool Retryable { get; set; }
        /// <summary>What happened, already scrubbed of secrets.</summary>
        public string Message { get; set; } = "";
    }

    /// <summary>
    /// One notification of the inventory, ready to send: its template parsed, its <c>${VAR}</c> secrets known to be
    /// there (checked when created, so a run that names it fails before anything runs), and the way it is sent:
    /// an HTTP request (webhook, slack) or a local command with the event as JSON on stdin and HERD_* variables (script).
    /// Each <see cref="SendAsync"/> is one attempt; <see cref="FleetNotifier"/> retries, times out and reports.
    /// </summary>
    public sealed class NotificationTarget
    {
        private readonly NotificationDefinition _definition;
        private readonly LiquidTemplate? _body;
        private readonly NotificationSecrets _secrets;

        private NotificationTarget(NotificationDefinition definition, LiquidTemplate? body, NotificationSecrets secrets, IReadOnlyCollection<NotificationEventKind> events)
        {
            _definition = definition;
            _body = body;
            _secrets = secrets;
            Events = events;
        }

        public string Name => _definition.Name;
        public string Type => _definition.Type;
        public IReadOnlyCollection<NotificationEventKind> Events { get; }
        public TimeSpan Cooldown => _definition.Cooldown;
        public TimeSpan Timeout => _definition.Timeout;
        public int Retries => _definition.Retries;
        public NotificationDefinition Definition => _definition;

        /// <summary>
        /// Checks a definition and builds its target: the body template must parse, every <c>${VAR}</c> it uses must be
        /// set. Problems are <see cref="InventoryException"/>s pointing at the inventory's line.
        /// </summary>
        public static NotificationTarget Create(NotificationDefinition definition, NotificationSecrets secrets)
        {
            if (definition == null) throw new ArgumentNullException(nameof(definition));
            if (secrets == null) throw new ArgumentNullException(nameof(secrets));
            string Named(string message) => $"notification '{definition.Name}': {message}";
            foreach (var text in new[] { definition.Url, definition.Command }.Concat(definition.Headers.Select(h => h.Value)).Where(t => t != null))
            {
                if (secrets.Missing(text!) is string missing)
                    throw new InventoryException(Named($"${{{missing}}} is not set: set the environment variable {missing} (or, in PowerShell, pass -NotifySecret @{{ {missing} = <SecureString> }})"),
                        definition.File, definition.Line, definition.Column);
            }
            LiquidTemplate? body = null;
            if (definition.Body != null)
            {
                var quoting = definition.Type == NotificationDefinition.Webhook ? TemplateQuoting.Json : TemplateQuoting.None;
                try
                {
                    body = LiquidTemplate.Parse(definition.Body, quoting);
                }
                catch (TemplateException e)
                {
                    // The template's own line, counted from the body's first line in the file.
                    var (line, column) = definition.BodyPosition(e.Line, e.Column);
                    throw new InventoryException(Named("body: " + e.Message), definition.File, line, column, e);
                }
            }
            var events = definition.On.Select(name => NotificationEvent.TryParse(name, out var kind) ? kind : throw new InventoryException(Named($"unknown event '{name}'"), definition.File, definition.Line, definition.Column)).ToList();
            return new NotificationTarget(definition, body, secrets, events);
        }

        /// <summary>"webhook https://hooks.example.com", "script /usr/local/bin/page": where it goes, without a URL's path or query (they often hold a token).</summary>
        public string Describe()
        {
            if (_definition.Type == NotificationDefinition.Script) return "script " + Display.TerminalText.Line(_definition.Command, 80);
            var url = _definition.Url ?? "";
            if (url.IndexOf("${", StringComparison.Ordinal) >= 0 && NotificationSecrets.NamesIn(url).Any() && url.StartsWith("${", StringComparison.Ordinal))
                return $"{_definition.Type} (URL from ${{{NotificationSecrets.NamesIn(url).First()}}})";
            return Uri.TryCreate(url.Split('$')[0], UriKind.Absolute, out var uri) ? $"{_definition.Type} {uri.Scheme}://{uri.Authority}" : _definition.Type;
        }

        /// <summary>Renders the body of an event as this target sends it (tests and herd notify test show it).</summary>
        public string RenderBody(NotificationEvent e)
        {
            var model = e.Model(Name);
            switch (_definition.Type)
            {
                case NotificationDefinition.Slack:
                    var text = _body != null ? _body.Render(model) : e.SlackText();
                    return JsonText.Object(w => w.WriteString("text", text));
                default:
                    return _body != null ? _body.Render(model) : e.ToJson(Name);
            }
        }

        /// <summary>One attempt to deliver; <paramref name="stop"/> is the attempt's timeout (and the notifier's shutdown).</summary>
        public async Task<DeliveryAttempt> SendAsync(NotificationEvent e, HttpClient http, CancellationToken stop)
        {
            string body;
            try
            {
                body = RenderBody(e);
            }
            catch (TemplateException t)
            {
                // Not worth retrying: the same model renders the same way.
                return new DeliveryAttempt { Message = _secrets.Scrub("the body template failed: " + t.Message) };
            }
            try
            {
                return _definition.Type == NotificationDefinition.Script
                    ? await RunScriptAsync(e, body, stop).ConfigureAwait(false)
                    : await PostAsync(body, http, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return new DeliveryAttempt { Retryable = true, Message = $"no answer within {Seconds(Timeout)}" };
            }
            catch (Exception x) when (x is HttpRequestException || x is System.IO.IOException || x is System.Net.Sockets.SocketException || x is InvalidOperationException)
            {
                return new DeliveryAttempt { Retryable = true, Message = _secrets.Scrub(Flatten(x)) };
            }
        }

        private async Task<DeliveryAttempt> PostAsync(string body, HttpClient http, CancellationToken stop)
        {
            var url = _secrets.Expand(_definition.Url!);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                return new DeliveryAttempt { Message = "the URL is not an http:// or https:// URL" };
            // Tokens travel in paths and queries (Slack's webhooks are nothing but): they are never shown.
            _secrets.Hide(uri.PathAndQuery.TrimStart('/'));
            _secrets.Hide(url);
            using var request = new HttpRequestMessage(new HttpMethod(_definition.Type == NotificationDefinition.Slack ? "POST" : _definition.Method), uri);
            string? contentType = null;
            foreach (var header in _definition.Headers)
            {
                var value = _secrets.Expand(header.Value);
                _secrets.Hide(value);
                if (string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)) { contentType = value; continue; }
                request.Headers.TryAddWithoutValidation(header.Key, value);
            }
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType ?? "application/json; charset=utf-8");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            if (code >= 200 && code < 300) return new DeliveryAttempt { Delivered = true, Message = $"HTTP {code}" };
            return new DeliveryAttempt
            {
                Retryable = code >= 500 || code == 408 || code == 429,
                Message = $"the endpoint answered HTTP {code} {response.ReasonPhrase}" + (code >= 300 && code < 400 ? " (a redirect: herd does not follow them, so a token never goes to another host)" : ""),
            };
        }

        private async Task<DeliveryAttempt> RunScriptAsync(NotificationEvent e, string stdin, CancellationToken stop)
        {
            var command = _secrets.Expand(_definition.Command!);
            var settings = new ChildProcessSettings
            {
                StdinBytes = Encoding.UTF8.GetBytes(stdin),
                OutputLimit = 16 * 1024,
                OnStop = ChildStop.Terminate,
                StopGrace = TimeSpan.FromSeconds(2),
            };
            foreach (var variable in e.Environment(Name)) settings.Environment[variable.Key] = variable.Value;
            var windows = PrivateDirectory.IsWindows;
            var shell = windows ? (System.Environment.GetEnvironmentVariable("ComSpec") ?? "cmd.exe") : "/bin/sh";
            var args = windows ? new[] { "/d", "/s", "/c", command } : new[] { "-c", command };
            using var run = await ChildProcess.RunAsync(shell, args, settings, stop).ConfigureAwait(false);
            if (run.StartError != null) return new DeliveryAttempt { Message = _secrets.Scrub(run.StartError) };
            if (run.Stopped) return new DeliveryAttempt { Retryable = true, Message = $"the script ran longer than {Seconds(Timeout)} and was ended" };
            if (run.ExitCode == 0) return new DeliveryAttempt { Delivered = true, Message = "exit 0" };
            var said = run.StdErr.Text().Trim();
            var first = said.Split('\n')[0];
            return new DeliveryAttempt
            {
                Retryable = true,
                Message = _secrets.Scrub($"the script exited {run.ExitCode}" + (first.Length > 0 ? ": " + Display.TerminalText.Line(first, 200) : "")),
            };
        }

        private static string Flatten(Exception e)
        {
            var messages = new List<string>();
            for (var x = e; x != null; x = x.InnerException) if (!messages.Contains(x.Message)) messages.Add(x.Message);
            return string.Join(": ", messages);
        }

        public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }
}
