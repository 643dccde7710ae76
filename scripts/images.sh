#!/usr/bin/env bash
# Build the pipeline's OCI images with podman (no Docker engine needed), as CI does.
#
#   scripts/images.sh stand-ins   # base-image stand-ins from Debian packages (only where the base is absent)
#   scripts/images.sh build       # images/step-data, images/step-train (+ airflow if IMAGES includes it)
#   scripts/images.sh wheels      # the wheelhouse: every wheel the images install, downloaded once from the lock
#   scripts/images.sh all         # stand-ins, wheels, build (what `make images` runs)
#
# Settings (environment):
#   IMAGES       which images to build (default: "step-data step-train"; add "airflow" for the Airflow image)
#   TAG          image tag (default: ci); images are named localhost/fashion-mlops/<image>:<TAG>
#   TF_VARIANT   cpu (default here: tensorflow-cpu, no CUDA) or gpu (tensorflow[and-cuda]: CUDA/cuDNN wheels)
#   GIT_COMMIT   baked into every image as ENV GIT_COMMIT (default: `git rev-parse HEAD`, "unknown" outside git)
#   WHEELHOUSE   where `wheels` puts the wheels (default: .state/wheelhouse); "none" builds straight from the index
#   NO_CACHE     1: build every layer again (--no-cache), e.g. to time a cold build under another TAG
#
# The wheelhouse: the images share most of the lock (TensorFlow in two, MLflow in three, pandas and pyarrow in
# four), and each `pip install` inside a build downloads its wheels again. `wheels` downloads them once, on
# this machine, for every image (again only when the lock or a requirements file changes); `build` then mounts the folder and a pip.conf that points pip at
# it (--no-index) into the RUN steps only, never into a layer: the same pinned wheels end up in the images,
# each fetched once. A wheel the wheelhouse lacks fails the build (no silent fallback to the index).
#
# It installs nothing by itself: podman, runc and debootstrap (or the faster mmdebstrap) come from Debian
# (`apt-get install -y podman runc debootstrap mmdebstrap`, which .ci/run does as root).
# The stand-ins exist because this machine cannot reach a registry for base images: each
# is made from Debian packages under the exact FROM name, so the Dockerfiles build unchanged;
# where the real bases can be pulled, skip `stand-ins` and `build` pulls them (--pull=missing).
# podman runs with runc and explicit ulimits: crun fails here ("cgroups in hybrid mode not
# supported") and podman's default ulimits are refused ("error setting rlimit").
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES=${IMAGES:-"step-data step-train"}
TAG=${TAG:-ci}
TF_VARIANT=${TF_VARIANT:-cpu}
GIT_COMMIT=${GIT_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
PREFIX=localhost/fashion-mlops
PYTHON_BASE=docker.io/library/python:3.11.13-slim-bookworm
AIRFLOW_BASE=docker.io/apache/airflow:3.3.2-python3.11
TF_VERSION=$(sed -n 's/^tensorflow_cpu==//p' constraints.txt)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
PODMAN=(podman --runtime runc)
BUILD_FLAGS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
# pip inside a build checks certificates against this machine's bundle (proxies that re-sign TLS included);
# mounted for RUN steps only, never baked into a layer.
[ -f "$CA_BUNDLE" ] && BUILD_FLAGS+=(-v "$CA_BUNDLE:$CA_BUNDLE:ro")

WHEELHOUSE=${WHEELHOUSE:-.state/wheelhouse}
HOST_PYTHON=${HOST_PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3.11 || command -v python3)}

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

debian_mirror() {
  local sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ]; then
    awk '/^URIs:/ {print $2; exit}' "$sources"
  else
    echo http://deb.debian.org/debian
  fi
}

# python:3.11.13-slim-bookworm from Debian bookworm's python3.11 (3.11.2): same layout the Dockerfiles use
# (python and pip on PATH in /usr/local/bin, pip allowed to install system-wide).
python_stand_in() {
  local root
  root=$(mktemp -d /var/tmp/python-stand-in.XXXXXX)
  # mmdebstrap (apt's parallel downloads, one dpkg run) where installed: 22 s against debootstrap's 45 s here
  # idle, and much less of the image tier's time beside a busy test worker; the same minbase rootfs either way.
  if command -v mmdebstrap >/dev/null 2>&1; then
    log "mmdebstrap bookworm -> $PYTHON_BASE"
    mmdebstrap --quiet --variant=minbase --include=python3.11,python3-pip,python3-venv,ca-certificates \
      bookworm "$root" "$(debian_mirror)"
  else
    log "debootstrap bookworm -> $PYTHON_BASE"
    debootstrap --variant=minbase --include=python3.11,python3-pip,python3-venv,ca-certificates \
      bookworm "$root" "$(debian_mirror)" >/dev/null
  fi
  ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python"
  ln -sf /usr/bin/python3.11 "$root/usr/local/bin/python3"
  ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
  rm -f "$root/usr/lib/python3.11/EXTERNALLY-MANAGED"
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  # PATH as the real image sets it: `podman import` sets none, and `podman kube play` (unlike `podman run`)
  # adds no default, so a pod's `sh -c` (the xcom sidecar) or `python` (the ENTRYPOINT) would not be found.
  tar -C "$root" -c . | podman import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$PYTHON_BASE" >/dev/null
  rm -rf "$root"
}

