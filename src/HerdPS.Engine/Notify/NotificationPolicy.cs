using System;
using System.Collections.Generic;
using System.Linq;

namespace HerdPS.Notify
{
    /// <summary>
    /// What one target is told, and when: the cooldowns that keep a watch from becoming an alert storm. Pure logic,
    /// driven by the caller's clock (the tests turn it), so every rule is checked without waiting:
    /// <list type="bullet">
    /// <item><b>Per host and event</b>: a host is named in an event at most once per cooldown. A host that stays
    /// failed is not repeated every iteration; once the cooldown has passed and it still fails, it is named again
    /// (a reminder).</item>
    /// <item><b>Per target and event</b>: a target gets at most one message of an event per cooldown. What happens
    /// meanwhile is gathered (hosts added to the waiting message, the latest run's facts kept) and sent as one
    /// message when the cooldown ends: held, never dropped.</item>
    /// <item><b>Resolve</b>: sent for hosts whose failure or timeout this target was told (or is about to be told),
    /// once they succeed; a host that recovers while its failure is still held back is taken out of it instead, so
    /// nobody is told of a failure that is already over.</item>
    /// </list>
    /// A cooldown of 0 sends every event as it happens.
    /// </summary>
    internal sealed class NotificationPolicy
    {
        private readonly TimeSpan _cooldown;
        private readonly Dictionary<NotificationEventKind, DateTime> _lastSent = new Dictionary<NotificationEventKind, DateTime>();
        private readonly Dictionary<NotificationEventKind, NotificationEvent> _held = new Dictionary<NotificationEventKind, NotificationEvent>();
        private readonly Dictionary<(string Host, NotificationEventKind Kind), DateTime> _named = new Dictionary<(string, NotificationEventKind), DateTime>();
        /// <summary>Hosts whose failure or timeout this target has been told (or will be, held), and not yet their recovery.</summary>
        private readonly HashSet<string> _open = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        public NotificationPolicy(TimeSpan cooldown)
        {
            _cooldown = cooldown < TimeSpan.Zero ? TimeSpan.Zero : cooldown;
        }

        /// <summary>
        /// Takes an event (its hosts are the candidates) at <paramref name="now"/>; returns what to send now (null:
        /// nothing, or held). <see cref="NextDue"/> says when held events become due.
        /// </summary>
        public NotificationEvent? Offer(NotificationEvent e, DateTime now) => Offer(e, now, out _);

        /// <param name="held">True when (some of) the event's hosts now wait for the cooldown to end.</param>
        public NotificationEvent? Offer(NotificationEvent e, DateTime now, out bool held)
        {
            held = false;
            var hosts = e.Kind == NotificationEventKind.Resolve
                ? Resolvable(e.Hosts)
                : e.Hosts.Where(h => !RecentlyNamed(h.Name, e.Kind, now)).ToList();
            if (hosts.Count == 0) return null;
            foreach (var h in hosts)
            {
                _named[(h.Name, e.Kind)] = now;
                if (e.Kind == NotificationEventKind.Failure || e.Kind == NotificationEventKind.Timeout) _open.Add(h.Name);
                else if (e.Kind == NotificationEventKind.Resolve) _open.Remove(h.Name);
            }
            var trimmed = Copy(e, hosts);
            if (_held.TryGetValue(e.Kind, out var waiting))
            {
                _held[e.Kind] = Merge(waiting, trimmed);
                held = true;
                return null;
            }
            if (_lastSent.TryGetValue(e.Kind, out var last) && now - last < _cooldown)
            {
                _held[e.Kind] = trimmed;
                held = true;
                return null;
            }
            _lastSent[e.Kind] = now;
            return trimmed;
        }

        /// <summary>When the earliest held event is due; null when nothing is held.</summary>
        public DateTime? NextDue => _held.Count == 0 ? (DateTime?)null : _held.Keys.Min(k => _lastSent[k] + _cooldown);

        /// <summary>Held events whose cooldown has passed at <paramref name="now"/> (all of them with <paramref name="all"/>: the run is ending).</summary>
        public IReadOnlyList<NotificationEvent> Due(DateTime now, bool all = false)
        {
            var due = new List<NotificationEvent>();
            foreach (var kind in _held.Keys.ToList())
            {
                if (!all && now - _lastSent[kind] < _cooldown) continue;
                var e = _held[kind];
                _held.Remove(kind);
                if (e.Hosts.Count == 0) continue;
                _lastSent[kind] = now;
                due.Add(e);
            }
            return due;
        }

        private bool RecentlyNamed(string host, NotificationEventKind kind, DateTime now) =>
            _named.TryGetValue((host, kind), out var at) && now - at < _cooldown;

        /// <summary>
        /// The recovered hosts this target should hear about: those it was told failed. One whose failure is still
        /// held is simply taken out of the held message.
        /// </summary>
        private List<NotifiedHost> Resolvable(IEnumerable<NotifiedHost> recovered)
        {
            var resolvable = new List<NotifiedHost>();
            foreach (var h in recovered)
            {
                bool wasHeld = false;
                foreach (var kind in new[] { NotificationEventKind.Failure, NotificationEventKind.Timeout })
                {
                    if (_held.TryGetValue(kind, out var held) && held.Hosts.RemoveAll(x => string.Equals(x.Name, h.Name, StringComparison.OrdinalIgnoreCase)) > 0)
                    {
                        wasHeld = true;
                        _named.Remove((h.Name, kind));
                    }
                }
                if (wasHeld)
                {
                    _open.Remove(h.Name);
                    continue;
                }
                if (_open.Contains(h.Name)) resolvable.Add(h);
            }
            return resolvable;
        }

        private static NotificationEvent Copy(NotificationEvent e, IEnumerable<NotifiedHost> hosts)
        {
            var copy = new NotificationEvent
            {
                Kind = e.Kind,
                Command = e.Command,
                Selection = e.Selection,
                RunKind = e.RunKind,
                Iteration = e.Iteration,
                WatchId = e.WatchId,
                RunId = e.RunId,
                TimeUtc = e.TimeUtc,
                TotalHosts = e.TotalHosts,
            };
            copy.Hosts.AddRange(hosts);
            return copy;
        }

        /// <summary>A held event and a newer one: the newer run's facts, every host once (its latest state).</summary>
        private static NotificationEvent Merge(NotificationEvent older, NotificationEvent newer)
        {
            var merged = Copy(newer, newer.Hosts);
            foreach (var h in older.Hosts)
                if (!merged.Hosts.Any(x => string.Equals(x.Name, h.Name, StringComparison.OrdinalIgnoreCase))) merged.Hosts.Add(h);
            merged.Hosts.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return merged;
        }
    }
}
