#!/usr/bin/env python3
"""Run one command and measure it: wall time, peak RSS of the whole process tree, peak RSS of the command's
own process.

  measure.py [--interval S] [--timeout S] [--stdout FILE] -- command args...

Prints one JSON object on stdout: wall_s, exit, tree_peak_kib, own_peak_kib, cpu_s, procs_peak, samples.

Method
- The sampler makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so processes that daemonize
  under the command (ssh ControlMaster with ControlPersist forks into the background) are reparented to it
  and stay in the measured tree instead of escaping to init.
- Every --interval seconds it reads /proc/*/stat, collects the descendants of itself and sums their RSS
  (field 24, resident pages). Sums of RSS count shared pages (libc, the ssh binary) once per process, as
  `ps` does; that is the same rule for every tool.
- own_peak_kib is VmHWM from /proc/<pid>/status of the command's own process, read at every sample: the
  kernel's resident high-water mark of that process (monotonic, so only growth in the last interval before
  exit could be missed). Not ru_maxrss: that keeps the pre-exec RSS of the forked Python sampler.
- cpu_s is user+system CPU of the command and every descendant it waited for (wait4 rusage): the client
  side's CPU. Server CPU (sshd) is not in it.
- wall_s runs from just before fork to the command's exit; background descendants left running (pooled
  masters) do not count towards it and are left alone (the warm run needs them).
"""
import ctypes, json, os, signal, subprocess, sys, time

def parse():
    args = sys.argv[1:]
    opts = {"interval": 0.05, "timeout": 1800.0, "stdout": None}
    while args and args[0] != "--":
        k = args.pop(0).lstrip("-")
        opts[k] = args.pop(0)
    if not args:
        sys.exit("usage: measure.py [--interval S] [--timeout S] [--stdout FILE] -- cmd ...")
    return float(opts["interval"]), float(opts["timeout"]), opts["stdout"], args[1:]

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

def tree_rss(root):
    children = {}
    rss = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(b")") + 2:].split()
        pid = int(d)
        ppid = int(rest[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(rest[21]) * PAGE_KIB
    total, count, stack = 0, 0, list(children.get(root, []))
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        count += 1
        stack.extend(children.get(p, []))
    return total, count

def own_hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def main():
    interval, timeout, stdout_path, cmd = parse()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    me = os.getpid()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stdin=subprocess.DEVNULL)
    peak, peak_procs, samples, status, ru, own_peak = 0, 0, 0, None, None, 0
    while True:
        pid, st, r = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            wall = time.monotonic() - t0
            status, ru = st, r
            break
        if time.monotonic() - t0 > timeout:
            os.kill(proc.pid, signal.SIGKILL)
            _, status, ru = os.wait4(proc.pid, 0)
            wall = time.monotonic() - t0
            break
        total, count = tree_rss(me)
        own = own_hwm(proc.pid)
        if own > own_peak:
            own_peak = own
        samples += 1
        if total > peak:
            peak = total
        peak_procs = max(peak_procs, count)
        time.sleep(interval)
    # reap anything else that already exited and was reparented to us (never wait for live masters)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    code = os.waitstatus_to_exitcode(status)
    print(json.dumps({"wall_s": round(wall, 3), "exit": code, "tree_peak_kib": peak,
                      "own_peak_kib": own_peak,
                      "cpu_s": round(ru.ru_utime + ru.ru_stime, 3), "procs_peak": peak_procs, "samples": samples,
                      "timed_out": wall > timeout}))

main()
