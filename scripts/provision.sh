#!/usr/bin/env bash
# provision.sh makes a machine ready for cachebench's full test suite and for
# `cachebench env up` with every provider:
#
#   - redis-server and Java 17 (the `local` provider's programs),
#   - Chromium, headless, for the test that loads the HTML reports in a real browser,
#   - DynamoDB Local (from the npm package amplify-dynamodb-simulator, which ships it),
#   - a static stripe-mock binary (go install),
#   - a running Docker engine (installed and started when none answers; Debian, root),
#   - the container images: the public ones when present or pullable, otherwise local
#     stand-ins built from a debootstrap base image (no registry needed).
#
# Idempotent: everything already present is left alone, so a second run takes seconds.
# Everything it installs lives under $CACHEBENCH_HOME (default ~/.cache/cachebench), which
# is also where the Go code looks for it. Nothing here contacts anything but the machine's
# own package sources; every service it starts listens on 127.0.0.1 only.
#
# Environment:
#   CACHEBENCH_HOME              where tools and state go (default ${XDG_CACHE_HOME:-~/.cache}/cachebench)
#   CACHEBENCH_SKIP_DOCKER=1     do not install, start or build anything for Docker
#   CACHEBENCH_NO_PULL=1         never try a registry; build local stand-ins straight away
#   CACHEBENCH_REDIS_IMAGE, CACHEBENCH_DYNAMODB_IMAGE, CACHEBENCH_STRIPE_MOCK_IMAGE
#                                images to use instead of the defaults (then nothing is built)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
home=${CACHEBENCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cachebench}
mkdir -p "$home/bin" "$home/log"

STRIPE_MOCK_VERSION=v0.203.0
DYNAMODB_NPM_PACKAGE=amplify-dynamodb-simulator@2.9.30

t0=$(date +%s)
log() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

apt_updated=
apt_install() {
	# apt_install PKG... installs the Debian packages that are missing.
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages ${missing[*]}: run this script as root, or install them yourself"
	have apt-get || die "missing ${missing[*]} and no apt-get: install them with your system's package manager"
	if [ -z "$apt_updated" ]; then
		log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$home/log/apt-update.log" 2>&1 ||
			die "apt-get update failed; see $home/log/apt-update.log"
		apt_updated=1
	fi
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>"$home/log/apt-install.log" 2>&1 || die "apt-get install ${missing[*]} failed; see $home/log/apt-install.log"
}

# --- programs for the `local` provider --------------------------------------------------
if ! have redis-server; then apt_install redis-server; fi
if ! have java; then apt_install openjdk-17-jre-headless; fi

# --- headless Chromium (the reports package loads its HTML reports in it) -----------------
# fonts-liberation: the faces the charts are measured with (gonum/plot lays text out in Liberation).
if ! have chromium && ! have chromium-browser; then apt_install chromium fonts-liberation; fi

# --- DynamoDB Local ---------------------------------------------------------------------
ddb="$home/dynamodb-local"
if [ ! -f "$ddb/DynamoDBLocal.jar" ]; then
	have npm || apt_install npm
	log "fetching DynamoDB Local ($DYNAMODB_NPM_PACKAGE)"
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent "$DYNAMODB_NPM_PACKAGE" >"$home/log/npm-pack.log" 2>&1) ||
		die "npm pack $DYNAMODB_NPM_PACKAGE failed; see $home/log/npm-pack.log"
	tar -C "$tmp" -xzf "$tmp"/amplify-dynamodb-simulator-*.tgz package/emulator
	rm -rf "$ddb.tmp" && mv "$tmp/package/emulator" "$ddb.tmp" && mv "$ddb.tmp" "$ddb"
	rm -rf "$tmp"
fi

# --- stripe-mock --------------------------------------------------------------------------
if [ ! -x "$home/bin/stripe-mock" ]; then
	log "building stripe-mock $STRIPE_MOCK_VERSION"
	# Static, so the same binary also runs in a FROM scratch image.
	CGO_ENABLED=0 GOBIN="$home/bin" GOFLAGS= go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" \
		>"$home/log/stripe-mock-build.log" 2>&1 || die "building stripe-mock failed; see $home/log/stripe-mock-build.log"
fi

# --- Docker -------------------------------------------------------------------------------
env_file="$home/provision.env"
: >"$env_file.tmp"
{
	echo "export CACHEBENCH_HOME='$home'"
	echo "export CACHEBENCH_STRIPE_MOCK='$home/bin/stripe-mock'"
	echo "export CACHEBENCH_DYNAMODB_LOCAL_DIR='$ddb'"
} >>"$env_file.tmp"

