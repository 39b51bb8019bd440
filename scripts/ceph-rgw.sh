#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with a RADOS Gateway (S3) on 127.0.0.1, from Debian's
# packages, for the mirror tests (issue 15) and .ci/run. Everything it makes lives in DIR.
#
#   scripts/ceph-rgw.sh install      install radosgw, ceph-mon, ceph-osd, ceph-common when missing
#   scripts/ceph-rgw.sh start DIR    start one mon, one memstore OSD and radosgw; print key=value lines
#   scripts/ceph-rgw.sh start-rgw DIR  start radosgw again (same port) after it was killed
#   scripts/ceph-rgw.sh stop DIR     kill every daemon started in DIR and remove DIR
#
# `start` prints, one per line: endpoint=http://127.0.0.1:PORT, access_key=…, secret_key=…,
# region=…, conf=DIR/ceph.conf, mon_pid=…, osd_pid=…, rgw_pid=… (the pid files are DIR/*.pid).
#
# The daemons trust each other without authentication (auth … required = none: one host, one
# throwaway cluster, nothing listens beyond 127.0.0.1); radosgw still checks S3 signatures against
# the user it creates. The OSD keeps its objects in memory (osd objectstore = memstore): `stop`
# loses them, which is the point. One replica per pool (osd pool default size = 1).
set -euo pipefail

ACCESS_KEY=${GUZHENG_RGW_ACCESS_KEY:-GUZHENGTESTACCESSKEY}
SECRET_KEY=${GUZHENG_RGW_SECRET_KEY:-guzheng-test-secret-key-0123456789abcdef}
REGION=us-east-1
PACKAGES=(radosgw ceph-mon ceph-osd ceph-common)

# die prints to fd 3, the script's stderr, even where a caller silenced stderr (wait_for).
exec 3>&2
die() {
  echo "ceph-rgw: $*" >&3
  exit 1
}

install_packages() {
  local missing=()
  command -v radosgw >/dev/null 2>&1 || missing+=(radosgw)
  command -v ceph-mon >/dev/null 2>&1 || missing+=(ceph-mon)
  command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
  command -v ceph >/dev/null 2>&1 || missing+=(ceph-common)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}, and not root without sudo: install them (apt-get install ${missing[*]})"
    sudo=(sudo)
  fi
  echo "ceph-rgw: installing ${missing[*]} (Debian packages)" >&2
  "${sudo[@]}" apt-get update -qq >/dev/null || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "FAILED to install ${missing[*]}"
}

# free_port prints a TCP port free on 127.0.0.1 (the kernel picks it).
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

# answers URL: an HTTP server answers at URL (any status).
answers() {
  node -e "fetch(process.argv[1]).then(() => process.exit(0), () => process.exit(1))" "$1"
}

# wait_for SECONDS WHAT COMMAND...: retry COMMAND every 0.2 s until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${limit}s waiting for $what (logs: $DIR/log)"
    sleep 0.2
  done
}

# spawn NAME COMMAND...: run a daemon in the foreground of its own session, detached from this
# shell, its output in DIR/log/NAME.out and its pid in DIR/NAME.pid.
spawn() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$DIR/log/$name.out" 2>&1 3>&- &
  echo $! >"$DIR/$name.pid"
}

