using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace HerdPS.Tail
{
    /// <summary>What a follower's output holds, record by record.</summary>
    internal enum FollowerRecordKind
    {
        /// <summary>A line of a file or a journal entry.</summary>
        Line,
        /// <summary>The follower started on the host (connected, and the command runs).</summary>
        Started,
        /// <summary>A notice about one file (<see cref="FollowerNotice"/>).</summary>
        Notice,
        /// <summary>The follower can't go on (a pattern grep refuses, no journalctl): the host's tail ends.</summary>
        Fatal,
    }

    internal sealed class FollowerRecord
    {
        public FollowerRecordKind Kind;
        public FleetLogLine? Line;
        /// <summary>0-based index into the paths (files), or -1.</summary>
        public int Source = -1;
        public FollowerNotice Notice;
        /// <summary>The notice's detail (a rotated file's name), or the fatal error's message.</summary>
        public string? Detail;
        /// <summary>Bytes this record took on the wire (for the queue's accounting).</summary>
        public int Size;
    }

    /// <summary>
    /// Reads one follower session's stdout as it arrives (<see cref="Feed"/> is the transport's stdout observer), cuts
    /// it into records, and keeps where each source stands: for a file the inode and offset of the last position
    /// record and how many lines came after it; for the journal the cursor of the last entry. That is what the next
    /// session resumes from (<see cref="FilePositions"/>, <see cref="SkipLines"/>, <see cref="Cursor"/>).
    /// <para>
    /// Records go to <paramref name="deliver"/>, which may refuse a line (the host's queue is full): from then on
    /// this session delivers nothing more (the caller ends it), and the position stays at the last line delivered,
    /// so the next session sends the refused lines again, and nothing twice.
    /// </para>
    /// </summary>
    internal sealed class FollowerStream
    {
        /// <summary>A line longer than this (the follower cuts lines at its batch size) is cut here too.</summary>
        private readonly int _maxLine;
        private readonly string _hostName;
        private readonly TailOptions _options;
        private readonly Func<FollowerRecord, bool> _deliver;
        private readonly object _gate = new object();
        private byte[] _partial = new byte[4096];
        private int _partialLength;
        private bool _refused;

        // Files: where each stands, and the lines after that position (delivered or skipped).
        private readonly FilePosition?[] _positions;
        private readonly int[] _linesSincePosition;
        private readonly int[] _toSkip;
        private readonly bool[] _inContext;

        public FollowerStream(string hostName, TailOptions options, IReadOnlyList<FilePosition?> positions, IReadOnlyList<int> skip, string? cursor,
            Func<FollowerRecord, bool> deliver)
        {
            _hostName = hostName;
            _options = options;
            _deliver = deliver;
            _maxLine = options.MaxBatchBytes + 64;
            int n = options.Paths.Count;
            _positions = new FilePosition?[n];
            _linesSincePosition = new int[n];
            _toSkip = new int[n];
            _inContext = new bool[n];
            for (int i = 0; i < n; i++)
            {
                _positions[i] = i < positions.Count ? positions[i] : null;
                _toSkip[i] = i < skip.Count ? skip[i] : 0;
                _linesSincePosition[i] = _toSkip[i];
            }
            Cursor = cursor;
        }

        /// <summary>The follower said it started (the session is up).</summary>
        public bool Started { get; private set; }
        /// <summary>A line was refused: this session must end, and the next one resumes from the position kept here.</summary>
        public bool Refused => _refused;
        /// <summary>The follower's own fatal error, if it reported one.</summary>
        public string? FatalError { get; private set; }
        /// <summary>Lines delivered by this session.</summary>
        public long LinesDelivered { get; private set; }
        /// <summary>Bytes of stdout received by this session.</summary>
        public long BytesReceived { get; private set; }
        /// <summary>Raised once, when the follower says it started.</summary>
        public Action? OnStarted { get; set; }
        /// <summary>True once every file has a position in this session (the follower reads from there on), or, for the journal, once it started.</summary>
        public bool Following { get; private set; }

        /// <summary>Where each file stands after what was delivered (null: no position yet).</summary>
        public IReadOnlyList<FilePosition?> FilePositions { get { lock (_gate) return (FilePosition?[])_positions.Clone(); } }
        /// <summary>Per file: lines after its position that were already delivered, to skip when resuming there.</summary>
        public IReadOnlyList<int> SkipLines { get { lock (_gate) return (int[])_linesSincePosition.Clone(); } }
        /// <summary>The journal cursor of the last entry delivered.</summary>
        public string? Cursor { get; private set; }

        /// <summary>Takes a chunk of stdout (any thread; chunks of one session come in order).</summary>
        public void Feed(byte[] buffer, int count)
        {
            lock (_gate)
            {
                BytesReceived += count;
                if (_refused) return;
                int start = 0;
                for (int i = 0; i < count; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    Append(buffer, start, i - start);
                    Record(_partial, _partialLength);
                    _partialLength = 0;
                    start = i + 1;
                    if (_refused) return;
                }
                Append(buffer, start, count - start);
                if (_partialLength > _maxLine)
                {
                    // Only a follower gone wrong sends this: its lines are cut at the batch size.
                    Record(_partial, _partialLength);
                    _partialLength = 0;
                }
            }
        }

        /// <summary>The session ended: a last line without a line break is dropped (the next session sends it whole).</summary>
        public void Finish()
        {
            lock (_gate) _partialLength = 0;
        }

        private void Append(byte[] buffer, int offset, int count)
        {
            if (count <= 0) return;
            if (_partialLength + count > _partial.Length)
            {
                var bigger = new byte[Math.Max(_partial.Length * 2, _partialLength + count)];
                Buffer.BlockCopy(_partial, 0, bigger, 0, _partialLength);
                _partial = bigger;
            }
            Buffer.BlockCopy(buffer, offset, _partial, _partialLength, count);
            _partialLength += count;
            // A session that once held a long line gives the memory back with its next record.
        }

        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, false);

        private void Record(byte[] bytes, int length)
        {
            if (length > 0 && bytes[0] == 0x1E)
            {
                Marker(Utf8.GetString(bytes, 1, length - 1));
            }
            else if (_options.IsJournal)
            {
                if (length > 0 && bytes[0] == (byte)'{') JournalEntry(bytes, length);
            }
            else
            {
                FileLine(bytes, length);
            }
            if (_partial.Length > 64 * 1024 && length < 16 * 1024) _partial = new byte[4096];
        }

        private void FileLine(byte[] bytes, int length)
        {
            int colon = Array.IndexOf(bytes, (byte)':', 0, Math.Min(length, 4));
            if (colon <= 0 || !int.TryParse(Encoding.ASCII.GetString(bytes, 0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return;
            int index = number - 1;
            if (index < 0 || index >= _positions.Length) return;
            if (_inContext[index])
            {
                // Context lines lie before the position already given; they are shown once, never resumed.
                Deliver(index, bytes, colon + 1, length - colon - 1, countsTowardResume: false);
                return;
            }
            // Lines the last session delivered after this position come again first: they are counted already
            // (a session that ends before they have all come again must still skip them all next time).
            if (_toSkip[index] > 0)
            {
                _toSkip[index]--;
                return;
            }
            if (Deliver(index, bytes, colon + 1, length - colon - 1, countsTowardResume: true)) _linesSincePosition[index]++;
        }

        private bool Deliver(int index, byte[] bytes, int offset, int count, bool countsTowardResume)
        {
            var line = new FleetLogLine
            {
                HostName = _hostName,
                Path = _options.Paths[index],
                SourceKind = LogSourceKind.File,
                Line = Utf8.GetString(bytes, offset, count),
                ReceivedUtc = DateTime.UtcNow,
            };
            return Send(new FollowerRecord { Kind = FollowerRecordKind.Line, Line = line, Source = index, Size = count + 1 });
        }

        private bool Send(FollowerRecord record)
        {
            if (_refused) return false;
            if (_deliver(record))
            {
                if (record.Kind == FollowerRecordKind.Line) LinesDelivered++;
                return true;
            }
            _refused = true;
            return false;
        }

        private void Marker(string text)
        {
            var parts = text.Split(new[] { ' ' }, FieldCount(text));
            switch (parts[0])
            {
                case "S":
                    if (!Started)
                    {
                        Started = true;
                        if (_options.IsJournal) Following = true;
                        OnStarted?.Invoke();
                    }
                    break;
                case "P":
                case "C":
                    if (parts.Length < 5 || !TryIndex(parts[1], out var index) || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)) return;
                    var current = _positions[index];
                    if (current == null || current.Inode != parts[2] || current.Offset != offset)
                    {
                        _positions[index] = new FilePosition(parts[2], offset, parts[4]);
                        _linesSincePosition[index] = 0;
                        _toSkip[index] = 0;
                    }
                    _inContext[index] = parts[0] == "C";
                    if (!Following && Array.TrueForAll(_positions, p => p != null)) Following = true;
                    break;
                case "N":
                    if (parts.Length < 3 || !TryIndex(parts[1], out var source) || !TryNotice(parts[2], out var notice)) return;
                    var detail = parts.Length > 3 ? parts[3] : null;
                    // Unreliable by then: what a notice refers to. A rotation starts the file from 0 in the next record.
                    Send(new FollowerRecord { Kind = FollowerRecordKind.Notice, Source = source, Notice = notice, Detail = detail, Size = text.Length });
                    break;
                case "E":
                    FatalError = parts.Length > 1 ? parts[1] : "the follower failed";
                    if (FatalError.StartsWith("pattern ", StringComparison.Ordinal))
                        FatalError = "the host's grep refused a pattern: " + FatalError.Substring("pattern ".Length).Trim();
                    else if (FatalError.StartsWith("journalctl ", StringComparison.Ordinal))
                        FatalError = FatalError.Substring("journalctl ".Length);
                    break;
            }
        }

        /// <summary>How many fields a record splits into: a notice's last field (a file name) may hold spaces.</summary>
        private static int FieldCount(string text) => text.StartsWith("N", StringComparison.Ordinal) ? 4 : text.StartsWith("E", StringComparison.Ordinal) ? 2 : 6;

        private bool TryIndex(string text, out int index)
        {
            index = -1;
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > _positions.Length) return false;
            index = n - 1;
            return true;
        }

        private static bool TryNotice(string word, out FollowerNotice notice)
        {
            switch (word)
            {
                case "resumed": notice = FollowerNotice.Resumed; return true;
                case "resumed-rotated": notice = FollowerNotice.ResumedRotated; return true;
                case "gap-rotated": notice = FollowerNotice.GapRotated; return true;
                case "gap-truncated": notice = FollowerNotice.GapTruncated; return true;
                case "rotated": notice = FollowerNotice.Rotated; return true;
                case "truncated": notice = FollowerNotice.Truncated; return true;
                case "missing": notice = FollowerNotice.Missing; return true;
                case "appeared": notice = FollowerNotice.Appeared; return true;
                case "notfile": notice = FollowerNotice.NotAFile; return true;
                case "unreadable": notice = FollowerNotice.Unreadable; return true;
                default: notice = default; return false;
            }
        }

        private void JournalEntry(byte[] bytes, int length)
        {
            string? cursor = null, message = null, identifier = null, unit = null;
            int? pid = null;
            DateTime? time = null;
            try
            {
                var reader = new Utf8JsonReader(new ReadOnlySpan<byte>(bytes, 0, length));
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString();
                    if (!reader.Read()) return;
                    switch (name)
                    {
                        case "__CURSOR": cursor = Text(ref reader); break;
                        case "MESSAGE": message = Text(ref reader); break;
                        case "SYSLOG_IDENTIFIER": identifier = Text(ref reader); break;
                        case "_SYSTEMD_UNIT": unit = Text(ref reader); break;
                        case "_PID":
                            if (int.TryParse(Text(ref reader), NumberStyles.None, CultureInfo.InvariantCulture, out var p)) pid = p;
                            break;
                        case "__REALTIME_TIMESTAMP":
                            if (long.TryParse(Text(ref reader), NumberStyles.None, CultureInfo.InvariantCulture, out var micros))
                                time = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(micros * 10);
                            break;
                        default: reader.Skip(); break;
                    }
                }
            }
            catch (JsonException)
            {
                return; // not an entry (journalctl's own words would never start with '{'); nothing to show
            }
            if (cursor == null) return;
            var line = new FleetLogLine
            {
                HostName = _hostName,
                Unit = unit ?? (_options.Units.Count == 1 ? _options.Units[0] : ""),
                SourceKind = LogSourceKind.Journal,
                Line = message ?? "",
                ReceivedUtc = DateTime.UtcNow,
                EntryTimeUtc = time,
                Identifier = identifier,
                ProcessId = pid,
            };
            if (Send(new FollowerRecord { Kind = FollowerRecordKind.Line, Line = line, Size = length + 1 })) Cursor = cursor;
        }

        /// <summary>
        /// A journal field as text: a string as it is; an array of byte values (journalctl's form for data that is not
        /// UTF-8 or holds control characters) decoded as UTF-8 with replacement characters; null as empty.
        /// </summary>
        private static string Text(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String: return reader.GetString() ?? "";
                case JsonTokenType.StartArray:
                    var bytes = new List<byte>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        if (reader.TokenType == JsonTokenType.Number && reader.TryGetByte(out var b)) bytes.Add(b);
                    return Utf8.GetString(bytes.ToArray());
                case JsonTokenType.StartObject:
                    reader.Skip();
                    return "";
                default: return "";
            }
        }
    }
}
