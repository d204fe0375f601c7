using System;
using HerdPS.Execution;
using HerdPS.Inventory;
using HerdPS.Selection;

namespace HerdPS.Tests.Execution
{
    public class FleetErrorRecordsTests
    {
        private static FleetResult Result(FleetStatus status, FleetErrorKind kind = FleetErrorKind.None) =>
            new FleetResult { HostName = "web-01", Status = status, ErrorKind = kind, ErrorMessage = "why" };

        [Theory]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.ConnectionRefused, "ConnectionRefused", "ConnectionError")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.NameResolution, "NameResolutionFailed", "ConnectionError")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.ConnectTimeout, "ConnectTimeout", "OperationTimeout")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.AuthenticationFailed, "AuthenticationFailed", "AuthenticationError")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.HostKeyUnknown, "HostKeyUnknown", "SecurityError")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.HostKeyMismatch, "HostKeyMismatch", "SecurityError")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.TransportError, "TransportError", "ConnectionError")]
        [InlineData(FleetStatus.Unreachable, FleetErrorKind.None, "HostUnreachable", "ConnectionError")]
        [InlineData(FleetStatus.TimedOut, FleetErrorKind.CommandTimeout, "CommandTimedOut", "OperationTimeout")]
        [InlineData(FleetStatus.Cancelled, FleetErrorKind.None, "Cancelled", "OperationStopped")]
        public void Host_outcomes_map_to_stable_ids_and_categories_with_the_host_as_target(FleetStatus status, FleetErrorKind kind, string id, string category)
        {
            var result = Result(status, kind);
            var info = FleetErrorRecords.ForResult(result)!;
            Assert.Equal(id, info.ErrorId);
            Assert.Equal(category, info.CategoryName);
            Assert.Equal("web-01", info.Target);
            Assert.Same(result, Assert.IsType<FleetHostException>(info.Exception).Result);
            Assert.Contains("web-01", info.Exception.Message);
            Assert.Contains(info.CategoryName, FleetErrorRecords.CategoryNames);
        }

        [Theory]
        [InlineData(FleetStatus.Succeeded)]
        [InlineData(FleetStatus.Failed)]
        public void A_command_that_ran_is_a_result_not_an_error(FleetStatus status)
        {
            Assert.Null(FleetErrorRecords.ForResult(new FleetResult { HostName = "h", Status = status, ExitCode = status == FleetStatus.Failed ? 3 : 0 }));
        }

        [Fact]
        public void Request_failures_map_to_terminating_ids()
        {
            Assert.Equal(("InventoryInvalid", "InvalidData"), Pair(new InventoryException("bad key", "/x/inv.yaml", 3, 5)));
            Assert.Equal("/x/inv.yaml", FleetErrorRecords.ForException(new InventoryException("bad key", "/x/inv.yaml", 3, 5)).Target);
            Assert.Equal(("SelectionInvalid", "InvalidArgument"), Pair(new SelectionException("no host matched")));
            Assert.Equal(("InvalidParameter", "InvalidArgument"), Pair(new ArgumentOutOfRangeException("ThrottleLimit")));
            Assert.Equal(("Cancelled", "OperationStopped"), Pair(new OperationCanceledException()));
            Assert.Equal(("EngineError", "NotSpecified"), Pair(new InvalidOperationException()));
        }

        [Fact]
        public void History_failures_name_the_run_or_the_file()
        {
            // An unknown id is an ArgumentException, but it is "not found", not a bad parameter.
            Assert.Equal(("HistoryRunNotFound", "ObjectNotFound"), Pair(new HerdPS.History.HistoryRunNotFoundException(42, "/h.db")));
            Assert.Equal(42L, FleetErrorRecords.ForException(new HerdPS.History.HistoryRunNotFoundException(42, "/h.db")).Target);
            Assert.Equal(("HistoryUnusable", "ResourceUnavailable"), Pair(new HerdPS.History.HistoryException("/h.db", "not a database")));
            Assert.Equal("/h.db", FleetErrorRecords.ForException(new HerdPS.History.HistoryException("/h.db", "not a database")).Target);
            Assert.NotNull(FleetErrorRecords.ForException(new HerdPS.History.HistoryException("/h.db", "x")).RecommendedAction);
        }

        private static (string, string) Pair(Exception e)
        {
            var info = FleetErrorRecords.ForException(e);
            return (info.ErrorId, info.CategoryName);
        }
    }

    public class FleetParametersTests
    {
        [Fact]
        public void Pipeline_names_collect_into_one_selection_in_order_without_duplicates()
        {
            var p = new FleetParameters();
            p.AddHostNames(new[] { "web-01" });
            p.AddHostNames(new[] { "web-02", "WEB-01" });
            p.AddHostNames(null);
            p.AddHostNames(new[] { " db-01 " });
            var request = p.ToRequest();
            Assert.Equal(new[] { "web-01", "web-02", "db-01" }, request.Selection.Hosts);
        }

        [Fact]
        public void An_empty_pipeline_selects_nothing_rather_than_every_host()
        {
            var p = new FleetParameters { ExpectingPipelineInput = true, Group = new[] { "web" } };
            Assert.True(p.NothingToDo);
            p.AddHostNames(new[] { "web-01" });
            Assert.False(p.NothingToDo);
            Assert.False(new FleetParameters().NothingToDo);
        }

        [Fact]
        public void A_blank_piped_name_is_refused()
        {
            var p = new FleetParameters();
            Assert.Throws<ArgumentException>(() => p.AddHostNames(new[] { "web-01", "  " }));
        }

        [Fact]
        public void Parameters_map_to_the_request_the_CLI_builds_and_unset_ones_stay_null()
        {
            var p = new FleetParameters { Group = new[] { "web" }, Tag = new[] { "prod,!staging" }, Exclude = new[] { "web-0[5-9]" }, UserName = "deploy", TimeoutSec = 30, ConnectTimeoutSec = 5, RetryCount = 2, FailFast = true, AcceptNewHostKey = true };
            var r = p.ToRequest();
            Assert.Equal(new[] { "web" }, r.Selection.Groups);
            Assert.Equal(new[] { "prod,!staging" }, r.Selection.Tags);
            Assert.Equal(new[] { "web-0[5-9]" }, r.Selection.Excludes);
            Assert.Equal("deploy", r.User);
            Assert.Equal(TimeSpan.FromSeconds(30), r.Timeout);
            Assert.Equal(TimeSpan.FromSeconds(5), r.ConnectTimeout);
            Assert.Equal(2, r.Retries);
            Assert.True(r.FailFast);
            Assert.True(r.AcceptNewHostKeys);
            Assert.Null(r.Throttle);
            Assert.Null(r.InventoryPath);
            var defaults = new InventoryDefaults { Throttle = 7 };
            Assert.Equal(7, r.ToRunOptions(defaults).Throttle);
            Assert.Equal(12, new FleetParameters { ThrottleLimit = 12 }.ToRequest().ToRunOptions(defaults).Throttle);
        }

        [Fact]
        public void Bad_values_are_argument_errors()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new FleetParameters { ThrottleLimit = 0 }.ToRequest());
            Assert.Throws<ArgumentOutOfRangeException>(() => new FleetParameters { TimeoutSec = 0 }.ToRequest());
            Assert.Throws<ArgumentException>(() => new FleetParameters { Tag = new[] { "" } }.ToRequest());
        }

        [Fact]
        public void Pipeline_hosts_select_inventory_hosts_and_ad_hoc_ones()
        {
            var inventory = new FleetInventory(new[]
            {
                new FleetHost("web-01") { Tags = new[] { "prod" }, Groups = new[] { "web" } },
                new FleetHost("web-02") { Tags = new[] { "staging" }, Groups = new[] { "web" } },
            }, new[] { "web" }, new InventoryDefaults(), "/x/inv.yaml");
            var p = new FleetParameters();
            p.AddHostNames(new[] { "web-02" });
            p.AddHostNames(new[] { "deploy@10.0.0.9:2222" });
            var hosts = HostSelector.Select(inventory, p.ToRequest().Selection);
            Assert.Equal(new[] { "web-02", "10.0.0.9" }, new[] { hosts[0].Name, hosts[1].Name });
            Assert.Equal(2222, hosts[1].Port);
            Assert.Equal(new[] { "staging" }, FleetHostInfoFactory.From(hosts[0]).Tags);
        }
    }

    public class CmdletSupportTests
    {
        private static readonly FleetInventory Inventory = new FleetInventory(new[]
        {
            new FleetHost("web-01") { Tags = new[] { "prod", "nginx" }, Groups = new[] { "web" } },
            new FleetHost("web-02") { Tags = new[] { "staging" }, Groups = new[] { "web" } },
            new FleetHost("db-01") { Tags = new[] { "prod" }, Groups = new[] { "db" } },
        }, new[] { "web", "db" }, new InventoryDefaults(), "/x/inv.yaml");

        [Fact]
        public void Completion_offers_names_by_prefix_and_keeps_the_tag_clause_head()
        {
            Assert.Equal(new[] { "web-01", "web-02" }, NameCompletion.Complete(Inventory, NameKind.Host, "we"));
            Assert.Equal(new[] { "db" }, NameCompletion.Complete(Inventory, NameKind.Group, "d"));
            Assert.Equal(new[] { "prod,!staging" }, NameCompletion.Complete(Inventory, NameKind.Tag, "prod,!st"));
            Assert.Equal("'prod,!staging'", NameCompletion.Quote("prod,!staging"));
            Assert.Equal("web-01", NameCompletion.Quote("web-01"));
        }

        [Fact]
        public void Tags_of_a_selection_count_only_selected_hosts()
        {
            var target = new FleetTarget(Inventory, new[] { Inventory.Hosts[0], Inventory.Hosts[2] }, null);
            var tags = FleetQueries.Tags(target);
            Assert.Equal(new[] { "nginx", "prod" }, new[] { tags[0].Tag, tags[1].Tag });
            Assert.Equal(2, tags[1].HostCount);
            Assert.Equal("2 hosts: web-01, db-01", FleetQueries.Describe(target));
        }

        [Fact]
        public void Connection_results_carry_latency_and_explain_a_broken_shell()
        {
            var ok = FleetConnectionResult.From(new FleetResult { HostName = "h", Status = FleetStatus.Succeeded, ExitCode = 0, Duration = TimeSpan.FromMilliseconds(150) });
            Assert.True(ok.Connected);
            Assert.Equal(TimeSpan.FromMilliseconds(150), ok.Latency);
            var broken = FleetConnectionResult.From(new FleetResult { HostName = "h", Status = FleetStatus.Failed, ExitCode = 127, StdErr = "sh: true: not found\n" });
            Assert.False(broken.Connected);
            Assert.Contains("exited 127", broken.ErrorMessage);
        }

        [Fact]
        public void Progress_reads_as_counts_and_completes()
        {
            var running = FleetProgressText.From("uptime", new FleetProgress(4, 1, 3, 1));
            Assert.Equal(25, running.PercentComplete);
            Assert.Contains("1 of 4 hosts done, 3 running, 1 not succeeded", running.Status);
            Assert.False(running.Completed);
            Assert.True(FleetProgressText.From("uptime", new FleetProgress(4, 4, 0, 0)).Completed);
        }

        [Fact]
        public void Progress_shows_control_characters_in_a_command_or_activity_escaped()
        {
            var command = FleetProgressText.From("printf '\u001b]0;x\u0007'\n\u202ereboot", new FleetProgress(1, 0, 1, 0));
            Assert.Equal(@"Running 'printf '\x1b]0;x\x07'\n\u202ereboot'", command.Activity);
            var activity = FleetProgressText.ForActivity("Reading /etc/\u001b[2Kx", new FleetProgress(1, 0, 1, 0));
            Assert.Equal(@"Reading /etc/\x1b[2Kx", activity.Activity);
        }
    }
}
