#!/usr/bin/env bash
# packaging/rpm/build.sh — build the RPM packages from the working tree with
# rpmbuild (Debian's `rpm` package works).
#
#   packaging/rpm/build.sh            packages in build/packages/rpm/
#   OUT=DIR packaging/rpm/build.sh    packages in DIR
#
# Makes rentezy-VERSION.tar.gz from the source tree (tracked plus untracked,
# non-ignored files), finds which plugins build, and runs rpmbuild -bb on
# packaging/rpm/rentezy.spec in a scratch _topdir.
#
# rpmbuild runs with --nodeps: the spec's BuildRequires name RPM packages
# (pkgconfig(libpq), gcc, ...) that rpmbuild looks up in the RPM database,
# and on a Debian host that database is empty although the libraries are
# installed as .deb packages (scripts/deps.sh).  The build itself still fails
# if a library is missing.  On an RPM distribution, build without --nodeps:
#   rpmbuild -ba packaging/rpm/rentezy.spec (after placing the tarball).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/packaging/lib.sh"
OUT=$(mkdir -p "${OUT:-$TOP/build/packages/rpm}" && cd "${OUT:-$TOP/build/packages/rpm}" && pwd)

need rpmbuild rpm
rz_check_versions

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/rentezy-rpm.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH"/{BUILD,RPMS,SOURCES,SPECS,SRPMS,probe}

# rpmbuild 4.18 needs the subpackages before it builds: probe which plugins
# build (make -k) in a throw-away copy, so that a plugin still being written
# is left out (and named) instead of failing the packages, as in the .deb.
rz_copy_tree "$SCRATCH/probe"
( cd "$SCRATCH/probe" && make -k -j"$(nproc)" SAN=0 all ) > "$SCRATCH/probe.log" 2>&1 || true
[ -x "$SCRATCH/probe/build/rentezyd" ] || {
    echo "rpm: rentezyd does not build; last lines of the log:" >&2
    tail -n 30 "$SCRATCH/probe.log" >&2
    exit 1
}
PLUGINS=$(cd "$SCRATCH/probe/build/plugins" && ls -- *.so 2>/dev/null | sed 's/\.so$//' | tr '\n' ' ')
for d in "$SCRATCH"/probe/plugins/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    case " $PLUGINS " in *" $n "*) ;; *) echo "rpm: NOT packaged, plugins/$n did not build" ;; esac
done
rm -rf "$SCRATCH/probe"
echo "rpm: plugins: $PLUGINS"

ABI_MAJOR=$(sed -n 's/^#define RZ_ABI_MAJOR \([0-9]*\).*/\1/p' "$TOP/sdk/include/rentezy/plugin.h")
ABI_MINOR=$(sed -n 's/^#define RZ_ABI_MINOR \([0-9]*\).*/\1/p' "$TOP/sdk/include/rentezy/plugin.h")

rz_copy_tree "$SCRATCH/rentezy-$RZ_VERSION"
rz_web_dist "$SCRATCH/rentezy-$RZ_VERSION/web-dist" # the web app, built before (make web)
tar -C "$SCRATCH" -czf "$SCRATCH/SOURCES/rentezy-$RZ_VERSION.tar.gz" "rentezy-$RZ_VERSION"
rm -rf "$SCRATCH/rentezy-$RZ_VERSION"
cp "$TOP/packaging/rpm/rentezy.spec" "$SCRATCH/SPECS/"

# The plugin list without hello goes to the Makefile (PLUGINS=); hello is
# always built by it.
MAKE_PLUGINS=$(echo "$PLUGINS" | tr ' ' '\n' | grep -vx 'hello' | tr '\n' ' ' || true)
[ -n "${MAKE_PLUGINS// /}" ] || MAKE_PLUGINS='%{nil}'   # rpm refuses an empty macro body
echo "rpm: building rentezy $RZ_VERSION"
rpmbuild -bb --nodeps \
    --define "_topdir $SCRATCH" \
    --define "rz_plugins $PLUGINS" \
    --define "rz_make_plugins $MAKE_PLUGINS" \
    --define "rz_abi_major $ABI_MAJOR" \
    --define "rz_abi_minor $ABI_MINOR" \
    "$SCRATCH/SPECS/rentezy.spec" > "$SCRATCH/rpmbuild.log" 2>&1 || {
    echo "rpm: rpmbuild failed; last lines of the log:" >&2
    tail -n 40 "$SCRATCH/rpmbuild.log" >&2
    exit 1
}

rm -f "$OUT"/rentezy*.rpm
find "$SCRATCH/RPMS" -name '*.rpm' -exec mv {} "$OUT"/ \;
echo "rpm: packages in $OUT:"
(cd "$OUT" && ls -1 -- *.rpm | sed 's/^/  /')
