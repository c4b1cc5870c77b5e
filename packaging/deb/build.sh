#!/usr/bin/env bash
# packaging/deb/build.sh — build the .deb packages from the working tree.
#
#   packaging/deb/build.sh            packages in build/packages/
#   OUT=DIR packaging/deb/build.sh    packages in DIR
#   LINTIAN=0 ...                     skip lintian (run by default when installed)
#
# Copies the source tree (tracked files plus untracked, non-ignored ones:
# uncommitted work is packaged too) and packaging/deb/debian into a scratch
# directory with the built web app (web-dist: make web's build/web), runs
# dpkg-buildpackage -us -uc -b there, then lintian on the
# result (errors and warnings fail the build), and moves the .deb files,
# .buildinfo and .changes into OUT.  The checkout itself is never written,
# except OUT.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
LINTIAN=${LINTIAN:-1}
. "$TOP/packaging/lib.sh"
OUT=$(mkdir -p "${OUT:-$TOP/build/packages}" && cd "${OUT:-$TOP/build/packages}" && pwd)

need dpkg-buildpackage dpkg-dev
need dh debhelper
rz_check_versions

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/rentezy-deb.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
SRC="$SCRATCH/rentezy-$RZ_VERSION"
rz_copy_tree "$SRC"
cp -a "$TOP/packaging/deb/debian" "$SRC/debian"
# The web app is built before (npm, vite): debian/rules installs web-dist.
rz_web_dist "$SRC/web-dist"

echo "deb: building rentezy $RZ_DEB_VERSION in $SRC"
( cd "$SRC" && dpkg-buildpackage -us -uc -b ) > "$SCRATCH/build.log" 2>&1 || {
    echo "deb: dpkg-buildpackage failed; last lines of the log:" >&2
    tail -n 40 "$SCRATCH/build.log" >&2
    exit 1
}
grep '^gen-control:' "$SCRATCH/build.log" || true

changes=$(ls "$SCRATCH"/rentezy_*.changes)
if [ "$LINTIAN" != 0 ]; then
    if command -v lintian >/dev/null 2>&1; then
        echo "deb: lintian"
        # Overrides (debian/*.lintian-overrides) each say why; anything else
        # at warning level or above fails the build.
        lintian --fail-on error,warning --tag-display-limit 0 "$changes" || {
            echo "deb: lintian found problems (above)" >&2
            exit 1
        }
    else
        echo "deb: lintian is not installed; skipping it (apt-get install lintian)" >&2
    fi
fi

# Debug symbols (*-dbgsym_*.deb) stay next to the rest, as the .changes
# lists them; installations and images leave them out.
rm -f "$OUT"/rentezy*.deb "$OUT"/rentezy_*.buildinfo "$OUT"/rentezy_*.changes
mv "$SCRATCH"/*.deb "$SCRATCH"/rentezy_*.buildinfo "$changes" "$OUT"/
echo "deb: packages in $OUT:"
for f in "$OUT"/*.deb; do
    case $f in *-dbgsym_*) ;; *) echo "  ${f##*/}" ;; esac
done
