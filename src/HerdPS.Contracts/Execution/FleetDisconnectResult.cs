using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.Execution
{
    /// <summary>What closing pooled connections did, one per host named (or one per socket when closing all).</summary>
    public sealed class FleetDisconnectResult
    {
        public FleetDisconnectResult(string target, bool closed, string? message)
        {
            Target = target;
            Closed = closed;
            Message = message;
        }

        /// <summary>The host name, or the control socket's path when every pooled connection was closed.</summary>
        public string Target { get; }
        /// <summary>True when a live master connection was there and was told to exit.</summary>
        public bool Closed { get; }
        public string? Message { get; }
    }
}
