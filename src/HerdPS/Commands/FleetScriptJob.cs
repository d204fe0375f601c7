using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;
using HerdPS.Scripting;

namespace HerdPS.Commands
{
    /// <summary>
    /// Invoke-FleetScript -AsJob: the run on a background task, each step result and the summary in Output,
    /// "stopped" reasons in Warning; Stop-Job ends every remote command as Ctrl-C does.
    /// </summary>
    public sealed class FleetScriptJob : Job2
    {
        private readonly FleetTarget _target;
        private readonly FleetScript _script;
        private readonly FleetCommandRequest _request;
        private readonly ScriptRunOptions _options;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private int _started;

        private FleetScriptJob(string commandLine, FleetTarget target, FleetScript script, FleetCommandRequest request, ScriptRunOptions options)
            : base(commandLine, "script " + script.Name)
        {
            _target = target;
            _script = script;
            _request = request;
            _options = options;
            PSJobTypeName = "FleetScriptJob";
        }

        internal static FleetScriptJob Create(PSCmdlet cmdlet, FleetTarget target, FleetScript script, FleetCommandRequest request, ScriptRunOptions options)
        {
            var job = new FleetScriptJob(cmdlet.MyInvocation.Line, target, script, request, options);
            var definition = new JobDefinition(typeof(FleetJobSourceAdapter), job.Command, job.Name);
            var registered = cmdlet.JobManager.NewJob(new JobInvocationInfo(definition, new Dictionary<string, object> { [FleetJobSourceAdapter.JobParameter] = job }));
            if (!ReferenceEquals(registered, job)) throw new InvalidOperationException("PowerShell's job manager did not register the fleet script job");
            return job;
        }

        public override string Location => FleetQueries.Describe(_target);
        public override string StatusMessage => JobStateInfo.State.ToString();
        public override bool HasMoreData => Output.Count > 0 || Error.Count > 0 || Warning.Count > 0;

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
                using var run = ScriptExecutor.Start(_script, _target, _request, _options, _stop.Token);
                using var events = run.Reader();
                foreach (var e in events.ReadToEnd())
                {
                    if (e.Result != null)
                    {
                        Output.Add(PSObject.AsPSObject(InvokeFleetScriptCommand.ForPowerShell(e.Result)));
                        if (FleetErrorRecords.ForStep(e.Result) is FleetErrorInfo error) Error.Add(FleetCmdlet.ToErrorRecord(error));
                    }
                    else if (e.Summary != null)
                    {
                        if (e.Summary.StoppedReason != null) Warning.Add(new WarningRecord("stopped: " + e.Summary.StoppedReason));
                        Output.Add(PSObject.AsPSObject(e.Summary));
                    }
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
                Output.Complete();
                Error.Complete();
                Warning.Complete();
            }
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
