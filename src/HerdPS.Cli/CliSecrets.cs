using System;
using System.IO;
using System.Security;

namespace HerdPS.Cli
{
    /// <summary>
    /// Secrets for herd (a key passphrase, a login password) come from a file or an environment variable, never from
    /// argv, where every local user could read them in the process table. They become SecureStrings at once and
    /// are never printed, logged or recorded.
    /// </summary>
    internal static class CliSecrets
    {
        public const string KeyPassphraseVariable = "HERD_KEY_PASSPHRASE";
        public const string PasswordVariable = "HERD_PASSWORD";

        /// <summary>The first line of <paramref name="file"/>, else the variable's value, else null.</summary>
        public static SecureString? Read(string? file, string flag, string variable, Func<string, string?> getEnv)
        {
            string? text;
            if (file != null)
            {
                try
                {
                    using var reader = new StreamReader(file);
                    text = reader.ReadLine() ?? "";
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
                {
                    // The message names the file, never its content.
                    throw new UsageException($"{flag}: can't read {HerdPS.Display.TerminalText.Quote(file)}: {e.Message}");
                }
            }
            else text = getEnv(variable);
            if (string.IsNullOrEmpty(text)) return null;
            var secret = new SecureString();
            foreach (var c in text!) secret.AppendChar(c);
            secret.MakeReadOnly();
            return secret;
        }
    }
}
