#!/bin/sh
# make image: build Strata's image with podman and smoke-test it.
#
# No image registry is reachable from our machines, so the base image is made from Debian's
# packages (mmdebstrap: bookworm with Python 3.11 and pip) and imported into podman; where a
# registry is reachable, `podman build --format docker .` alone uses the Dockerfile's default base.
# Needs podman and mmdebstrap (installed with apt when missing and this user is root).
set -eu
cd "$(dirname "$0")/.."
base=${STRATA_BASE_IMAGE:-localhost/strata-base:bookworm}
image=${STRATA_IMAGE:-localhost/strata:latest}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    else
        echo "build-image: $1 is missing (install Debian's $2)" >&2
        exit 1
    fi
}
need podman podman
need mmdebstrap mmdebstrap

if ! podman image exists "$base"; then
    echo "build-image: making $base from Debian bookworm packages"
    # STRATA_BASE_CA_BUNDLE: the CA bundle the base trusts (default: this machine's, so a TLS-
    # intercepting proxy that the machine trusts also lets pip reach PyPI during the build).
    ca=${STRATA_BASE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
    mmdebstrap --quiet --variant=apt --include=python3,python3-pip,python3-venv,ca-certificates \
        --customize-hook="upload $ca /etc/ssl/certs/ca-certificates.crt" \
        bookworm - | podman import --change 'CMD ["python3"]' - "$base"
fi
# chroot isolation: the build's RUN steps need no OCI runtime (where containers cannot set
# rlimits or cgroups, as on our CI machines, `podman run` fails but this build works).
# --format docker: podman's default OCI format has no HEALTHCHECK and drops the Dockerfile's.
podman build --quiet --format docker --isolation "${STRATA_BUILD_ISOLATION:-chroot}" --build-arg BASE_IMAGE="$base" --tag "$image" .

# Smoke test: production by default (an unconfigured start is refused, exit 2, naming what is
# missing), not root, and it serves (demo mode on a loopback port of the host). Where podman can
# run containers that is `podman run`; where it cannot (no setrlimit or cgroups for the OCI
# runtime, as on our CI machines) the same commands run in a container's root file system with
# chroot, with the image's environment and user.
echo "build-image: smoke test"
case "$(podman image inspect --format '{{.HealthCheck}}' "$image")" in
    *health/live*) ;;
    *) echo "build-image: the image has no HEALTHCHECK on /health/live" >&2; exit 1 ;;
esac
port=${STRATA_SMOKE_PORT:-18080}
if podman run --rm --entrypoint true "$image" >/dev/null 2>&1; then
    uid=$(podman run --rm --entrypoint id "$image" -u)
else
    echo "build-image: podman cannot run containers here; smoke-testing the image's file system with chroot"
    # A container's file system, writable (the image's own mount is read-only); no runtime needed.
    smoke=$(podman create "$image")
    root=$(podman mount "$smoke")
    trap 'podman umount "$smoke" >/dev/null 2>&1; podman rm "$smoke" >/dev/null 2>&1 || true' EXIT
    user=$(podman image inspect --format '{{.Config.User}}' "$image")
    image_env=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image")
    # strata_in_image [NAME=VALUE...] -- ARGS: the image's strata, its environment (plus the
    # given settings), its user.
    strata_in_image() {
        settings=""
        while [ "$1" != "--" ]; do settings="$settings $1"; shift; done
        shift
        # shellcheck disable=SC2086 # one word per variable: no value here holds a space
        env -i $image_env $settings chroot --userspec="$user" "$root" /opt/strata/bin/strata "$@"
    }
    uid=${user%%:*}
fi
[ "$uid" != 0 ] || { echo "build-image: the image runs as root" >&2; exit 1; }
if command -v strata_in_image >/dev/null 2>&1; then
    if strata_in_image -- serve >/tmp/strata-image-refusal.txt 2>&1; then
        echo "build-image: the image started without any production setting" >&2; exit 1
    fi
    grep -q "cannot start" /tmp/strata-image-refusal.txt
    state=$(mktemp -d "$root/tmp/strata-smoke.XXXXXX")
    chown "$user" "$state"
    strata_in_image STRATA_MODE=demo STRATA_HOST=127.0.0.1 STRATA_PORT="$port" STRATA_STATE_DIR="${state#"$root"}" \
        -- serve --no-seed >/tmp/strata-image-serve.txt 2>&1 &
    server=$!
else
    if podman run --rm "$image" serve >/tmp/strata-image-refusal.txt 2>&1; then
        echo "build-image: the image started without any production setting" >&2; exit 1
    fi
    grep -q "cannot start" /tmp/strata-image-refusal.txt
    podman run -d --rm --network host --name strata-smoke -e STRATA_MODE=demo -e STRATA_HOST=127.0.0.1 \
        -e STRATA_PORT="$port" "$image" serve --no-seed >/dev/null
    server=""
fi
for _ in $(seq 1 60); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health/ready', timeout=2)" 2>/dev/null; then
        echo "build-image: $image built: serves on :$port, runs as uid $uid, refuses an unconfigured production start"
        if [ -n "$server" ]; then
            # SIGTERM to every process whose root is the container's file system (granian and its
            # workers: $! is only the shell that started them).
            for proc in /proc/[0-9]*; do
                [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill "${proc#/proc/}" 2>/dev/null
            done
            wait "$server" || true
        else
            podman stop --time 5 strata-smoke >/dev/null
        fi
        exit 0
    fi
    sleep 1
done
tail -20 /tmp/strata-image-serve.txt >&2 || true
echo "build-image: the image did not become ready on port $port" >&2
exit 1