# apache/airflow:3.3.2-python3.11 as our Dockerfile uses it: user airflow (uid 50000, group 0) whose
# `pip install` goes to ~/.local (PIP_USER), Airflow 3.3.2 from our lock, AIRFLOW_HOME=/opt/airflow.
airflow_stand_in() {
  local dir mounts
  dir=$(mktemp -d)
  cp constraints.txt "$dir/"
  cat > "$dir/Containerfile" <<EOF
FROM $PYTHON_BASE
ENV AIRFLOW_HOME=/opt/airflow PIP_USER=true PATH=/home/airflow/.local/bin:\$PATH
RUN useradd --uid 50000 --gid 0 --create-home --home-dir /home/airflow airflow \\
    && mkdir -p /opt/airflow && chown 50000:0 /opt/airflow
COPY constraints.txt /tmp/constraints.txt
USER 50000
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -c /tmp/constraints.txt
WORKDIR /opt/airflow
ENTRYPOINT ["airflow"]
EOF
  log "building stand-in $AIRFLOW_BASE"
  read -r -a mounts <<< "$(wheelhouse_flags)"
  "${PODMAN[@]}" build --pull=never "${BUILD_FLAGS[@]}" "${mounts[@]}" -t "$AIRFLOW_BASE" -f "$dir/Containerfile" "$dir"
  rm -rf "$dir"
}

stand_ins() {
  if podman image exists "$PYTHON_BASE"; then log "$PYTHON_BASE present"; else python_stand_in; fi
  if [[ " $IMAGES " == *" airflow "* ]]; then
    if podman image exists "$AIRFLOW_BASE"; then log "$AIRFLOW_BASE present"; else airflow_stand_in; fi
  fi
}

tensorflow() {
  case "$TF_VARIANT" in
    cpu) echo "tensorflow-cpu==$TF_VERSION" ;;
    gpu) echo "tensorflow[and-cuda]==$TF_VERSION" ;;
    *) echo "TF_VARIANT must be cpu or gpu, not $TF_VARIANT" >&2; exit 2 ;;
  esac
}

# What every image's build installs, as one requirements list (the Airflow stand-in's Airflow included):
# one download serves whichever images are built later, so the wheelhouse is made once per lock.
wanted() {
  grep -hv '^#' images/*/requirements.txt
  tensorflow
  echo "apache-airflow==3.3.2"
}

# The host's pip downloads for its own interpreter: the images' CPython 3.11 on linux x86_64 (glibc), so the
# host must run that too; elsewhere the builds download from the index as they would without a wheelhouse.
wheels() {
  local list stamp
  if [ "$WHEELHOUSE" = none ]; then log "WHEELHOUSE=none: the builds download from the index"; return; fi
  if ! "$HOST_PYTHON" -c 'import sys, platform; assert sys.version_info[:2] == (3, 11) and platform.machine() == "x86_64"' \
      2>/dev/null; then
    log "no CPython 3.11 x86_64 here ($HOST_PYTHON): no wheelhouse, the builds download from the index"
    return
  fi
  mkdir -p "$WHEELHOUSE"
  list=$(mktemp)
  wanted | sort -u > "$list"
  stamp="$WHEELHOUSE/.complete-$(cat "$list" constraints.txt | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ]; then log "wheelhouse $WHEELHOUSE is complete for this lock"; rm -f "$list"; return; fi
  log "wheelhouse $WHEELHOUSE: $(tr '\n' ' ' < "$list")"
  "$HOST_PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: --dest "$WHEELHOUSE" \
    -r "$list" -c constraints.txt
  rm -f "$list"
  chmod -R a+rX "$WHEELHOUSE"  # the airflow stand-in's pip runs as uid 50000
  touch "$stamp"
  log "wheelhouse: $(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels, $(du -sh "$WHEELHOUSE" | cut -f1)"
}

# RUN-only mounts: the wheelhouse and a pip.conf pointing pip at it (offline), when the wheelhouse exists.
wheelhouse_flags() {
  local conf
  [ "$WHEELHOUSE" != none ] && [ -d "$WHEELHOUSE" ] || return 0
  conf=$(realpath "$WHEELHOUSE").pip.conf
  printf '[global]\nno-index = true\nfind-links = /tmp/wheelhouse\n' > "$conf"
  chmod 644 "$conf"
  echo "-v $(realpath "$WHEELHOUSE"):/tmp/wheelhouse:ro -v $conf:/etc/pip.conf:ro"
}

build_one() {
  local image=$1 args=(--build-arg "GIT_COMMIT=$GIT_COMMIT") start mounts
  if [ "$image" = step-train ]; then args+=(--build-arg "TENSORFLOW=$(tensorflow)"); fi
  if [ "${NO_CACHE:-0}" = 1 ]; then args+=(--no-cache); fi
  read -r -a mounts <<< "$(wheelhouse_flags)"
  start=$(date +%s)
  log "building $PREFIX/$image:$TAG"
  "${PODMAN[@]}" build --pull=missing "${BUILD_FLAGS[@]}" "${mounts[@]}" "${args[@]}" \
    -f "images/$image/Dockerfile" -t "$PREFIX/$image:$TAG" .
  log "built $PREFIX/$image:$TAG in $(( $(date +%s) - start )) s, $(podman image inspect --format '{{.Size}}' "$PREFIX/$image:$TAG") bytes"
}

build() {
  local image
  for image in $IMAGES; do build_one "$image"; done
}

case "${1:-all}" in
  stand-ins) stand_ins ;;
  wheels) wheels ;;
  build) build ;;
  all) wheels; stand_ins; build ;;
  *) echo "usage: $0 [stand-ins|wheels|build|all]" >&2; exit 2 ;;
esac
