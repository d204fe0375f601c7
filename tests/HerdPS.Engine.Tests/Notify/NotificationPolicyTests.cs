using System;
using System.Linq;
using HerdPS.Notify;

namespace HerdPS.Tests.Notify
{
    /// <summary>Cooldowns and resolves, rule by rule, on a clock the test turns.</summary>
    public sealed class NotificationPolicyTests
    {
        private static readonly DateTime T0 = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        private static readonly TimeSpan Cooldown = TimeSpan.FromMinutes(5);

        private static NotificationEvent Event(NotificationEventKind kind, params string[] hosts)
        {
            var e = new NotificationEvent { Kind = kind, Command = "check", RunKind = "watch" };
            foreach (var h in hosts) e.Hosts.Add(new NotifiedHost { Name = h, Status = kind == NotificationEventKind.Resolve ? FleetStatus.Succeeded : FleetStatus.Failed });
            return e;
        }

        private static string[] Names(NotificationEvent? e) => e == null ? Array.Empty<string>() : e.Hosts.Select(h => h.Name).ToArray();

        [Fact]
        public void AHostThatStaysFailedIsNamedOncePerCooldownThenReminded()
        {
            var policy = new NotificationPolicy(Cooldown);
            Assert.Equal(new[] { "web-01" }, Names(policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0)));
            Assert.Null(policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0.AddSeconds(30)));
            Assert.Null(policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0.AddMinutes(4)));
            Assert.Null(policy.NextDue);
            Assert.Equal(new[] { "web-01" }, Names(policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0.AddMinutes(5))));
        }

        [Fact]
        public void WithinTheTargetsCooldownNewHostsAreHeldAndGoOutTogetherWhenItEnds()
        {
            var policy = new NotificationPolicy(Cooldown);
            Assert.Equal(new[] { "web-01" }, Names(policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0)));
            Assert.Null(policy.Offer(Event(NotificationEventKind.Failure, "web-01", "web-02"), T0.AddMinutes(1), out var held));
            Assert.True(held);
            Assert.Null(policy.Offer(Event(NotificationEventKind.Failure, "web-03"), T0.AddMinutes(2)));
            Assert.Equal(T0.AddMinutes(5), policy.NextDue);
            Assert.Empty(policy.Due(T0.AddMinutes(4)));
            var due = Assert.Single(policy.Due(T0.AddMinutes(5)));
            Assert.Equal(new[] { "web-02", "web-03" }, Names(due));
            Assert.Null(policy.NextDue);
            // Another event kind has a cooldown of its own.
            Assert.Equal(new[] { "db01" }, Names(policy.Offer(Event(NotificationEventKind.Timeout, "db01"), T0.AddMinutes(5))));
        }

        [Fact]
        public void AResolveIsSentOnlyForHostsTheTargetWasToldFailed()
        {
            var policy = new NotificationPolicy(Cooldown);
            Assert.Null(policy.Offer(Event(NotificationEventKind.Resolve, "web-01"), T0));
            policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0);
            Assert.Equal(new[] { "web-01" }, Names(policy.Offer(Event(NotificationEventKind.Resolve, "web-01", "web-09"), T0.AddMinutes(1))));
            // Told once: recovering again (without failing in between) says nothing.
            Assert.Null(policy.Offer(Event(NotificationEventKind.Resolve, "web-01"), T0.AddMinutes(10)));
        }

        [Fact]
        public void AHostThatRecoversWhileItsFailureIsHeldIsTakenOutOfItAndNoResolveIsSent()
        {
            var policy = new NotificationPolicy(Cooldown);
            policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0);
            Assert.Null(policy.Offer(Event(NotificationEventKind.Failure, "web-02", "web-03"), T0.AddMinutes(1)));
            Assert.Null(policy.Offer(Event(NotificationEventKind.Resolve, "web-02"), T0.AddMinutes(2)));
            Assert.Equal(new[] { "web-03" }, Names(Assert.Single(policy.Due(T0.AddMinutes(5)))));
        }

        [Fact]
        public void ACooldownOfZeroSendsEveryEventAsItHappens()
        {
            var policy = new NotificationPolicy(TimeSpan.Zero);
            for (var i = 0; i < 3; i++)
                Assert.Equal(new[] { "web-01" }, Names(policy.Offer(Event(NotificationEventKind.Failure, "web-01"), T0.AddSeconds(i))));
        }
    }
}
