using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace HerdPS.Transport.SshNet
{
    /// <summary>
    /// Threads for SSH.NET's blocking calls (connect, channel open and exec reply, reads of a command's output),
    /// kept for reuse. Such calls must not run on the .NET thread pool: 32 of them at once starved it (100 hosts took
    /// 4x pdsh). A new thread per call (TaskCreationOptions.LongRunning) avoids that but costs three thread starts per
    /// command, about a tenth of a warm run's CPU (perf: clone3, thread start-up and the pinvoke that creates it).
    /// Here a call takes an idle thread or starts one; there is no cap, because a blocked read holds its thread until
    /// the command ends and a cap could deadlock; a thread idle for <see cref="IdleLifetime"/> ends.
    /// </summary>
    internal static class BlockingThreads
    {
        private static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(20);
        private static readonly ConcurrentQueue<Action> Work = new ConcurrentQueue<Action>();
        private static readonly SemaphoreSlim Available = new SemaphoreSlim(0);
        private static int _idle;

        /// <summary>Runs <paramref name="call"/> on a blocking thread; the task ends with its result or exception.</summary>
        public static Task<T> Run<T>(Func<T> call)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            Enqueue(() =>
            {
                try { done.TrySetResult(call()); }
                catch (Exception e) { done.TrySetException(e); }
            });
            return done.Task;
        }

        public static Task Run(Action call) => Run(() =>
        {
            call();
            return true;
        });

        private static void Enqueue(Action work)
        {
            Work.Enqueue(work);
            // Claim an idle thread if there is one; otherwise start another.
            while (true)
            {
                var idle = Volatile.Read(ref _idle);
                if (idle == 0)
                {
                    new Thread(Loop) { IsBackground = true, Name = "herd sshnet" }.Start();
                    return;
                }
                if (Interlocked.CompareExchange(ref _idle, idle - 1, idle) == idle)
                {
                    Available.Release();
                    return;
                }
            }
        }

        private static void Loop()
        {
            while (true)
            {
                while (Work.TryDequeue(out var work)) work();
                Interlocked.Increment(ref _idle);
                if (Available.Wait(IdleLifetime)) continue;
                // Timed out: leave, unless a caller claimed this thread in the meantime.
                while (true)
                {
                    var idle = Volatile.Read(ref _idle);
                    if (idle == 0)
                    {
                        Available.Wait();   // claimed: its Release is on the way
                        break;
                    }
                    if (Interlocked.CompareExchange(ref _idle, idle - 1, idle) == idle) return;
                }
            }
        }
    }
}
