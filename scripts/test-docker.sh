#!/usr/bin/env bash
# The container test: docker/Dockerfile and the compose files in a real engine, the seed's
# flow end to end. Needs root (it starts its own dockerd) and Debian's apt for the engine.
#
#  - dockerd from Debian's docker.io, with its own data root, exec root, socket and pidfile in
#    a temp dir and --iptables=false; stopped by its pid at the end;
#  - no registry is reachable: the base image debian:bookworm-slim is made here with
#    `debootstrap --variant=minbase bookworm` from the machine's mirror, slimmed like the
#    official one (no docs, man pages, locales), cached in ~/.cache/waiaas/docker;
#  - the Dockerfile's builder stage is replaced by the binary built on this host (Debian
#    bookworm, same glibc) through `--build-arg BINARIES=prebuilt`; the runtime stage is the
#    one users get.
#
# Flow: compose up -d -> daemon healthy, and a probe service that `depends_on` it with
# `condition: service_healthy` reaches http://daemon:3100/health -> the auto-provisioned
# /data/recovery.key -> a wallet and a session through the published port -> compose down
# (volume kept) -> up -> wallet and session still there -> down -v -> secrets overlay: the
# password from a secret file, absent from `docker inspect`, /proc/1/environ and the logs ->
# a one-off container on the compose network reaches http://daemon:3100/health.
# The push relay (image `--target relay`, service push-relay under the "relay" profile) runs
# alongside: healthy, /health from the host, uid 1001, a device registered through the
# published port survives `compose restart push-relay` and down/up (its DB is in the named
# volume), and with docker-compose.relay-secrets.yml its API key comes from a secret file.
#
# Exit status: 0 passed, 1 a check failed (the message says which), 77 skipped (not root, or
# dockerd cannot start on this machine).
# Environment: WAIAAS_DOCKER_PROFILE=release (default: what the builder stage compiles) or
# debug (reuses the test suite's build; the image is then larger); WAIAAS_DOCKER_BIN=path to
# use a binary as is (the relay: WAIAAS_DOCKER_RELAY_BIN, default waiaas-relay next to it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$(date +%s)
say() { echo "test-docker: $*"; }
fail() {
    echo "test-docker: FAIL: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || { echo "test-docker: SKIP: needs root (it starts its own dockerd)" >&2; exit 77; }

# --- the engine -----------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io containerd)
[ -x /usr/bin/docker ] || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends docker.io containerd docker-compose debootstrap >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends docker.io containerd docker-compose debootstrap >/dev/null; } ||
        fail "cannot install docker.io containerd docker-compose debootstrap with apt-get"
fi
for tool in curl python3 ip findmnt; do
    command -v $tool >/dev/null || fail "$tool is required"
done
# Debian's client (it has BuildKit), whatever else is first on PATH.
DOCKER=/usr/bin/docker

T=$(mktemp -d /tmp/waiaas-docker.XXXXXX)
P="waiaastest$$"            # compose project name (and a prefix of everything it creates)
CN="$P-daemon"              # the daemon's container name
RCN="$P-relay"              # the relay's container name
IMG="waiaas:test-$$"
RIMG="waiaas-push-relay:test-$$"
DOCKERD_PID=""
COMPOSE_FILES=()
HAD_DOCKER0=0
ip link show docker0 >/dev/null 2>&1 && HAD_DOCKER0=1

