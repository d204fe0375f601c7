using System;
using System.IO;
using HerdPS.Tests.Inventory;

namespace HerdPS.Tests.Watch
{
    /// <summary>
    /// Per-host files for change-detection tests. The fleet's hosts share one sshd and one filesystem, but each
    /// alias has HERD_ALIAS set, so <c>cat dir/$HERD_ALIAS</c> reads a different file on each host. The remote
    /// side logs in as another user when the tests run as root, so the folder and files are world-readable.
    /// </summary>
    internal sealed class WatchFiles : IDisposable
    {
        private readonly TempDirectory _dir = new TempDirectory();

        public WatchFiles()
        {
            File.SetUnixFileMode(_dir.Path, (UnixFileMode)Convert.ToInt32("755", 8));
        }

        public string Folder => _dir.Path;

        /// <summary>The command that prints the current host's file.</summary>
        public string CatCommand => $"cat {Folder}/$HERD_ALIAS";

        public void Write(string host, string content)
        {
            var path = _dir.Write(host, content);
            File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("644", 8));
        }

        public void Dispose() => _dir.Dispose();
    }
}