# running PID: the process exists and is not a zombie (PID 1 here may not reap our orphans).
running() {
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

alive() {
  [ -f "$DIR/$1.pid" ] && running "$(cat "$DIR/$1.pid")"
}

ceph_cmd() {
  ceph -c "$DIR/ceph.conf" --connect-timeout 10 "$@"
}

write_conf() {
  local fsid=$1 mon_port=$2 rgw_port=$3
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
# Daemons ask the monitor for a "secure" session by default, which needs cephx.
ms mon client mode = crc secure
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file =
log to stderr = false
err to stderr = true
mon cluster log file = $DIR/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
rbd default features = 0

[mon]
mon data = $DIR/mon/\$name
mon data avail crit = 1
mon data avail warn = 2

[osd]
osd data = $DIR/osd/\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd crush update on start = true
osd heartbeat grace = 60

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw dns name = localhost
rgw data = $DIR/rgw
rgw enable usage log = false
rgw thread pool size = 64
EOF
}

# rgw_serves URL: radosgw answers at URL; dies at once if radosgw has exited.
rgw_serves() {
  alive rgw || die "radosgw exited: $(tail -n 3 "$DIR/log/rgw.out" 2>/dev/null || true) (logs: $DIR/log)"
  answers "$1"
}

start_rgw() {
  alive rgw && die "radosgw is already running in $DIR"
  spawn rgw radosgw -f -c "$DIR/ceph.conf" -n client.rgw
  local port
  port=$(cat "$DIR/rgw.port")
  # Any HTTP answer (an anonymous ListBuckets is 200 with an empty list) means it serves.
  wait_for 60 "radosgw on 127.0.0.1:$port" rgw_serves "http://127.0.0.1:$port/"
}

print_lines() {
  echo "endpoint=http://127.0.0.1:$(cat "$DIR/rgw.port")"
  echo "access_key=$ACCESS_KEY"
  echo "secret_key=$SECRET_KEY"
  echo "region=$REGION"
  echo "conf=$DIR/ceph.conf"
  for d in mon osd rgw; do echo "${d}_pid=$(cat "$DIR/$d.pid")"; done
}

start() {
  install_packages
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  [ -e "$DIR/ceph.conf" ] && die "$DIR already holds a cluster (stop it first)"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon/mon.a" "$DIR/osd/0" "$DIR/rgw"
  local fsid mon_port rgw_port osd_uuid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  mon_port=$(free_port)
  rgw_port=$(free_port)
  while [ "$rgw_port" = "$mon_port" ]; do rgw_port=$(free_port); done
  echo "$rgw_port" >"$DIR/rgw.port"
  write_conf "$fsid" "$mon_port" "$rgw_port"
  # A failed start leaves no daemon behind (DIR stays, with the logs).
  trap '[ "${started:-}" = 1 ] || kill_daemons' EXIT

  # The monitor: a one-member monmap, then its store.
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$DIR/ceph.conf" --mkfs -i a --monmap "$DIR/monmap" >"$DIR/log/mon-mkfs.out" 2>&1 ||
    die "ceph-mon --mkfs failed: $(tail -5 "$DIR/log/mon-mkfs.out")"
  spawn mon ceph-mon -f -c "$DIR/ceph.conf" -i a
  wait_for 30 "the monitor" ceph_cmd mon stat

  # The OSD: registered with the monitor, formatted (memstore), started; it puts itself in the
  # CRUSH map under its host at boot (osd crush update on start).
  local id
  id=$(ceph_cmd osd new "$osd_uuid")
  [ "$id" = 0 ] || die "ceph osd new gave id $id, want 0"
  ceph-osd -c "$DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.out" 2>&1 ||
    die "ceph-osd --mkfs failed: $(tail -5 "$DIR/log/osd-mkfs.out")"
  spawn osd ceph-osd -f -c "$DIR/ceph.conf" -i 0
  wait_for 60 "the OSD to be up" sh -c "ceph -c '$DIR/ceph.conf' osd dump | grep -q '^osd.0 up'"

  # The S3 user exists before radosgw serves (radosgw-admin creates the pools it needs).
  radosgw-admin -c "$DIR/ceph.conf" -n client.rgw user create --uid guzheng-test --display-name "Guzheng tests" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >"$DIR/log/user-create.out" 2>&1 ||
    die "radosgw-admin user create failed: $(tail -5 "$DIR/log/user-create.out")"
  start_rgw
  started=1
  print_lines
}

# kill_daemons SIGKILLs the daemons started in DIR and waits until they are gone.
kill_daemons() {
  local d pid
  for d in rgw osd mon; do
    if [ -f "$DIR/$d.pid" ]; then
      pid=$(cat "$DIR/$d.pid")
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  for d in rgw osd mon; do
    if [ -f "$DIR/$d.pid" ]; then
      pid=$(cat "$DIR/$d.pid")
      local deadline=$((SECONDS + 30))
      while running "$pid"; do
        [ $SECONDS -lt $deadline ] || die "$d (pid $pid) survived SIGKILL for 30 s"
        sleep 0.05
      done
    fi
  done
}

stop() {
  [ -d "$DIR" ] || return 0
  [ -f "$DIR/ceph.conf" ] || die "$DIR holds no cluster started by this script; not removing it"
  kill_daemons
  rm -rf "$DIR"
}

cmd=${1:-}
case "$cmd" in
  install) install_packages ;;
  start | start-rgw | stop)
    [ $# -eq 2 ] || die "usage: $0 $cmd DIR"
    DIR=$2
    case "$cmd" in
      start) start ;;
      start-rgw)
        DIR=$(cd "$DIR" && pwd)
        start_rgw
        print_lines
        ;;
      stop) stop ;;
    esac
    ;;
  *) die "usage: $0 install | start DIR | start-rgw DIR | stop DIR" ;;
esac
