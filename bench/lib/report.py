#!/usr/bin/env python3
"""Turns bench/run.sh's raw TSV into bench/results.md: medians, ratios against pdsh cold, target checks."""
import argparse, csv, json, statistics, sys
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("raw"); ap.add_argument("out")
for k in ("date", "machine", "load", "versions", "attribution", "memory", "mem_hosts", "mem_mib", "command"):
    ap.add_argument("--" + k.replace("_", "-"), default="")
a = ap.parse_args()

rows = list(csv.DictReader(open(a.raw), delimiter="\t"))
by = defaultdict(list)
for r in rows:
    by[(int(r["n"]), r["cmd"], r["tool"])].append(r)

def med(rs, key):
    return statistics.median(float(r[key]) for r in rs)

ORDER = ["pdsh", "herd-cold", "herd-nomux", "pssh", "clush", "ansible", "pdsh-cm-cold", "herd-warm", "herd-warm-nohist", "herd-warm-raw", "pdsh-warm"]
LABEL = {
    "pdsh": "pdsh cold (baseline)", "herd-cold": "herd exec cold (pooling on, empty pool)",
    "herd-nomux": "herd exec cold --no-multiplex", "pssh": "parallel-ssh cold", "clush": "clush cold",
    "ansible": "ansible -m raw cold", "pdsh-cm-cold": "pdsh cold, opening ControlMaster sockets",
    "herd-warm": "herd exec warm (pooled)", "herd-warm-nohist": "herd exec warm --no-history (recording off)", "herd-warm-raw": "herd exec warm --raw (no remote wrapper)", "pdsh-warm": "pdsh warm (same kind of pooled sockets)",
}
lines = []
w = lines.append
w("# HerdPS benchmark results\n")
w(f"- Date: {a.date}")
w(f"- Machine: {a.machine}")
w(f"- Load average: {a.load}. Other work shared these cores during the run, so absolute times are noisy;")
w("  the ratios compare tools measured alternately in the same go.")
w(f"- Command: `{a.command}`")
w("- Throttle 32 for every tool; same ssh_config for every tool (BatchMode, one key with IdentitiesOnly,")
w("  curve25519-sha256, ssh-ed25519, chacha20-poly1305, host key checking off); one loopback address per host.")
w("- Each cell: median of the runs (`runs` column). Time ratio = tool wall / pdsh cold wall; memory ratio =")
w("  tool tree peak / pdsh cold tree peak. Tree peak = summed RSS of the tool and every process under it")
w("  (ssh children and pooled masters included), sampled every 50 ms. `logins` = sshd logins counted in the")
w("  sshd logs (N for a cold run, 0 for a warm one). `ok` = hosts with a complete result in the tool's output.\n")
w("## Versions\n")
w(a.versions + "\n")

targets = []
for n in sorted({k[0] for k in by}):
    for cmd in ("true", "64k"):
        base = by.get((n, cmd, "pdsh"))
        if not base:
            continue
        bw, bm = med(base, "wall_s"), med(base, "tree_peak_kib")
        title = "`true`" if cmd == "true" else "64 KiB of output per host"
        w(f"## N = {n}, {title}\n")
        w("| tool | runs | wall s | time ratio | tree peak MiB | mem ratio | own peak MiB | client CPU s | sshd CPU s | logins | ok | exit≠0 |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        med_w = {}
        for t in ORDER:
            rs = by.get((n, cmd, t))
            if not rs:
                continue
            mw = med(rs, "wall_s"); med_w[t] = mw
            mm = med(rs, "tree_peak_kib")
            oks = sorted({r["hosts_ok"] for r in rs})
            bad = sum(1 for r in rs if r["exit"] != "0")
            w(f"| {LABEL[t]} | {len(rs)} | {mw:.2f} | **{mw / bw:.2f}** | {mm / 1024:.0f} | {mm / bm:.2f} | "
              f"{med(rs, 'own_peak_kib') / 1024:.0f} | {med(rs, 'cpu_s'):.2f} | {med(rs, 'server_cpu_s'):.2f} | "
              f"{'/'.join(sorted({r['logins'] for r in rs}))} | {'/'.join(oks)} | {bad} |")
        w("")
        def chk(name, ok, detail):
            targets.append(f"| N={n} {cmd} | {name} | {'met' if ok else '**missed**'} | {detail} |")
        if "herd-cold" in med_w:
            hc = med_w["herd-cold"]; hn = med_w.get("herd-nomux", hc)
            best = min(hc, hn)
            chk("cold: herd <= pdsh", best <= bw, f"herd cold {hc / bw:.2f}, --no-multiplex {hn / bw:.2f}")
            others = {t: med_w[t] for t in ("pssh", "clush", "ansible") if t in med_w}
            chk("cold: herd faster than pssh, clush, ansible", all(hc < v for v in others.values()),
                ", ".join(f"{t} {v / bw:.2f}" for t, v in others.items()))
        if "herd-warm" in med_w:
            hw = med_w["herd-warm"]
            chk("warm: herd <= 0.25 x pdsh cold", hw <= 0.25 * bw, f"{hw / bw:.2f}")
            if "pdsh-warm" in med_w:
                chk("warm: herd <= pdsh warm", hw <= med_w["pdsh-warm"], f"herd {hw:.2f} s, pdsh warm {med_w['pdsh-warm']:.2f} s")
        own = [med(by[(n, cmd, t)], "own_peak_kib") / 1024 for t in ("herd-cold", "herd-warm", "herd-nomux") if (n, cmd, t) in by]
        if own and n >= 1000:
            chk("memory: herd own peak < 150 MiB", max(own) < 150, f"{max(own):.0f} MiB (worst herd mode)")

w("## Correctness (herd exec --json, 64 KiB per host, each host's output carries its own address)\n")
w("```\n" + a.attribution.strip() + "\n```\n")
if a.memory:
    js, _, complete = a.memory.partition(" complete=")
    m = json.loads(js)
    own = m["own_peak_kib"] / 1024
    w(f"## Memory run: {a.mem_hosts} hosts x {a.mem_mib} MiB, `herd exec --json > file`\n")
    w(f"- herd's own peak RSS (VmHWM): **{own:.0f} MiB**; whole tree {m['tree_peak_kib'] / 1024:.0f} MiB;"
      f" wall {m['wall_s']:.1f} s; client CPU {m['cpu_s']:.1f} s; complete results {complete}/{a.mem_hosts}; exit {m['exit']}\n")
    targets.append(f"| memory run | herd own peak < 200 MiB at {a.mem_hosts} x {a.mem_mib} MiB | {'met' if own < 200 else '**missed**'} | {own:.0f} MiB |")
w("## Targets\n")
w("| case | target | result | measured |")
w("|---|---|---|---|")
lines.extend(targets)
w("")
open(a.out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
