# setup.sh: sourced by jobs/run-local.sh and tests/run.sh.
# Installs the Debian packages caviar needs (only those missing, non-interactive)
# and builds caviar with meson. Not meant to be run on its own.

CAVIAR_PACKAGES=(
  gcc pkg-config meson ninja-build
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libopenblas-dev
  libyaml-dev zlib1g-dev
  dataset-fashion-mnist
)

# caviar_install PACKAGE...: apt-get install those of the packages that are missing.
caviar_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "caviar: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# caviar_build BUILDDIR [MESON OPTION]...: configure (once) and build.
caviar_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  fi
  ninja -C "$dir" >/dev/null
}

# mpirun as root needs these; harmless otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
