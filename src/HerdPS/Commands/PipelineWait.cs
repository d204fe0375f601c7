using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using HerdPS.Execution;

namespace HerdPS.Commands
{
    /// <summary>
    /// Waits for the engine's tasks and async streams on the pipeline thread, the only thread allowed to write.
    /// The engine's workers report progress and per-host events into queues; every 200 ms (and whenever an item
    /// arrives) the waiting thread drains them into WriteProgress/WriteVerbose. The same pattern as
    /// <see cref="FleetConnectionCmdlet"/>'s RunAndWrite, for engine calls that aren't a plain command run.
    /// </summary>
    internal sealed class PipelineWait
    {
        private readonly Cmdlet _cmdlet;
        private readonly string _activity;
        private readonly Action? _drain;

        /// <param name="activity">The progress bar's title ("Reading /etc/hosts").</param>
        /// <param name="drain">Called on the pipeline thread while waiting, to write what worker threads queued.</param>
        public PipelineWait(Cmdlet cmdlet, string activity, Action? drain = null)
        {
            _cmdlet = cmdlet;
            _activity = activity;
            _drain = drain;
        }

        /// <summary>Where the engine reports progress (any thread).</summary>
        public ConcurrentQueue<FleetProgress> Progress { get; } = new ConcurrentQueue<FleetProgress>();

        public T Wait<T>(Task<T> task)
        {
            Block(task);
            return task.GetAwaiter().GetResult();
        }

        /// <summary>Hands each item of <paramref name="items"/> to <paramref name="each"/> on the pipeline thread, as it arrives.</summary>
        public void ForEach<T>(BlockingReader<T> items, Action<T> each)
        {
            using (items)
            {
                while (true)
                {
                    var step = items.Next(FleetConnectionCmdlet.ProgressTick, out var item);
                    if (step == ReadStep.End) break;
                    if (step == ReadStep.Item) each(item);
                    Tick();
                }
            }
            Tick();
        }

        private void Block(Task task)
        {
            // WaitOne rather than Task.Wait: a faulted task is rethrown unwrapped by GetResult, not as AggregateException.
            while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(FleetConnectionCmdlet.ProgressTick)) Tick();
            Tick();
        }

        private void Tick()
        {
            _drain?.Invoke();
            FleetProgress? latest = null;
            while (Progress.TryDequeue(out var p)) latest = p;
            if (latest is FleetProgress last)
            {
                var text = FleetProgressText.ForActivity(_activity, last);
                _cmdlet.WriteProgress(new ProgressRecord(0, text.Activity, text.Status)
                {
                    PercentComplete = text.PercentComplete,
                    RecordType = text.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                });
            }
        }
    }
}