if [ "${CACHEBENCH_SKIP_DOCKER:-}" != 1 ]; then
	if ! docker info >/dev/null 2>&1; then
		if ! have dockerd; then apt_install docker.io; fi
		have docker || die "the docker client is missing after installing docker.io"
		[ "$(id -u)" -eq 0 ] || die "no Docker engine answers and starting one needs root: start Docker yourself, or set CACHEBENCH_SKIP_DOCKER=1"
		log "starting dockerd (log: $home/log/dockerd.log)"
		nohup dockerd >"$home/log/dockerd.log" 2>&1 &
		for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
		docker info >/dev/null 2>&1 || die "dockerd did not answer within 30s; see $home/log/dockerd.log"
	fi

	# image_for KIND PUBLIC LOCAL BUILDER: prints the image to use for one service. A user's
	# choice wins; then the public image if present or pullable; else a local stand-in, built
	# here when missing.
	image_for() {
		local kind=$1 public=$2 standin=$3 builder=$4
		if docker image inspect "$public" >/dev/null 2>&1; then echo "$public"; return; fi
		if docker image inspect "$standin" >/dev/null 2>&1; then echo "$standin"; return; fi
		if [ "${CACHEBENCH_NO_PULL:-}" != 1 ] && [ ! -e "$no_registry" ]; then
			log "pulling $public"
			if timeout 60 docker pull -q "$public" >"$home/log/pull-$kind.log" 2>&1; then echo "$public"; return; fi
			log "no registry answers ($(tail -n1 "$home/log/pull-$kind.log")); building local stand-ins"
			touch "$no_registry"
		fi
		"$builder" "$standin"
		echo "$standin"
	}

	# Set once a pull fails, so one run asks the registry once (image_for runs in subshells).
	no_registry=$(mktemp -u)
	trap 'rm -f "$no_registry"' EXIT
	base_image=cachebench-local/debian:bookworm
	build_base() {
		docker image inspect "$base_image" >/dev/null 2>&1 && return 0
		have debootstrap || apt_install debootstrap
		local mirror
		# The machine's own Debian mirror: the apt source that carries bookworm's main
		# component (apt has read the sources, whatever their format, by now).
		[ -n "$apt_updated" ] || DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$home/log/apt-update.log" 2>&1 || true
		mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(ORIGIN)' 2>/dev/null |
			awk '$2 == "bookworm" && $3 == "main" && $4 == "Debian" { print $1; exit }')
		[ -n "$mirror" ] || die "no apt source for Debian bookworm main found: cannot build the base image (set CACHEBENCH_*_IMAGE to images you have)"
		log "building base image $base_image with debootstrap"
		local root
		root=$(mktemp -d)
		debootstrap --variant=minbase bookworm "$root" "$mirror" >"$home/log/debootstrap.log" 2>&1 ||
			die "debootstrap failed; see $home/log/debootstrap.log"
		tar -C "$root" -c . | docker import - "$base_image" >/dev/null
		rm -rf "$root"
	}
	build_redis() {
		build_base
		log "building $1"
		docker build -q -t "$1" --build-arg BASE="$base_image" -f "$here/images/redis.Dockerfile" "$here/images" \
			>"$home/log/build-redis.log" 2>&1 || die "building $1 failed; see $home/log/build-redis.log"
	}
	build_dynamodb() {
		build_base
		log "building $1"
		local ctx
		ctx=$(mktemp -d)
		cp -r "$ddb" "$ctx/emulator"
		cp "$here/images/dynamodb-local.Dockerfile" "$ctx/Dockerfile"
		docker build -q -t "$1" --build-arg BASE="$base_image" "$ctx" >"$home/log/build-dynamodb.log" 2>&1 ||
			die "building $1 failed; see $home/log/build-dynamodb.log"
		rm -rf "$ctx"
	}
	build_stripe_mock() {
		log "building $1"
		local ctx
		ctx=$(mktemp -d)
		cp "$home/bin/stripe-mock" "$ctx/stripe-mock"
		cp "$here/images/stripe-mock.Dockerfile" "$ctx/Dockerfile"
		docker build -q -t "$1" "$ctx" >"$home/log/build-stripe-mock.log" 2>&1 ||
			die "building $1 failed; see $home/log/build-stripe-mock.log"
		rm -rf "$ctx"
	}

	redis_image=${CACHEBENCH_REDIS_IMAGE:-$(image_for redis redis:7 cachebench-local/redis:7 build_redis)}
	dynamodb_image=${CACHEBENCH_DYNAMODB_IMAGE:-$(image_for dynamodb amazon/dynamodb-local:latest cachebench-local/dynamodb-local:1.25.1 build_dynamodb)}
	stripe_image=${CACHEBENCH_STRIPE_MOCK_IMAGE:-$(image_for stripe-mock stripe/stripe-mock:latest "cachebench-local/stripe-mock:$STRIPE_MOCK_VERSION" build_stripe_mock)}
	{
		echo "export CACHEBENCH_REDIS_IMAGE='$redis_image'"
		echo "export CACHEBENCH_DYNAMODB_IMAGE='$dynamodb_image'"
		echo "export CACHEBENCH_STRIPE_MOCK_IMAGE='$stripe_image'"
	} >>"$env_file.tmp"
	log "images: $redis_image, $dynamodb_image, $stripe_image"
fi

mv "$env_file.tmp" "$env_file"
log "ready in $(($(date +%s) - t0))s; settings in $env_file"
