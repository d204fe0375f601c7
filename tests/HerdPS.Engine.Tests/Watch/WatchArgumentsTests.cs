using System;
using HerdPS.Execution;
using HerdPS.Watch;

namespace HerdPS.Tests.Watch
{
    /// <summary>Watch-Fleet's decisions, tested without PowerShell.</summary>
    public class WatchArgumentsTests
    {
        [Fact]
        public void Interval_takes_durations_seconds_and_timespans()
        {
            Assert.Equal(TimeSpan.FromSeconds(30), WatchArguments.Interval("30s"));
            Assert.Equal(TimeSpan.FromMinutes(5), WatchArguments.Interval("5m"));
            Assert.Equal(TimeSpan.FromSeconds(45), WatchArguments.Interval("45"));
            Assert.Equal(TimeSpan.FromSeconds(30), WatchArguments.Interval("00:00:30"));
            Assert.Equal(TimeSpan.FromSeconds(10), WatchArguments.Interval(TimeSpan.FromSeconds(10)));
            Assert.ThrowsAny<ArgumentException>(() => WatchArguments.Interval("often"));
            Assert.ThrowsAny<ArgumentException>(() => WatchArguments.Interval(null));
        }

        /// <summary>
        /// What PowerShell's parser makes of unquoted durations: 30s is the short 30, 2d the decimal 2, 30 an int.
        /// Each is refused with what to write instead, never read as seconds, days or ticks.
        /// </summary>
        [Theory]
        [InlineData((short)30)]
        [InlineData(30)]
        [InlineData(2.5)]
        [InlineData(30L)]
        public void A_number_for_Interval_is_refused_with_the_forms_that_work(object number)
        {
            var e = Assert.Throws<ArgumentException>(() => WatchArguments.Interval(number));
            Assert.Contains("-IntervalSec", e.Message);
            Assert.Contains("'30s'", e.Message);
            Assert.Throws<ArgumentException>(() => WatchArguments.Interval(2m));
        }

        [Fact]
        public void IntervalSec_is_seconds_and_only_one_form_may_be_given()
        {
            Assert.Equal(TimeSpan.FromSeconds(1.5), WatchArguments.Interval(1.5, null));
            Assert.Equal(TimeSpan.FromMinutes(1), WatchArguments.Interval(null, TimeSpan.FromMinutes(1)));
            Assert.Null(WatchArguments.Interval(null, null));
            Assert.Throws<ArgumentException>(() => WatchArguments.Interval(5, TimeSpan.FromSeconds(5)));
            Assert.Throws<ArgumentOutOfRangeException>(() => WatchArguments.Interval(0, null));
            Assert.Throws<ArgumentOutOfRangeException>(() => WatchArguments.Interval(double.NaN, null));
        }

        [Fact]
        public void Options_default_to_30s_until_stopped_and_keep_the_CLI_limits()
        {
            var o = WatchArguments.Options(null, null);
            Assert.Equal(TimeSpan.FromSeconds(30), o.Interval);
            Assert.Null(o.Count);
            Assert.Equal(3, WatchArguments.Options(TimeSpan.FromSeconds(5), 3).Count);
            Assert.Throws<ArgumentOutOfRangeException>(() => WatchArguments.Options(TimeSpan.FromMilliseconds(500), null));
            Assert.Throws<ArgumentOutOfRangeException>(() => WatchArguments.Options(null, 0));
        }

        private static WatchResult Watched(int iteration, FleetStatus status, bool changed, FleetStatus? previous = null,
            FleetErrorKind kind = FleetErrorKind.None) =>
            new WatchResult(new FleetResult { HostName = "web-01", Status = status, ErrorKind = kind, ExitCode = status == FleetStatus.Failed ? 1 : status == FleetStatus.Succeeded ? 0 : (int?)null },
                iteration, DateTime.UtcNow)
            { Changed = changed, PreviousStatus = previous };

        [Fact]
        public void ChangesOnly_writes_only_changed_hosts()
        {
            Assert.True(WatchArguments.Writes(Watched(1, FleetStatus.Succeeded, false), changesOnly: false));
            Assert.False(WatchArguments.Writes(Watched(1, FleetStatus.Succeeded, false), changesOnly: true));
            Assert.True(WatchArguments.Writes(Watched(2, FleetStatus.Succeeded, true, FleetStatus.Succeeded), changesOnly: true));
        }

        [Fact]
        public void A_host_error_is_reported_when_it_is_new_not_every_interval()
        {
            Assert.Equal(FleetErrorRecords.ConnectionRefused,
                WatchArguments.ErrorFor(Watched(1, FleetStatus.Unreachable, false, kind: FleetErrorKind.ConnectionRefused))!.ErrorId);
            Assert.NotNull(WatchArguments.ErrorFor(Watched(4, FleetStatus.Unreachable, true, FleetStatus.Succeeded, FleetErrorKind.ConnectionRefused)));
            Assert.Null(WatchArguments.ErrorFor(Watched(5, FleetStatus.Unreachable, false, FleetStatus.Unreachable, FleetErrorKind.ConnectionRefused)));
            Assert.Null(WatchArguments.ErrorFor(Watched(1, FleetStatus.Failed, false)));       // a non-zero exit is a result
            Assert.Null(WatchArguments.ErrorFor(Watched(3, FleetStatus.Cancelled, false, FleetStatus.Succeeded))); // Ctrl-C
        }
    }
}
