#!/usr/bin/env bash
# Build the one-folder desktop app: packaging/dist/lrdoctor/lrdoctor (+ lrdoctor.app on macOS).
#
#   packaging/build.sh                 # use $PYTHON, else the repo's .venv, else python3
#   packaging/build.sh --venv DIR      # a fresh build venv in DIR with only the runtime deps
#   --dist DIR / --work DIR            # output and scratch folders (default packaging/dist, packaging/build)
#   --clean                            # also empty PyInstaller's cache first
#
# The interpreter used must already have lrdoctor's dependencies (pip install -e .);
# --venv installs them itself (`pip install ".[packaging]"`, no test tools). Either way
# PyInstaller comes from the `packaging` extra in pyproject.toml.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"
export PIP_DISABLE_PIP_VERSION_CHECK=1

venv=""
dist="$here/dist"
work="$here/build"
clean=()
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --dist) dist="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --clean) clean=(--clean); shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ -n "$venv" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  py="$venv/bin/python"
  "$py" -m pip install -q ".[packaging]"
else
  if [ -n "${PYTHON:-}" ]; then py="$PYTHON"
  elif [ -x "$repo/.venv/bin/python" ]; then py="$repo/.venv/bin/python"
  else py="$(command -v python3)"; fi
  # The version constraint of the `packaging` extra, read from pyproject.toml.
  req="$("$py" - <<'PY'
try:
    import tomllib  # Python 3.11+
except ImportError:
    print("pyinstaller>=6")
else:
    with open("pyproject.toml", "rb") as f:
        print(tomllib.load(f)["project"]["optional-dependencies"]["packaging"][0])
PY
)"
  "$py" -c "import PyInstaller" 2>/dev/null || "$py" -m pip install -q "$req"
fi

echo "building with $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')" >&2
start=$(date +%s)
"$py" -m PyInstaller --noconfirm ${clean[@]+"${clean[@]}"} --log-level WARN \
  --distpath "$dist" --workpath "$work" \
  "$here/lrdoctor.spec"
end=$(date +%s)

exe="$dist/lrdoctor/lrdoctor"
[ -x "$exe" ] || exe="$exe.exe"
echo "built $exe in $((end - start)) s; $(du -sh "$dist/lrdoctor" | cut -f1) on disk" >&2
