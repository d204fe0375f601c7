using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security;
using System.Text.RegularExpressions;

namespace HerdPS.Notify
{
    /// <summary>
    /// Where notification secrets come from, and the one place that keeps them out of what people see. A URL or a
    /// header value in the inventory names a secret as <c>${NAME}</c>: it is taken from the secrets PowerShell was
    /// given (<c>-NotifySecret @{ NAME = $secureString }</c>) or else from the environment variable NAME, when a
    /// message is sent, and never written anywhere. Every text a front end, the history or a log could show (error
    /// messages, warnings, -Verbose) goes through <see cref="Scrub"/>, which replaces each secret, each resolved URL's
    /// path and query, and each header value, with <c>***</c>.
    /// </summary>
    public sealed class NotificationSecrets
    {
        private static readonly Regex Reference = new Regex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);
        private readonly Func<string, string?> _getEnv;
        private readonly IReadOnlyDictionary<string, SecureString> _given;
        private readonly HashSet<string> _hidden = new HashSet<string>(StringComparer.Ordinal);
        private readonly object _gate = new object();

        /// <param name="given">Secrets given in PowerShell, by name (they win over the environment).</param>
        public NotificationSecrets(Func<string, string?>? getEnv = null, IReadOnlyDictionary<string, SecureString>? given = null)
        {
            _getEnv = getEnv ?? Environment.GetEnvironmentVariable;
            _given = given ?? new Dictionary<string, SecureString>();
        }

        /// <summary>
        /// Turns -NotifySecret's values into secrets: each must be a SecureString (a PSCredential's password is passed
        /// as one); plain text is refused, since a string in a script or a history file is exactly what this avoids.
        /// </summary>
        public static IReadOnlyDictionary<string, SecureString> FromParameter(System.Collections.IDictionary? values)
        {
            var secrets = new Dictionary<string, SecureString>(StringComparer.Ordinal);
            if (values == null) return secrets;
            foreach (System.Collections.DictionaryEntry entry in values)
            {
                var name = Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                if (!Regex.IsMatch(name, "^[A-Za-z_][A-Za-z0-9_]*$"))
                    throw new ArgumentException($"-NotifySecret: '{Display.TerminalText.Line(name, 80)}' is not a secret name (letters, digits and _, as ${{NAME}} in the inventory)", "NotifySecret");
                if (!(entry.Value is SecureString secure))
                    throw new ArgumentException($"-NotifySecret: the value of '{name}' must be a SecureString or a PSCredential (its password), not {(entry.Value == null ? "nothing" : "a " + entry.Value.GetType().Name)}: plain text in a script is what secrets are kept out of", "NotifySecret");
                secrets[name] = secure;
            }
            return secrets;
        }

        /// <summary>The names a text refers to as <c>${NAME}</c>.</summary>
        public static IEnumerable<string> NamesIn(string text) => Reference.Matches(text).Cast<Match>().Select(m => m.Groups[1].Value).Distinct();

        /// <summary>Whether every <c>${NAME}</c> of a text is available; the first missing name otherwise.</summary>
        public string? Missing(string text)
        {
            foreach (var name in NamesIn(text))
                if (!_given.ContainsKey(name) && string.IsNullOrEmpty(_getEnv(name))) return name;
            return null;
        }

        /// <summary>The text with every <c>${NAME}</c> replaced by its secret; each value is remembered for <see cref="Scrub"/>.</summary>
        public string Expand(string text)
        {
            return Reference.Replace(text, m =>
            {
                var name = m.Groups[1].Value;
                var value = _given.TryGetValue(name, out var secure) ? Plain(secure) : _getEnv(name);
                if (string.IsNullOrEmpty(value)) throw new InvalidOperationException($"the secret ${{{name}}} is not set");
                Hide(value!);
                return value!;
            });
        }

        /// <summary>Remembers a value that must never be shown (a resolved URL's path, a header value).</summary>
        public void Hide(string value)
        {
            if (string.IsNullOrEmpty(value) || value.Length < 3) return;
            lock (_gate)
            {
                _hidden.Add(value);
                _hidden.Add(Uri.EscapeDataString(value));
            }
        }

        /// <summary>The text with every secret, resolved URL path and header value replaced by <c>***</c>.</summary>
        public string Scrub(string? text)
        {
            if (string.IsNullOrEmpty(text)) return text ?? "";
            string[] hidden;
            lock (_gate) hidden = _hidden.OrderByDescending(h => h.Length).ToArray();
            foreach (var h in hidden)
                if (text!.IndexOf(h, StringComparison.Ordinal) >= 0) text = text.Replace(h, "***");
            return text!;
        }

        private static string Plain(SecureString secure)
        {
            var pointer = IntPtr.Zero;
            try
            {
                pointer = Marshal.SecureStringToGlobalAllocUnicode(secure);
                return Marshal.PtrToStringUni(pointer) ?? "";
            }
            finally
            {
                if (pointer != IntPtr.Zero) Marshal.ZeroFreeGlobalAllocUnicode(pointer);
            }
        }
    }
}
