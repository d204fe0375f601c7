#!/usr/bin/env bash
# Starts a small real-sshd test fleet on loopback for suites that can't use the C# SshFleet fixture (Pester).
# Usage: start-fleet.sh <work dir>   -> prints KEY=VALUE lines (SSH_CONFIG, INVENTORY, PORT, PIDFILE) and returns;
#        start-fleet.sh --stop <work dir>
# Hosts: good-01..good-03 (one sshd, told apart by HostKeyAlias; tags prod/staging), refused-01 (closed port),
# badkey-01 (known_hosts holds a different key: must be refused), noauth-01 (a key that is not authorized).
set -euo pipefail
if [ "${1:-}" = "--stop" ]; then
  dir=$2
  [ -f "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
  exit 0
fi
dir=${1:?usage: start-fleet.sh <work dir>}
mkdir -p "$dir" && chmod 700 "$dir"
sshd=/usr/sbin/sshd
[ -x "$sshd" ] || { echo "start-fleet: $sshd missing (apt-get install openssh-server)" >&2; exit 2; }
[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || true
free_port() { python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1]); s.close()
PY
}
port=$(free_port); closed=$(free_port)
user=$(id -un)
rm -f "$dir"/hostkey* "$dir"/client* "$dir"/other* "$dir"/stranger*
ssh-keygen -q -t ed25519 -N '' -f "$dir/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$dir/otherkey"
ssh-keygen -q -t ed25519 -N '' -f "$dir/client"
ssh-keygen -q -t ed25519 -N '' -f "$dir/stranger"
cp "$dir/client.pub" "$dir/authorized_keys"
cat > "$dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/hostkey
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $dir/sshd.pid
MaxStartups 1000:30:2000
MaxSessions 100
CFG
: > "$dir/known_hosts"
for h in good-01 good-02 good-03 noauth-01; do echo "$h $(cut -d' ' -f1,2 "$dir/hostkey.pub")" >> "$dir/known_hosts"; done
echo "badkey-01 $(cut -d' ' -f1,2 "$dir/otherkey.pub")" >> "$dir/known_hosts"
{
  for h in good-01 good-02 good-03 badkey-01 noauth-01 refused-01; do
    p=$port; key=$dir/client
    [ $h = refused-01 ] && p=$closed
    [ $h = noauth-01 ] && key=$dir/stranger
    printf 'Host %s\n  HostName 127.0.0.1\n  Port %s\n  HostKeyAlias %s\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n\n' \
      "$h" "$p" "$h" "$user" "$key" "$dir/known_hosts"
  done
} > "$dir/ssh_config"
cat > "$dir/inventory.yaml" <<INV
groups:
  web:
    hosts:
      - host: good-01
        tags: [prod, debian12]
      - host: good-02
        tags: [prod]
      - host: good-03
        tags: [staging]
  faults:
    hosts: [badkey-01, noauth-01, refused-01]
INV
"$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log"
for _ in $(seq 50); do [ -s "$dir/sshd.pid" ] && break; sleep 0.1; done
echo "SSH_CONFIG=$dir/ssh_config"
echo "INVENTORY=$dir/inventory.yaml"
echo "PORT=$port"
echo "PIDFILE=$dir/sshd.pid"
