using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.History;

namespace HerdPS.Commands
{
    /// <summary>
    /// Invoke-FleetCommand -AsJob: the same run on a background task (as ThreadJob does it), with each host's
    /// FleetResult in Output and each host's error in Error, so Receive-Job, Wait-Job, Stop-Job, Remove-Job and
    /// Receive-Job -AutoRemoveJob behave as for any job. The job is registered through PowerShell's JobManager
    /// with <see cref="FleetJobSourceAdapter"/>, which is what lets Remove-Job find it. Its name is the command
    /// it runs. The connection pool is process-wide, so jobs and the foreground share it.
    /// </summary>
    /// <summary>What a result becomes in a job's Output, and its change against the last run (for -Notify).</summary>
    internal delegate object ResultShape(FleetResult result, out HostChange? change);

    public sealed class FleetJob : Job2
    {
        private readonly FleetTarget _target;
        private readonly string _command;
        private readonly FleetCommandRequest _request;
        private readonly ExecRecording? _recording;
        private readonly ResultShape _shape;
        private readonly HistoryNotices? _notices;
        private readonly RunNotifications? _notify;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private int _started;

        /// <param name="recording">The run's history record (and -DiffLast comparison), begun on the pipeline thread; the job completes it.</param>
        /// <param name="shape">What each result becomes in Output (recorded, with -DiffLast's and -Parser's properties), as the foreground writes it.</param>
        /// <param name="notify">-Notify's notifier; the job tells it each result and waits for its deliveries before it completes.</param>
        private FleetJob(string commandLine, FleetTarget target, string command, FleetCommandRequest request, ExecRecording? recording, ResultShape? shape,
            HistoryNotices? notices, RunNotifications? notify)
            : base(commandLine, PowerShellView.JobName(command))
        {
            _notices = notices;
            _notify = notify;
            _target = target;
            _command = command;
            _request = request;
            _recording = recording;
            _shape = shape ?? ((FleetResult result, out HostChange? change) => { change = null; return PowerShellView.Of(result); });
            PSJobTypeName = "FleetJob";
        }

        /// <summary>Makes the job and registers it with the session's JobManager (Get-Job lists it from then on).</summary>
        internal static FleetJob Create(PSCmdlet cmdlet, FleetTarget target, string command, FleetCommandRequest request, ExecRecording? recording,
            ResultShape? shape = null, HistoryNotices? notices = null, RunNotifications? notify = null)
        {
            var job = new FleetJob(cmdlet.MyInvocation.Line, target, command, request, recording, shape, notices, notify);
            var definition = new JobDefinition(typeof(FleetJobSourceAdapter), job.Command, job.Name);
            var registered = cmdlet.JobManager.NewJob(new JobInvocationInfo(definition, new Dictionary<string, object> { [FleetJobSourceAdapter.JobParameter] = job }));
            if (!ReferenceEquals(registered, job)) throw new InvalidOperationException("PowerShell's job manager did not register the fleet job");
            return job;
        }

        public override string Location => FleetQueries.Describe(_target);
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
                    Output.Add(PSObject.AsPSObject(_shape(result, out var change)));
                    _notify?.Notifier.Observe(result, change);
                    var error = FleetErrorRecords.ForResult(result);
                    if (error != null) Error.Add(FleetCmdlet.ToErrorRecord(error));
                }
                if (_recording != null) Complete(_recording);
                if (_notify != null)
                {
                    _notify.Notifier.CompleteExec(_recording?.RunId);
                    _notify.Finish(stopped: _stop.IsCancellationRequested);
                    _notify.Drain(w => Warning.Add(new WarningRecord(w)), v => Verbose.Add(new VerboseRecord(v)));
                }
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
                _notify?.Dispose();
                Output.Complete();
                Error.Complete();
                Warning.Complete();
                Verbose.Complete();
            }
        }

        private void Complete(ExecRecording recording)
        {
            var difference = recording.Complete(cancelled: _stop.IsCancellationRequested);
            _notices?.WriteTo(this);
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

    /// <summary>
    /// Keeps the session's fleet jobs for PowerShell's JobManager (Get-Job, Remove-Job, Receive-Job -AutoRemoveJob),
    /// as ThreadJob's adapter does. The JobManager makes one instance per session.
    /// </summary>
    public sealed class FleetJobSourceAdapter : JobSourceAdapter
    {
        internal const string JobParameter = "FleetJob";
        private readonly ConcurrentDictionary<Guid, Job2> _jobs = new ConcurrentDictionary<Guid, Job2>();

        public FleetJobSourceAdapter() { Name = nameof(FleetJobSourceAdapter); }

        public override Job2 NewJob(JobInvocationInfo specification)
        {
            var job = specification?.Parameters.SelectMany(p => p).FirstOrDefault(p => p.Name == JobParameter)?.Value as Job2
                ?? throw new ArgumentException("a fleet job is made by Invoke-FleetCommand -AsJob or Invoke-FleetScript -AsJob", nameof(specification));
            _jobs[job.InstanceId] = job;
            return job;
        }

        public override IList<Job2> GetJobs() => _jobs.Values.ToList();
        public override IList<Job2> GetJobsByName(string name, bool recurse) =>
            _jobs.Values.Where(j => new WildcardPattern(name, WildcardOptions.IgnoreCase).IsMatch(j.Name)).ToList();
        public override IList<Job2> GetJobsByCommand(string command, bool recurse) =>
            _jobs.Values.Where(j => new WildcardPattern(command, WildcardOptions.IgnoreCase).IsMatch(j.Command)).ToList();
        public override Job2? GetJobByInstanceId(Guid instanceId, bool recurse) => _jobs.TryGetValue(instanceId, out var job) ? job : null;
        public override Job2? GetJobBySessionId(int id, bool recurse) => _jobs.Values.FirstOrDefault(j => j.Id == id);
        public override IList<Job2> GetJobsByState(JobState state, bool recurse) => _jobs.Values.Where(j => j.JobStateInfo.State == state).ToList();
        public override IList<Job2> GetJobsByFilter(Dictionary<string, object> filter, bool recurse) => throw new PSNotSupportedException("fleet jobs can't be filtered by a hash table; use Where-Object");

        public override void RemoveJob(Job2 job)
        {
            if (job == null || !_jobs.TryRemove(job.InstanceId, out var removed)) return;
            removed.StopJob();
            removed.Dispose();
        }
    }
}
