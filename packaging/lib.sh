# shellcheck shell=bash
# packaging/lib.sh — helpers shared by packaging/deb/build.sh and
# packaging/rpm/build.sh (sourced; expects $TOP, the top of the checkout).

# need COMMAND DEBIAN-PACKAGE: fail with the package to install.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "packaging: '$1' not found; install it: apt-get install $2 (or make deps)" >&2
    exit 1
}

# The upstream version is host/version.h's RZ_VERSION; the Debian changelog
# and the RPM spec must agree with it, or the packages would lie about what
# they contain.  Sets RZ_VERSION, RZ_DEB_VERSION, RZ_RPM_VERSION.
rz_check_versions() {
    RZ_VERSION=$(sed -n 's/^#define RZ_VERSION "\(.*\)"/\1/p' "$TOP/host/version.h")
    [ -n "$RZ_VERSION" ] || { echo "packaging: no RZ_VERSION in host/version.h" >&2; exit 1; }
    RZ_DEB_VERSION=$(sed -n '1s/^rentezy (\([^)]*\)).*/\1/p' "$TOP/packaging/deb/debian/changelog")
    RZ_RPM_VERSION=$(sed -n 's/^Version:[[:space:]]*//p' "$TOP/packaging/rpm/rentezy.spec")
    local bad=0
    if [ "${RZ_DEB_VERSION%-*}" != "$RZ_VERSION" ]; then
        echo "packaging: packaging/deb/debian/changelog says $RZ_DEB_VERSION but host/version.h says $RZ_VERSION;" \
             "add a changelog entry for $RZ_VERSION-1 (dch -v $RZ_VERSION-1)" >&2
        bad=1
    fi
    if [ "$RZ_RPM_VERSION" != "$RZ_VERSION" ]; then
        echo "packaging: packaging/rpm/rentezy.spec says Version: $RZ_RPM_VERSION but host/version.h says" \
             "$RZ_VERSION; update Version:, Release: and %changelog" >&2
        bad=1
    fi
    [ "$bad" = 0 ] || exit 1
}

# rz_copy_tree DEST: copy the source tree into DEST.  In a git checkout that
# is every tracked file still present plus every untracked file git does not
# ignore (so uncommitted work is included, and build/, var/ are not);
# elsewhere everything but build outputs and the private database.
rz_copy_tree() {
    local dest=$1
    mkdir -p "$dest"
    if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$TOP" ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do
                [ -e "$TOP/$f" ] || [ -L "$TOP/$f" ] && printf '%s\0' "$f"
            done |
            tar -C "$TOP" --null --no-recursion -T - -cf - | tar -C "$dest" -xf -
    else
        tar -C "$TOP" --exclude=./build --exclude=./build-san --exclude=./build-fuzz \
            --exclude=./var --exclude=./.git -cf - . | tar -C "$dest" -xf -
    fi
}

# rz_web_dist DEST: the built web app (rentezy-web) into DEST.  `make web`
# builds it into build/web (npm ci, then vite); without it, it is built here
# when web/node_modules exists (vite writes only DEST); otherwise fail: the
# package build never downloads.
rz_web_dist() {
    local dest=$1 built="$TOP/${BUILD:-build}/web"
    if [ -f "$built/index.html" ]; then
        mkdir -p "$dest" && cp -a "$built/." "$dest/"
    elif [ -d "$TOP/web/node_modules" ]; then
        (cd "$TOP/web" && npx --no-install vite build --logLevel warn --outDir "$dest" --emptyOutDir) ||
            { echo "packaging: building the web app failed" >&2; exit 1; }
    else
        echo "packaging: the web app (rentezy-web) is not built: run \`make web\` first" >&2
        exit 1
    fi
    [ -f "$dest/index.html" ] || { echo "packaging: $dest/index.html is missing" >&2; exit 1; }
}
