using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Invoke-FleetCommand -AsJob: the same run on a background task (as ThreadJob does it), with each host's
    /// FleetResult in Output and each host's error in Error, so Receive-Job, Wait-Job and Stop-Job behave as for
    /// any job. The connection pool is process-wide, so jobs and the foreground share it.
    /// </summary>
    public sealed class FleetJob : Job2
    {
        private readonly FleetTarget _target;
        private readonly string _command;
        private readonly FleetCommandRequest _request;
        private readonly ExecRecording? _recording;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private int _started;

        /// <param name="recording">The run's history record (and -DiffLast comparison), begun on the pipeline thread; the job completes it.</param>
        public FleetJob(string commandLine, FleetTarget target, string command, FleetCommandRequest request, ExecRecording? recording = null)
            : base(commandLine, "FleetJob")
        {
            _target = target;
            _command = command;
            _request = request;
            _recording = recording;
            PSJobTypeName = "FleetJob";
        }

        public override string Location => $"{_target.Hosts.Count} host(s)";
        public override string StatusMessage => JobStateInfo.State.ToString();
        public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0 || Verbose.Count > 0 || Progress.Count > 0;

        public override void StartJob()
        {
            if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("the job has already started");
            SetJobState(JobState.Running);
            Task.Run(Run);
        }

        private void Run()
        {
            try
            {
                using var run = FleetEngine.Start(_target, _command, _request, null, _stop.Token);
                using var results = BlockingReader.Of(run);
                foreach (var result in results.ReadToEnd())
                {
                    Output.Add(PSObject.AsPSObject(_recording == null ? result : InvokeFleetCommandCommand.WithChange(result, _recording)));
                    var error = FleetErrorRecords.ForResult(result);
                    if (error != null) Error.Add(FleetCmdlet.ToErrorRecord(error));
                }
                if (_recording != null) Complete(_recording);
                SetJobState(_stop.IsCancellationRequested ? JobState.Stopped : JobState.Completed);
            }
            catch (Exception e)
            {
                Error.Add(FleetCmdlet.ToErrorRecord(FleetErrorRecords.ForException(e)));
                SetJobState(JobState.Failed);
            }
            finally
            {
                _recording?.Dispose(); // unfinished in the history unless completed above
                Output.Complete();
                Error.Complete();
                Warning.Complete();
            }
        }

        private void Complete(ExecRecording recording)
        {
            var difference = recording.Complete(cancelled: _stop.IsCancellationRequested);
            if (ExecRecording.RemovedHostsNotice(difference) is string removed) Warning.Add(new WarningRecord(removed));
            if (recording.FailureWarning is string failure) Warning.Add(new WarningRecord(failure));
        }

        public override void StopJob() => StopJob(false, null);
        public override void StopJob(bool force, string? reason)
        {
            _stop.Cancel();
            if (Interlocked.CompareExchange(ref _started, 1, 0) == 0) SetJobState(JobState.Stopped);
        }
        public override void StartJobAsync() { StartJob(); OnStartJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null)); }
        public override void StopJobAsync() { StopJob(); OnStopJobCompleted(new System.ComponentModel.AsyncCompletedEventArgs(null, false, null)); }
        public override void StopJobAsync(bool force, string? reason) => StopJobAsync();
        public override void SuspendJob() => throw new NotSupportedException("a fleet job can't be suspended; use Stop-Job");
        public override void SuspendJobAsync() => SuspendJob();
        public override void SuspendJob(bool force, string? reason) => SuspendJob();
        public override void SuspendJobAsync(bool force, string? reason) => SuspendJob();
        public override void ResumeJob() => throw new NotSupportedException("a fleet job can't be suspended or resumed");
        public override void ResumeJobAsync() => ResumeJob();
        public override void UnblockJob() => throw new NotSupportedException("a fleet job never blocks");
        public override void UnblockJobAsync() => UnblockJob();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _stop.Cancel();
            base.Dispose(disposing);
        }
    }
}
