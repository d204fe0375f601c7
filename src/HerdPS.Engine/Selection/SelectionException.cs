using System;

namespace HerdPS.Selection
{
    /// <summary>
    /// A selection that can't be used: an unknown group, a malformed tag expression or host, or criteria
    /// that matched no host. The message says what was asked. Nothing runs after one of these.
    /// </summary>
    public sealed class SelectionException : Exception
    {
        public SelectionException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }
}