cleanup() {
    local rc=$?
    set +e
    if [ -n "$DOCKERD_PID" ]; then
        if [ $rc -ne 0 ] && [ -n "$($DOCKER ps -aq --filter "name=$CN" 2>/dev/null)" ]; then
            echo "--- daemon logs ---" >&2
            $DOCKER logs --tail 40 "$CN" >&2 2>&1
        fi
        if [ $rc -ne 0 ] && [ -n "$($DOCKER ps -aq --filter "name=$RCN" 2>/dev/null)" ]; then
            echo "--- relay logs ---" >&2
            $DOCKER logs --tail 40 "$RCN" >&2 2>&1
        fi
        [ ${#COMPOSE_FILES[@]} -gt 0 ] && (cd "$T/proj" && docker-compose -p "$P" --profile relay "${COMPOSE_FILES[@]}" down -v -t 1 --remove-orphans >/dev/null 2>&1)
        if [ $rc -ne 0 ]; then
            for c in "${P}r-postgres" "${P}r-daemon-1" "${P}r-daemon-2"; do
                [ -n "$($DOCKER ps -aq --filter "name=$c" 2>/dev/null)" ] && { echo "--- $c logs ---" >&2; $DOCKER logs --tail 30 "$c" >&2 2>&1; }
            done
        fi
        [ -f "$T/proj/secrets/postgres_url.txt" ] && (cd "$T/proj" && docker-compose -p "${P}r" -f docker-compose.replicas.yml down -v -t 1 >/dev/null 2>&1)
        $DOCKER ps -aq | xargs -r $DOCKER rm -f >/dev/null 2>&1
        kill "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DOCKERD_PID" 2>/dev/null
    fi
    # Our dockerd's default bridge (never one that existed before it started).
    [ "$HAD_DOCKER0" = 0 ] && ip link del docker0 2>/dev/null
    umount "$T/d/exec/netns/default" 2>/dev/null
    findmnt -rn -o TARGET | grep "^$T/" | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$T"
    if [ $rc -eq 0 ]; then say "cleaned up"; else say "cleaned up after a failure (exit $rc)"; fi
}
trap cleanup EXIT

mkdir -p "$T/d"
dockerd --data-root "$T/d/root" --exec-root "$T/d/exec" --pidfile "$T/d/pid" -H "unix://$T/d/sock" \
    --iptables=false --ip6tables=false >"$T/dockerd.log" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST="unix://$T/d/sock"
# An engine that cannot start here (no overlay filesystem, no cgroups...) is a skip (exit 77),
# with the reason; everything after it is a test.
no_engine() {
    tail -20 "$T/dockerd.log" >&2
    echo "test-docker: SKIP: $*" >&2
    exit 77
}
for _ in $(seq 1 150); do
    $DOCKER version >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || no_engine "dockerd cannot start on this machine (its log is above)"
    sleep 0.2
done
$DOCKER version >/dev/null 2>&1 || no_engine "dockerd did not answer within 30 s"
say "dockerd $($DOCKER version --format '{{.Server.Version}}') up (pid $DOCKERD_PID)"

# --- the base image, without a registry -----------------------------------------------------
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/waiaas/docker"
BASE_TAR="$CACHE/bookworm-minbase.tar"
SLIM_TAR="$CACHE/bookworm-slim.tar"
mkdir -p "$CACHE"
if [ ! -s "$SLIM_TAR" ]; then
    R="$T/rootfs"
    if [ -s "$BASE_TAR" ]; then
        mkdir -p "$R" && tar -C "$R" -xf "$BASE_TAR"
    else
        MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
        [ -n "$MIRROR" ] || fail "no Debian mirror found in /etc/apt"
        say "debootstrap --variant=minbase bookworm from $MIRROR (about 75 s, cached afterwards)"
        debootstrap --variant=minbase bookworm "$R" "$MIRROR" >"$T/debootstrap.log" 2>&1 || { tail -20 "$T/debootstrap.log" >&2; fail "debootstrap failed"; }
        [ -f /etc/apt/sources.list.d/debian.sources ] && cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/"
        tar -C "$R" -cf "$BASE_TAR.partial" . && mv "$BASE_TAR.partial" "$BASE_TAR"
    fi
    # What the official -slim images leave out (debuerreotype's slimify): docs, man pages,
    # locales, and dpkg told not to install them again.
    cat >"$R/etc/dpkg/dpkg.cfg.d/docker" <<'EOC'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOC
    find "$R/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/locale/* "$R"/usr/share/groff/* "$R"/usr/share/lintian/* \
        "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/var/cache/debconf/*-old "$R"/var/log/* 2>/dev/null || true
    tar -C "$R" -cf "$SLIM_TAR.partial" . && mv "$SLIM_TAR.partial" "$SLIM_TAR"
    rm -rf "$R"
fi
$DOCKER import "$SLIM_TAR" debian:bookworm-slim >/dev/null || fail "docker import of the base image failed"

# --- the binary and the image ---------------------------------------------------------------
PROFILE=${WAIAAS_DOCKER_PROFILE:-release}
BINS=(-p waiaas-daemon --bin waiaas -p waiaas-relay --bin waiaas-relay)
if [ -n "${WAIAAS_DOCKER_BIN:-}" ]; then
    BIN=$WAIAAS_DOCKER_BIN
    RBIN=${WAIAAS_DOCKER_RELAY_BIN:-$(dirname "$BIN")/waiaas-relay}
else
    TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    if [ "$PROFILE" = release ]; then
        say "cargo build --release --locked ${BINS[*]} (as the builder stage does)"
        cargo build --release --locked "${BINS[@]}"
    else
        cargo build --locked "${BINS[@]}"
    fi
    BIN=$TARGET_DIR/$PROFILE/waiaas
    RBIN=$TARGET_DIR/$PROFILE/waiaas-relay
fi
[ -x "$BIN" ] || fail "no binary at $BIN"
[ -x "$RBIN" ] || fail "no relay binary at $RBIN"
# A build context of its own: docker/prebuilt/{waiaas,waiaas-relay}, as the prebuilt stage
# reads them.
mkdir -p "$T/ctx/docker/prebuilt"
cp "$BIN" "$T/ctx/docker/prebuilt/waiaas"
cp "$RBIN" "$T/ctx/docker/prebuilt/waiaas-relay"
if command -v strip >/dev/null; then strip "$T/ctx/docker/prebuilt/waiaas" "$T/ctx/docker/prebuilt/waiaas-relay"; fi # as the builder stage does
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
B0=$(date +%s)
DOCKER_BUILDKIT=1 $DOCKER build -q --network=host --build-arg BINARIES=prebuilt --build-arg REVISION="$REV" \
    -f "$ROOT/docker/Dockerfile" -t "$IMG" "$T/ctx" >"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&2; fail "docker build failed"; }
B1=$(date +%s)
DOCKER_BUILDKIT=1 $DOCKER build -q --network=host --build-arg BINARIES=prebuilt --build-arg REVISION="$REV" --target relay \
    -f "$ROOT/docker/Dockerfile" -t "$RIMG" "$T/ctx" >"$T/build.log" 2>&1 || { tail -30 "$T/build.log" >&2; fail "docker build --target relay failed"; }
say "images built in $((B1 - B0)) s (daemon) and $(($(date +%s) - B1)) s (relay)"

# The image as specified.
[ "$($DOCKER image inspect -f '{{.Config.User}}' "$IMG")" = "1001:1001" ] || fail "image user is not 1001:1001"
$DOCKER image inspect -f '{{json .Config.ExposedPorts}}' "$IMG" | grep -q '"3100/tcp"' || fail "3100 not exposed"
$DOCKER image inspect -f '{{json .Config.Healthcheck.Test}}' "$IMG" | grep -q '"waiaas","healthcheck"' || fail "HEALTHCHECK is not waiaas healthcheck"
$DOCKER image inspect -f '{{json .Config.Volumes}}' "$IMG" | grep -q '"/data"' || fail "/data is not a volume"
$DOCKER image inspect -f '{{json .Config.Env}}' "$IMG" | grep -q 'WAIAAS_DATA_DIR=/data' || fail "WAIAAS_DATA_DIR not set"
$DOCKER image inspect -f '{{index .Config.Labels "org.opencontainers.image.title"}}' "$IMG" | grep -q waiaas || fail "OCI labels missing"
$DOCKER run --rm --entrypoint /bin/sh "$IMG" -c '! command -v curl && ! command -v wget && test -s /etc/ssl/certs/ca-certificates.crt' >/dev/null ||
    fail "curl or wget in the image, or no CA bundle"
# The relay image: same base, its own binary, entrypoint and healthcheck.
[ "$($DOCKER image inspect -f '{{.Config.User}}' "$RIMG")" = "1001:1001" ] || fail "relay image user is not 1001:1001"
$DOCKER image inspect -f '{{json .Config.ExposedPorts}}' "$RIMG" | grep -q '"3200/tcp"' || fail "relay image: 3200 not exposed"
$DOCKER image inspect -f '{{json .Config.Healthcheck.Test}}' "$RIMG" | grep -q '"waiaas-relay","healthcheck"' || fail "relay HEALTHCHECK is not waiaas-relay healthcheck"
$DOCKER image inspect -f '{{json .Config.Entrypoint}}' "$RIMG" | grep -q '"waiaas-relay"' || fail "relay entrypoint is not waiaas-relay"
$DOCKER image inspect -f '{{json .Config.Volumes}}' "$RIMG" | grep -q '"/data"' || fail "relay image: /data is not a volume"
for e in RELAY_CONFIG=/data/config.toml RELAY_DB=/data/relay.db RELAY_HOST=0.0.0.0; do
    $DOCKER image inspect -f '{{json .Config.Env}}' "$RIMG" | grep -q "\"$e\"" || fail "relay image: $e not set"
done
$DOCKER image inspect -f '{{index .Config.Labels "org.opencontainers.image.title"}}' "$RIMG" | grep -qx waiaas-push-relay || fail "relay image: OCI title label"
IMG_BYTES=$($DOCKER image inspect -f '{{.Size}}' "$IMG")
RIMG_BYTES=$($DOCKER image inspect -f '{{.Size}}' "$RIMG")
BASE_BYTES=$($DOCKER image inspect -f '{{.Size}}' debian:bookworm-slim)
mb() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1000000}'; }
say "image $(mb "$IMG_BYTES") MB (base debian:bookworm-slim here $(mb "$BASE_BYTES") MB, ours on top $(mb $((IMG_BYTES - BASE_BYTES))) MB)"
say "relay image $(mb "$RIMG_BYTES") MB (ours on top $(mb $((RIMG_BYTES - BASE_BYTES))) MB)"

# --- compose --------------------------------------------------------------------------------
# The shipped compose files, unchanged, in a project folder of their own (so its .env and
# secrets/ never touch the repository), plus a test-only probe service.
mkdir -p "$T/proj"
cp docker/docker-compose.yml docker/docker-compose.secrets.yml docker/docker-compose.relay-secrets.yml docker/docker-compose.replicas.yml docker/defaults.env "$T/proj/"
# The relay's config, as an operator writes it from config.example.toml (the provider is
# never called here: no push is sent).
RELAY_KEY="relay-test-key-$$"
cat >"$T/proj/relay.toml" <<EOC
[relay.server]
port = 3200
host = "127.0.0.1"   # RELAY_HOST=0.0.0.0 of the image and the compose file wins
api_key = "$RELAY_KEY"
[relay.push]
provider = "pushwoosh"
[relay.push.pushwoosh]
api_token = "test-token"
application_code = "TEST-00000"
EOC
chown 1001:1001 "$T/proj/relay.toml" && chmod 600 "$T/proj/relay.toml"
cat >"$T/proj/docker-compose.probe.yml" <<'EOC'
services:
  probe:
    image: ${WAIAAS_IMAGE}
    entrypoint: ["waiaas", "--base-url", "http://daemon:3100", "healthcheck"]
    restart: "no"
    depends_on:
      daemon:
        condition: service_healthy
EOC
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export WAIAAS_IMAGE="$IMG" WAIAAS_HOST_PORT="$PORT" WAIAAS_CONTAINER_NAME="$CN"
export WAIAAS_RELAY_IMAGE="$RIMG" WAIAAS_RELAY_HOST_PORT="$RPORT" WAIAAS_RELAY_CONTAINER_NAME="$RCN"
URL="http://127.0.0.1:$PORT"
RURL="http://127.0.0.1:$RPORT"
cd "$T/proj"
# Every compose command with the relay's profile, so that up, restart and down include it.
compose() { docker-compose -p "$P" --profile relay "${COMPOSE_FILES[@]}" "$@"; }

now_ms() { date +%s%3N; }
# Wait until a container ($2, default the daemon's) is healthy; print the seconds it took
# since $1 (ms).
wait_healthy() {
    local since=$1 c=${2:-$CN} s
    for _ in $(seq 1 600); do
        s=$($DOCKER inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null || echo missing)
        [ "$s" = healthy ] && { awk -v a="$since" -v b="$(now_ms)" 'BEGIN{printf "%.1f", (b-a)/1000}'; return 0; }
        [ "$s" = unhealthy ] && break
        sleep 0.1
    done
    fail "$c not healthy (last status: $s)"
}
# curl: `req METHOD PATH [JSON] [extra curl args]` prints "<status> <body>".
req() {
    local m=$1 path=$2 body=${3:-}
    shift 3 || shift $#
    local args=(-sS -m 10 -o "$T/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' "$@")
    [ -n "$body" ] && args+=(-d "$body")
    local code
    code=$(curl "${args[@]}" "${BASE:-$URL}$path") || fail "curl $m ${BASE:-$URL}$path failed"
    echo "$code $(cat "$T/body")"
}
# The same against the relay's published port.
rreq() { BASE=$RURL req "$@"; }
# Wait until the relay answers GET /health on its published port (after a (re)start).
wait_relay_up() {
    for _ in $(seq 1 300); do
        curl -sf -m 2 -o /dev/null "$RURL/health" && return 0
        sleep 0.1
    done
    fail "the relay did not answer $RURL/health within 30 s"
}
json() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().split(" ",1)[1]); print(eval("d"+sys.argv[1]))' "$1"; }

# 1. compose up -d, without any .env: the daemon and the probe that waits for it.
COMPOSE_FILES=(-f docker-compose.yml -f docker-compose.probe.yml)
U0=$(now_ms)
compose up -d >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; fail "compose up -d"; }
UP_HEALTHY=$(wait_healthy "$U0")
say "compose up -d -> daemon healthy in $UP_HEALTHY s"
PROBE=$(compose ps -q probe)
[ -n "$PROBE" ] || fail "the probe service was not created"
[ "$($DOCKER wait "$PROBE")" = 0 ] || { $DOCKER logs "$PROBE" >&2; fail "the probe (depends_on: service_healthy) did not reach http://daemon:3100/health"; }
$DOCKER logs "$PROBE" 2>&1 | grep -q "healthy: http://daemon:3100/health" || fail "probe output: $($DOCKER logs "$PROBE" 2>&1)"
PROBE_START=$($DOCKER inspect -f '{{.State.StartedAt}}' "$PROBE")
HEALTHY_AT=$($DOCKER inspect -f '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End}}{{"\n"}}{{end}}{{end}}' "$CN" | head -1)
python3 - "$PROBE_START" "$HEALTHY_AT" <<'EOP' || fail "the probe started ($PROBE_START) before the daemon was healthy ($HEALTHY_AT)"
import re, sys
# StartedAt is RFC 3339 ("...T15:40:01.12Z"), a health log's End Go's time format
# ("... 15:40:01.12 +0000 UTC"); both are UTC.
def t(s):
    m = re.search(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?", s)
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    return (y, mo, d, h, mi, se + float(m.group(7) or 0))
sys.exit(0 if t(sys.argv[1]) >= t(sys.argv[2]) else 1)
EOP
say "probe started after the daemon was healthy and reached http://daemon:3100/health"

# The process: uid 1001, /data owned by it.
$DOCKER exec "$CN" sh -c 'grep -q "^Uid:[[:space:]]*1001" /proc/1/status' || fail "the daemon does not run as uid 1001"
[ "$($DOCKER exec "$CN" stat -c '%u:%g' /data)" = "1001:1001" ] || fail "/data is not owned by 1001:1001"

# The relay, started with the daemon: healthy through `waiaas-relay healthcheck`, /health
# from the host (so it listens on 0.0.0.0 although relay.toml says 127.0.0.1), uid 1001, its
# DB in the named volume: a device registered before `compose restart push-relay` is there after.
RELAY_HEALTHY=$(wait_healthy "$U0" "$RCN")
r=$(rreq GET /health "")
[ "${r%% *}" = 200 ] && [ "$(echo "$r" | json "['status']")" = ok ] || fail "relay GET /health from the host: $r"
$DOCKER exec "$RCN" sh -c 'grep -q "^Uid:[[:space:]]*1001" /proc/1/status' || fail "the relay does not run as uid 1001"
$DOCKER inspect -f '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}' "$RCN" | grep -q "${P}_relay-data:/data" || fail "the volume relay-data is not at /data"
PUSH_TOKEN="docker-push-token-$$"
DEVICE="{\"walletName\":\"dcent\",\"pushToken\":\"$PUSH_TOKEN\",\"platform\":\"android\"}"
r=$(rreq POST /devices "$DEVICE" -H "X-API-Key: wrong-key")
[ "${r%% *}" = 401 ] || fail "relay POST /devices with a wrong X-API-Key was not refused: $r"
r=$(rreq POST /devices "$DEVICE" -H "X-API-Key: $RELAY_KEY")
[ "${r%% *}" = 201 ] || fail "relay POST /devices: $r"
SUB=$(echo "$r" | json "['subscription_token']")
[ "$($DOCKER exec "$RCN" stat -c '%u' /data/relay.db)" = 1001 ] || fail "no /data/relay.db owned by 1001 in the relay's volume"
compose restart -t 10 push-relay >"$T/restart.log" 2>&1 || { cat "$T/restart.log" >&2; fail "compose restart push-relay"; }
wait_relay_up
r=$(rreq GET "/devices/$PUSH_TOKEN/subscription-token" "" -H "X-API-Key: $RELAY_KEY")
[ "${r%% *}" = 200 ] && [ "$(echo "$r" | json "['subscription_token']")" = "$SUB" ] || fail "the relay lost the device across compose restart push-relay: $r"
say "relay healthy in $RELAY_HEALTHY s; /health ok through 127.0.0.1:$RPORT; uid 1001; device kept across compose restart push-relay (relay.db in ${P}_relay-data)"

# 2. The auto-provisioned master password.
PW=$($DOCKER exec "$CN" cat /data/recovery.key) || fail "docker exec $CN cat /data/recovery.key"
[ ${#PW} -ge 16 ] || fail "recovery.key holds no password"
[ "$($DOCKER exec "$CN" stat -c '%a' /data/recovery.key)" = 600 ] || fail "recovery.key is not mode 0600"
$DOCKER logs "$CN" 2>&1 | grep -qF "$PW" && fail "the generated master password is in the container log"

# 3. A wallet and a session through the published port.
r=$(req GET /health "")
[ "${r%% *}" = 200 ] || fail "GET /health: $r"
r=$(req POST /v1/wallets '{"name":"docker-wallet","chain":"ethereum","environment":"testnet","createSession":false}' -H "X-Master-Password: $PW")
[ "${r%% *}" = 201 ] || fail "POST /v1/wallets: $r"
WALLET=$(echo "$r" | json "['id']")
r=$(req POST /v1/sessions "{\"walletId\":\"$WALLET\"}" -H "X-Master-Password: $PW")
[ "${r%% *}" = 201 ] || fail "POST /v1/sessions: $r"
TOKEN=$(echo "$r" | json "['token']")
[[ $TOKEN == wai_sess_* ]] || fail "session token: $TOKEN"
r=$(req GET /v1/wallet/address "" -H "Authorization: Bearer $TOKEN")
[ "${r%% *}" = 200 ] || fail "GET /v1/wallet/address with the session: $r"
ADDRESS=$(echo "$r" | json "['address']")
r=$(req POST /v1/wallets '{"name":"x"}' -H "X-Master-Password: wrong-password")
[ "${r%% *}" = 401 ] || fail "a wrong master password was not refused: $r"
say "wallet $WALLET ($ADDRESS) and a session created through 127.0.0.1:$PORT"

# 4. compose down without -v, up: the wallet and the session survive in the named volume.
# The daemon stops on SIGTERM by itself (not killed after the timeout) and exits 0.
S0=$(now_ms)
compose stop -t 20 daemon >"$T/down.log" 2>&1 || { cat "$T/down.log" >&2; fail "compose stop"; }
STOP_S=$(awk -v a="$S0" -v b="$(now_ms)" 'BEGIN{printf "%.1f", (b-a)/1000}')
[ "$($DOCKER inspect -f '{{.State.ExitCode}}' "$CN")" = 0 ] || fail "the daemon exited with $($DOCKER inspect -f '{{.State.ExitCode}}' "$CN") on SIGTERM"
awk -v s="$STOP_S" 'BEGIN{exit !(s < 10)}' || fail "the daemon took $STOP_S s to stop on SIGTERM"
compose down -t 10 >"$T/down.log" 2>&1 || { cat "$T/down.log" >&2; fail "compose down"; }
$DOCKER volume inspect "${P}_waiaas-data" >/dev/null 2>&1 || fail "compose down removed the named volume"
U1=$(now_ms)
compose up -d >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; fail "compose up -d (second)"; }
RE_HEALTHY=$(wait_healthy "$U1")
r=$(req GET /v1/wallets "" -H "X-Master-Password: $PW")
[ "${r%% *}" = 200 ] && echo "$r" | grep -q "$WALLET" || fail "the wallet is gone after down/up: $r"
r=$(req GET /v1/wallet/address "" -H "Authorization: Bearer $TOKEN")
[ "${r%% *}" = 200 ] && [ "$(echo "$r" | json "['address']")" = "$ADDRESS" ] || fail "the session is gone after down/up: $r"
say "SIGTERM: exit 0 in $STOP_S s; down/up: wallet and session still there (healthy again in $RE_HEALTHY s)"
wait_relay_up
r=$(rreq GET "/devices/$PUSH_TOKEN/subscription-token" "" -H "X-API-Key: $RELAY_KEY")
[ "${r%% *}" = 200 ] && [ "$(echo "$r" | json "['subscription_token']")" = "$SUB" ] || fail "the relay lost the device across down/up: $r"
say "down/up: the relay's device still there"
compose down -v -t 10 >/dev/null 2>&1 || fail "compose down -v"
$DOCKER volume inspect "${P}_waiaas-data" >/dev/null 2>&1 && fail "compose down -v kept the volume"
$DOCKER volume inspect "${P}_relay-data" >/dev/null 2>&1 && fail "compose down -v kept the relay's volume"

# 5. Secrets overlay, with an optional .env: the password comes from a secret file.
SECRET="s3cret-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
mkdir -p secrets
(umask 077 && echo "$SECRET" >secrets/master_password.txt)
chown 1001:1001 secrets/master_password.txt
printf 'WAIAAS_ENV_FILE=.env\nWAIAAS_DAEMON_LOG_LEVEL=debug\nWAIAAS_SECURITY_MAX_SESSIONS_PER_WALLET=7\n' >.env
RSECRET="relay-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
(umask 077 && echo "$RSECRET" >secrets/relay_api_key.txt)
chown 1001:1001 secrets/relay_api_key.txt
COMPOSE_FILES=(-f docker-compose.yml -f docker-compose.secrets.yml -f docker-compose.relay-secrets.yml)
U2=$(now_ms)
compose up -d >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; fail "compose up -d with the secrets overlay"; }
SECRETS_HEALTHY=$(wait_healthy "$U2")
$DOCKER exec "$CN" test -e /data/recovery.key && fail "recovery.key written although the password came from a secret"
r=$(req POST /v1/wallets '{"name":"secret-wallet","chain":"solana","environment":"testnet","createSession":false}' -H "X-Master-Password: $SECRET")
[ "${r%% *}" = 201 ] || fail "the password from the secret file was not the master password: $r"
$DOCKER inspect "$CN" >"$T/inspect.json"
grep -q "WAIAAS_MASTER_PASSWORD_FILE=/run/secrets/waiaas_master_password" "$T/inspect.json" || fail "docker inspect does not show the _FILE variable (wrong container?)"
grep -q "WAIAAS_DAEMON_LOG_LEVEL=debug" "$T/inspect.json" && grep -q "WAIAAS_SECURITY_MAX_SESSIONS_PER_WALLET=7" "$T/inspect.json" ||
    fail "the optional .env was not loaded"
r=$(req GET /v1/admin/settings "" -H "X-Master-Password: $SECRET")
[ "${r%% *}" = 200 ] && [ "$(echo "$r" | json "['security']['max_sessions_per_wallet']")" = 7 ] ||
    fail "WAIAAS_SECURITY_MAX_SESSIONS_PER_WALLET=7 from .env did not reach the daemon: $r"
grep -qF "$SECRET" "$T/inspect.json" && fail "docker inspect shows the master password"
$DOCKER exec "$CN" cat /proc/1/environ | tr '\0' '\n' >"$T/environ"
grep -q "^WAIAAS_DATA_DIR=/data" "$T/environ" || fail "/proc/1/environ is not the daemon's"
grep -qF "$SECRET" "$T/environ" && fail "/proc/1/environ of the daemon holds the master password"
$DOCKER logs "$CN" >"$T/daemon.log" 2>&1
grep -qF "$SECRET" "$T/daemon.log" && fail "the daemon's log (debug level) holds the master password"
say "secrets overlay: password from /run/secrets, not in docker inspect, /proc/1/environ or the log (healthy in $SECRETS_HEALTHY s)"
# The relay's API key from its secret file: it replaces relay.toml's, and shows nowhere.
wait_relay_up
r=$(rreq POST /devices "$DEVICE" -H "X-API-Key: $RSECRET")
[ "${r%% *}" = 201 ] || fail "the relay's API key from the secret file was not accepted: $r"
r=$(rreq POST /devices "$DEVICE" -H "X-API-Key: $RELAY_KEY")
[ "${r%% *}" = 401 ] || fail "relay.toml's api_key still accepted although RELAY_API_KEY_FILE is set: $r"
$DOCKER inspect "$RCN" >"$T/rinspect.json"
grep -q "RELAY_API_KEY_FILE=/run/secrets/relay_api_key" "$T/rinspect.json" || fail "docker inspect does not show RELAY_API_KEY_FILE (wrong container?)"
grep -qF "$RSECRET" "$T/rinspect.json" && fail "docker inspect shows the relay's API key"
$DOCKER exec "$RCN" cat /proc/1/environ | tr '\0' '\n' | grep -qF "$RSECRET" && fail "/proc/1/environ of the relay holds its API key"
$DOCKER logs "$RCN" 2>&1 | grep -qF "$RSECRET" && fail "the relay's log holds its API key"
say "relay secrets overlay: API key from /run/secrets/relay_api_key (relay.toml's refused), not in docker inspect, /proc/1/environ or the log"

# 6. A one-off container on the compose network reaches the daemon by its service name.
NET=$($DOCKER inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "$CN")
OUT=$($DOCKER run --rm --network "$NET" --entrypoint waiaas "$IMG" --base-url http://daemon:3100 healthcheck 2>&1) ||
    fail "a one-off container on $NET could not reach http://daemon:3100/health: $OUT"
say "one-off container on $NET: $OUT"
OUT=$($DOCKER run --rm --network "$NET" "$RIMG" healthcheck --url http://push-relay:3200 2>&1) ||
    fail "a one-off container on $NET could not reach http://push-relay:3200/health: $OUT"
say "one-off container on $NET: $OUT"

compose down -v -t 10 >/dev/null 2>&1 || fail "compose down -v (secrets)"

# 7. Replicas (docker-compose.replicas.yml): PostgreSQL and two daemons sharing the key files.
# No registry: PostgreSQL is a local stand-in for the official image (tests/docker/postgres),
# built from Debian's package once and cached by the hash of its files.
PG_TAG="postgres:16-bookworm"
PG_HASH=$(cat "$ROOT/tests/docker/postgres/Dockerfile" "$ROOT/tests/docker/postgres/docker-entrypoint.sh" | sha256sum | cut -c1-16)
PG_TAR="$CACHE/postgres-standin-$PG_HASH.tar"
if [ -s "$PG_TAR" ]; then
    $DOCKER load -i "$PG_TAR" >/dev/null || fail "docker load of the cached PostgreSQL stand-in failed"
else
    DOCKER_BUILDKIT=1 $DOCKER build -q --network=host -t "$PG_TAG" "$ROOT/tests/docker/postgres" >"$T/pgbuild.log" 2>&1 ||
        { tail -30 "$T/pgbuild.log" >&2; fail "docker build of the PostgreSQL stand-in failed"; }
    rm -f "$CACHE"/postgres-standin-*.tar
    $DOCKER save "$PG_TAG" -o "$PG_TAR.partial" && mv "$PG_TAR.partial" "$PG_TAR"
fi
PGPW=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
(umask 077 && printf %s "$PGPW" >secrets/postgres_password.txt && printf %s "postgres://waiaas:$PGPW@postgres:5432/waiaas" >secrets/postgres_url.txt)
chown 1001:1001 secrets/postgres_url.txt
R1PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
R2PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export WAIAAS_REPLICAS_NAME="${P}r" WAIAAS_REPLICA_1_PORT="$R1PORT" WAIAAS_REPLICA_2_PORT="$R2PORT"
replicas() { docker-compose -p "${P}r" -f docker-compose.replicas.yml "$@"; }
U0=$(now_ms)
replicas up -d >"$T/replicas.log" 2>&1 || { cat "$T/replicas.log" >&2; fail "compose -f docker-compose.replicas.yml up -d"; }
R1_HEALTHY=$(wait_healthy "$U0" "${P}r-daemon-1")
R2_HEALTHY=$(wait_healthy "$U0" "${P}r-daemon-2")
say "replicas: postgres + two daemons up, healthy in $R1_HEALTHY s and $R2_HEALTHY s"
URL1="http://127.0.0.1:$R1PORT" URL2="http://127.0.0.1:$R2PORT"
# A wallet made through one is listed by the other (one database), its key file is in the
# other's keystore (one volume), and a session made through the second works on the first.
r=$(BASE=$URL1 req POST /v1/wallets '{"name": "replicated", "chain": "ethereum", "createSession": false}' -H "X-Master-Password: $SECRET")
[ "${r%% *}" = 201 ] || fail "replicas: POST /v1/wallets on daemon-1: $r"
WID=$(echo "$r" | json "['id']")
r=$(BASE=$URL2 req GET /v1/wallets "" -H "X-Master-Password: $SECRET")
[ "${r%% *}" = 200 ] && echo "$r" | grep -q "$WID" || fail "replicas: daemon-2 does not list the wallet made on daemon-1: $r"
$DOCKER exec "${P}r-daemon-2" ls /data/keystore | grep -q "^$WID.json$" || fail "replicas: daemon-2's keystore does not hold the wallet's key file"
r=$(BASE=$URL2 req POST /v1/sessions "{\"walletId\": \"$WID\"}" -H "X-Master-Password: $SECRET")
[ "${r%% *}" = 201 ] || fail "replicas: POST /v1/sessions on daemon-2: $r"
TOKEN=$(echo "$r" | json "['token']")
r=$(BASE=$URL1 req GET /v1/wallet/address "" -H "Authorization: Bearer $TOKEN")
[ "${r%% *}" = 200 ] || fail "replicas: the session made on daemon-2 is refused on daemon-1: $r"
# The kill switch activated through daemon-1 locks daemon-2 within a second.
K0=$(now_ms)
r=$(BASE=$URL1 req POST /v1/admin/kill-switch "" -H "X-Master-Password: $SECRET")
[ "${r%% *}" = 200 ] || fail "replicas: kill switch on daemon-1: $r"
for _ in $(seq 1 100); do
    r=$(BASE=$URL2 req GET /v1/wallet/address "" -H "Authorization: Bearer $TOKEN")
    [ "${r%% *}" = 503 ] && break
    sleep 0.01
done
LOCKED_MS=$(($(now_ms) - K0))
[ "${r%% *}" = 503 ] && [ "$LOCKED_MS" -le 1000 ] || fail "replicas: daemon-2 not locked within 1 s of the activation on daemon-1 ($LOCKED_MS ms): $r"
# SIGKILL one replica: the other goes on serving.
$DOCKER kill -s KILL "${P}r-daemon-1" >/dev/null
r=$(BASE=$URL2 req GET /v1/admin/kill-switch "")
[ "${r%% *}" = 200 ] || fail "replicas: daemon-2 stopped serving when daemon-1 was killed: $r"
say "replicas: one database and one keystore (wallet made on daemon-1 listed and keyed on daemon-2, session from daemon-2 works on daemon-1), kill switch through daemon-1 locked daemon-2 in $LOCKED_MS ms, daemon-2 serves after daemon-1 was SIGKILLed"
replicas down -v -t 5 >/dev/null 2>&1 || fail "compose -f docker-compose.replicas.yml down -v"
cd "$ROOT"
say "PASS in $(($(date +%s) - T0)) s: image $(mb "$IMG_BYTES") MB, relay image $(mb "$RIMG_BYTES") MB, compose up -> healthy $UP_HEALTHY s (relay $RELAY_HEALTHY s; daemon again after down/up $RE_HEALTHY s, with secrets $SECRETS_HEALTHY s; replicas $R2_HEALTHY s)"
