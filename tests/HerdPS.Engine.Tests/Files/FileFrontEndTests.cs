using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using HerdPS.Execution;
using HerdPS.Files;
using HerdPS.History;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Files
{
    /// <summary>
    /// What Compare-FleetFile, Send-FleetFile, Receive-FleetFile, Get-FleetSnapshot and Compare-FleetSnapshot decide,
    /// tested here because the cmdlets only pass it on: error ids and categories per file status, the order results
    /// are written in, the -WhatIf wording, pre-flight checks, and stored-snapshot lookups.
    /// </summary>
    public sealed class FileErrorRecordsTests
    {
        [Theory]
        [InlineData(RemoteFileStatus.Missing, FleetErrorKind.None, "FileMissing", "ObjectNotFound")]
        [InlineData(RemoteFileStatus.IsDirectory, FleetErrorKind.None, "FileIsDirectory", "InvalidType")]
        [InlineData(RemoteFileStatus.PermissionDenied, FleetErrorKind.None, "FilePermissionDenied", "PermissionDenied")]
        [InlineData(RemoteFileStatus.NotRegularFile, FleetErrorKind.None, "FileNotRegular", "InvalidType")]
        [InlineData(RemoteFileStatus.Failed, FleetErrorKind.None, "FileReadFailed", "ReadError")]
        [InlineData(RemoteFileStatus.Unreachable, FleetErrorKind.ConnectionRefused, "ConnectionRefused", "ConnectionError")]
        [InlineData(RemoteFileStatus.Unreachable, FleetErrorKind.HostKeyMismatch, "HostKeyMismatch", "SecurityError")]
        [InlineData(RemoteFileStatus.Unreachable, FleetErrorKind.None, "HostUnreachable", "ConnectionError")]
        [InlineData(RemoteFileStatus.TimedOut, FleetErrorKind.CommandTimeout, "CommandTimedOut", "OperationTimeout")]
        [InlineData(RemoteFileStatus.Cancelled, FleetErrorKind.None, "Cancelled", "OperationStopped")]
        public void A_file_that_was_not_read_is_an_error_with_a_stable_id_and_the_host_as_target(RemoteFileStatus status, FleetErrorKind kind, string id, string category)
        {
            var result = new RemoteFileResult { HostName = "web-02", Path = "/etc/app.conf", Status = status, ErrorKind = kind, ErrorMessage = "why" };
            var info = FleetErrorRecords.ForFile(result)!;
            Assert.Equal(id, info.ErrorId);
            Assert.Equal(category, info.CategoryName);
            Assert.Equal("web-02", info.Target);
            Assert.Same(result, Assert.IsType<FleetHostResultException>(info.Exception).Result);
            Assert.Equal("web-02: why", info.Exception.Message);
            Assert.Contains(category, FleetErrorRecords.CategoryNames);
        }

        [Theory]
        [InlineData(RemoteFileStatus.Ok)]
        [InlineData(RemoteFileStatus.TooLarge)]
        public void A_file_that_was_read_is_a_result_even_when_it_differs(RemoteFileStatus status)
        {
            Assert.Null(FleetErrorRecords.ForFile(new RemoteFileResult { HostName = "h", Status = status, Sha256 = "ab", GroupId = 2, IsNorm = false, Diff = "-a\n+b" }));
        }

        [Theory]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.Exists, "DestinationExists", "ResourceExists")]
        [InlineData(FileTransferDirection.Pull, FileTransferStatus.Exists, "DestinationExists", "ResourceExists")]
        [InlineData(FileTransferDirection.Pull, FileTransferStatus.Missing, "FileMissing", "ObjectNotFound")]
        [InlineData(FileTransferDirection.Pull, FileTransferStatus.PermissionDenied, "FilePermissionDenied", "PermissionDenied")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.IsDirectory, "FileIsDirectory", "InvalidType")]
        [InlineData(FileTransferDirection.Pull, FileTransferStatus.NotRegularFile, "FileNotRegular", "InvalidType")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.NoSuchDirectory, "RemoteDirectoryMissing", "ObjectNotFound")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.NotWritable, "DestinationNotWritable", "PermissionDenied")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.ChecksumMismatch, "ChecksumMismatch", "InvalidResult")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.Failed, "TransferFailed", "WriteError")]
        [InlineData(FileTransferDirection.Pull, FileTransferStatus.Failed, "TransferFailed", "ReadError")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.Unreachable, "AuthenticationFailed", "AuthenticationError")]
        [InlineData(FileTransferDirection.Pull, FileTransferStatus.TimedOut, "CommandTimedOut", "OperationTimeout")]
        [InlineData(FileTransferDirection.Push, FileTransferStatus.Cancelled, "Cancelled", "OperationStopped")]
        public void A_transfer_that_did_not_happen_is_an_error_with_a_stable_id(FileTransferDirection direction, FileTransferStatus status, string id, string category)
        {
            var kind = status == FileTransferStatus.Unreachable ? FleetErrorKind.AuthenticationFailed : FleetErrorKind.None;
            var result = new FileTransferResult { HostName = "db-01", Direction = direction, Status = status, ErrorKind = kind, ErrorMessage = "why" };
            var info = FleetErrorRecords.ForTransfer(result)!;
            Assert.Equal((id, category), (info.ErrorId, info.CategoryName));
            Assert.Equal("db-01", info.Target);
            Assert.Same(result, Assert.IsType<FleetHostResultException>(info.Exception).Result);
            Assert.Contains(category, FleetErrorRecords.CategoryNames);
        }

        [Fact]
        public void An_existing_destination_tells_the_user_about_Force_and_a_transfer_is_no_error()
        {
            var exists = FleetErrorRecords.ForTransfer(new FileTransferResult { HostName = "h", Direction = FileTransferDirection.Push, Status = FileTransferStatus.Exists })!;
            Assert.Contains("-Force", exists.RecommendedAction);
            Assert.Equal("h: DestinationExists", exists.Exception.Message); // no message from the host: the id says it
            Assert.Null(FleetErrorRecords.ForTransfer(new FileTransferResult { HostName = "h", Status = FileTransferStatus.Transferred, Verified = true }));
        }

        [Fact]
        public void Only_a_transfer_made_without_checksum_proof_warns()
        {
            Assert.Null(FleetErrorRecords.WarningForTransfer(new FileTransferResult { HostName = "h", Status = FileTransferStatus.Transferred, Verified = true }));
            Assert.Null(FleetErrorRecords.WarningForTransfer(new FileTransferResult { HostName = "h", Status = FileTransferStatus.Exists }));
            var warning = FleetErrorRecords.WarningForTransfer(new FileTransferResult
            {
                HostName = "h", Status = FileTransferStatus.Transferred, Verified = false, ErrorMessage = "copied, but the host has no sha256sum or shasum to verify with",
            });
            Assert.Equal("h: copied, but the host has no sha256sum or shasum to verify with", warning);
        }

        [Theory]
        [InlineData(SnapshotHostStatus.Failed, FleetErrorKind.None, "SnapshotFailed", "InvalidResult")]
        [InlineData(SnapshotHostStatus.Unreachable, FleetErrorKind.NameResolution, "NameResolutionFailed", "ConnectionError")]
        [InlineData(SnapshotHostStatus.TimedOut, FleetErrorKind.CommandTimeout, "CommandTimedOut", "OperationTimeout")]
        [InlineData(SnapshotHostStatus.Cancelled, FleetErrorKind.None, "Cancelled", "OperationStopped")]
        public void A_host_not_captured_is_an_error_and_a_captured_one_is_not(SnapshotHostStatus status, FleetErrorKind kind, string id, string category)
        {
            var host = new HostSnapshot { HostName = "pi-attic", Status = status, ErrorKind = kind, ErrorMessage = "why" };
            var info = FleetErrorRecords.ForSnapshotHost(host)!;
            Assert.Equal((id, category), (info.ErrorId, info.CategoryName));
            Assert.Equal("pi-attic", info.Target);
            Assert.Same(host, Assert.IsType<FleetHostResultException>(info.Exception).Result);
            var captured = new HostSnapshot { HostName = "pi-garage", Status = SnapshotHostStatus.Captured };
            captured.Unavailable[HostSnapshot.SectionServices] = "systemd is not running";
            Assert.Null(FleetErrorRecords.ForSnapshotHost(captured));
        }

        [Fact]
        public void The_reason_a_host_was_unreachable_survives_into_its_snapshot()
        {
            var host = FleetSnapshots.FromResult(new FleetResult { HostName = "h", Status = FleetStatus.Unreachable, ErrorKind = FleetErrorKind.HostKeyUnknown, ErrorMessage = "no key" });
            Assert.Equal(FleetErrorKind.HostKeyUnknown, host.ErrorKind);
            Assert.Equal("HostKeyUnknown", FleetErrorRecords.ForSnapshotHost(host)!.ErrorId);
        }

        [Fact]
        public void Request_failures_of_the_file_and_snapshot_cmdlets_have_their_own_ids()
        {
            var missing = FleetErrorRecords.ForException(new SnapshotNotFoundException(42, "/h.db"));
            Assert.Equal(("SnapshotNotFound", "ObjectNotFound"), (missing.ErrorId, missing.CategoryName));
            Assert.Equal(42L, missing.Target);
            var history = FleetErrorRecords.ForException(new HistoryException("/h.db", "written by a newer HerdPS"));
            Assert.Equal(("HistoryUnusable", "ResourceUnavailable", (object)"/h.db"), (history.ErrorId, history.CategoryName, history.Target));
            var local = FleetErrorRecords.ForException(new FileNotFoundException("x does not exist", "/tmp/x"));
            Assert.Equal(("LocalFileNotFound", "ObjectNotFound", (object)"/tmp/x"), (local.ErrorId, local.CategoryName, local.Target));
            foreach (var e in new[] { missing, history, local }) Assert.Contains(e.CategoryName, FleetErrorRecords.CategoryNames);
        }
    }

    public sealed class FileFrontEndTests
    {
        [Fact]
        public void Results_are_written_norm_first_then_each_group_then_the_hosts_not_read_in_selection_order_within()
        {
            RemoteFileResult R(string host, int? group) => new RemoteFileResult
            {
                HostName = host, GroupId = group, IsNorm = group == 1,
                Status = group == null ? RemoteFileStatus.Missing : RemoteFileStatus.Ok,
            };
            var report = new FileDriftReport
            {
                Results = new[] { R("a", null), R("b", 2), R("c", 1), R("d", 3), R("e", 1), R("f", null), R("g", 2) },
            };
            Assert.Equal(new[] { "c", "e", "b", "g", "d", "a", "f" }, report.ResultsByGroup().Select(r => r.HostName));
            Assert.Equal(new[] { "a", "b", "c", "d", "e", "f", "g" }, report.Results.Select(r => r.HostName)); // the report itself keeps selection order
        }

        [Fact]
        public void Progress_can_name_what_a_run_does_rather_than_its_command()
        {
            var text = FleetProgressText.ForActivity("Reading /etc/hosts", new FleetProgress(4, 1, 2, 0));
            Assert.Equal("Reading /etc/hosts", text.Activity);
            Assert.Equal(FleetProgressText.From("uptime", new FleetProgress(4, 1, 2, 0)).Status, text.Status);
            Assert.Equal("Running 'uptime'", FleetProgressText.From("uptime", new FleetProgress(4, 1, 2, 0)).Activity);
        }

        [Fact]
        public void A_push_is_checked_before_anything_runs_or_anyone_confirms()
        {
            using var dir = new TempDirectory();
            var file = Path.Combine(dir.Path, "app.conf");
            File.WriteAllText(file, "x=1\n");
            Assert.Equal("0644", FileTransfer.ValidatePush(file, "/etc/app.conf", "644"));
            Assert.Null(FileTransfer.ValidatePush(file, "/etc/app.conf", null));
            Assert.Throws<FileNotFoundException>(() => FileTransfer.ValidatePush(Path.Combine(dir.Path, "nope"), "/etc/app.conf", null));
            Assert.Contains("is a directory", Assert.Throws<ArgumentException>(() => FileTransfer.ValidatePush(dir.Path, "/etc/", null)).Message);
            Assert.Throws<ArgumentException>(() => FileTransfer.ValidatePush(file, "", null));
            Assert.Throws<ArgumentException>(() => FileTransfer.ValidatePush(file, "/etc/a\0b", null));
            Assert.Contains("octal", Assert.Throws<ArgumentException>(() => FileTransfer.ValidatePush(file, "/etc/app.conf", "rw-r--r--")).Message);
        }

        [Fact]
        public void WhatIf_says_whether_existing_files_would_be_replaced()
        {
            Assert.Equal("Copy '/src/app.conf' to '/etc/app.conf' where no such file exists",
                FileTransfer.DescribePush("/src/app.conf", "/etc/app.conf", new FilePushOptions()));
            Assert.Equal("Copy '/src/app.conf' to '/etc/app.conf' with mode 0600, replacing the file where it exists",
                FileTransfer.DescribePush("/src/app.conf", "/etc/app.conf", new FilePushOptions { Force = true, Mode = "0600" }));
            var pull = FileTransfer.DescribePull("/etc/hosts", "/tmp/c", new FilePullOptions { Force = true });
            Assert.Equal($"Copy '/etc/hosts' to '{Path.Combine("/tmp/c", "<host>", "hosts")}', replacing local copies that exist", pull);
            Assert.Throws<ArgumentException>(() => FileTransfer.DescribePull("/", "/tmp/c", new FilePullOptions()));
        }
    }

    public sealed class SnapshotHistoryTests : IDisposable
    {
        private readonly TempDirectory _dir = new TempDirectory();
        private string Db => Path.Combine(_dir.Path, "history.db");

        public void Dispose() => _dir.Dispose();

        private static FleetSnapshot Snap(DateTime taken, params (string host, string pkgVersion)[] hosts) => new FleetSnapshot
        {
            TakenUtc = taken,
            Selection = "group=web",
            Hosts = hosts.Select(h => new HostSnapshot
            {
                HostName = h.host, Status = SnapshotHostStatus.Captured, Kernel = "Linux 6.1.0 x86_64", PackageManager = "dpkg",
                Packages = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["openssl"] = h.pkgVersion },
            }).ToList(),
        };

        [Fact]
        public void A_capture_is_stored_unless_there_is_no_history_or_it_was_cancelled()
        {
            using var store = FleetHistory.OpenForRecording(Db, null);
            var snap = Snap(DateTime.UtcNow, ("web-01", "3.0.11-1"));
            Assert.False(SnapshotHistory.Store(null, snap, CancellationToken.None));
            Assert.False(SnapshotHistory.Store(store, snap, new CancellationToken(canceled: true)));
            Assert.Null(snap.Id);
            Assert.Empty(store.ListSnapshots());
            Assert.True(SnapshotHistory.Store(store, snap, CancellationToken.None));
            Assert.Equal(snap.Id, Assert.Single(store.ListSnapshots()).Id);
        }

        [Fact]
        public void Stored_snapshots_are_read_back_and_compared_by_id_and_an_unknown_id_says_so()
        {
            long a, b;
            using (var store = FleetHistory.OpenForRecording(Db, null))
            {
                a = store.SaveSnapshot(Snap(new DateTime(2026, 2, 21, 10, 0, 0, DateTimeKind.Utc), ("web-01", "3.0.11-1"), ("web-02", "3.0.11-1")));
                b = store.SaveSnapshot(Snap(new DateTime(2026, 2, 28, 10, 0, 0, DateTimeKind.Utc), ("web-01", "3.0.13-1"), ("web-02", "3.0.11-1")));
            }
            using var reading = FleetHistory.OpenForReading(Db);
            Assert.Equal(2, SnapshotHistory.Get(reading, a).Hosts.Count);
            var diff = SnapshotHistory.Compare(reading, a, b);
            Assert.Equal((a, b), (diff.BeforeId!.Value, diff.AfterId!.Value));
            var web01 = diff.Hosts.Single(h => h.HostName == "web-01");
            Assert.Equal(HostSnapshotChange.Changed, web01.Change);
            Assert.Equal("openssl 3.0.11-1 -> 3.0.13-1", Assert.Single(web01.PackagesUpgraded).ToString());
            Assert.Equal(HostSnapshotChange.Unchanged, diff.Hosts.Single(h => h.HostName == "web-02").Change);
            var e = Assert.Throws<SnapshotNotFoundException>(() => SnapshotHistory.Compare(reading, a, 999));
            Assert.Equal(999, e.SnapshotId);
            Assert.Contains("no snapshot 999", e.Message);
        }

        [Fact]
        public void A_selection_narrows_stored_snapshots_and_diffs_and_no_selection_keeps_every_stored_host()
        {
            var inventory = Path.Combine(_dir.Path, "inventory.yaml");
            File.WriteAllText(inventory, "groups:\n  web:\n    hosts: [web-01, web-02]\n  db:\n    hosts: [db-01]\n");
            var all = new FleetCommandRequest { InventoryPath = inventory };
            Assert.False(SnapshotHistory.Narrows(all));
            Assert.Null(SnapshotHistory.SelectedHostNames(all));

            var web = new FleetCommandRequest { InventoryPath = inventory };
            web.Selection.Groups.Add("web");
            web.Selection.Excludes.Add("web-02");
            var names = SnapshotHistory.SelectedHostNames(web)!;
            Assert.Equal(new[] { "web-01" }, names.OrderBy(n => n));

            // A host that is in the snapshot but no longer in the inventory stays visible without a selection.
            var snap = Snap(DateTime.UtcNow, ("web-01", "1"), ("web-02", "1"), ("retired-07", "1"));
            Assert.Same(snap, SnapshotHistory.Narrow(snap, null));
            Assert.Equal(new[] { "web-01" }, SnapshotHistory.Narrow(snap, names).Hosts.Select(h => h.HostName));
            var diff = SnapshotComparison.Compare(snap, Snap(DateTime.UtcNow, ("web-01", "2"), ("db-01", "1")));
            Assert.Equal(new[] { "db-01", "retired-07", "web-01", "web-02" }, SnapshotHistory.Narrow(diff, null).Select(h => h.HostName));
            Assert.Equal(new[] { "web-01" }, SnapshotHistory.Narrow(diff, names).Select(h => h.HostName));
        }

        [Fact]
        public void Listing_refuses_a_host_selection_rather_than_ignoring_it()
        {
            SnapshotHistory.RefuseSelectionForList(new FleetCommandRequest());
            var r = new FleetCommandRequest();
            r.Selection.Hosts.Add("web-01");
            Assert.Contains("-Id", Assert.Throws<ArgumentException>(() => SnapshotHistory.RefuseSelectionForList(r)).Message);
            var x = new FleetCommandRequest();
            x.Selection.Excludes.Add("web-*");
            Assert.Throws<ArgumentException>(() => SnapshotHistory.RefuseSelectionForList(x));
        }
    }
}
