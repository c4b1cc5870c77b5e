#!/usr/bin/env bash
# The packages, installed for real: build the .deb packages once (lintian
# clean), install them with dpkg -i on this machine, check the packaged
# configuration, run the daemon from the installed layout as the rentezy
# user, build the SDK example with pkg-config, then remove and purge and
# check that only what policy keeps is left.  Also builds the RPMs and checks
# the Kubernetes manifests.
#
# It installs system packages, so it serialises with other runs (flock), and
# its EXIT trap puts the machine back as it found it even on failure: purges
# whatever it installed, deletes the rentezy user when it created it, and puts
# back anything it moved out of the way.
if [ "${SAN:-0}" = 1 ]; then
    echo "skip: packaging test under SAN=1 (sanitizer builds are not shippable)"
    exit 0
fi
. "$(dirname "$0")/../lib.sh"

PKGS_ALL="rentezyd rentezy-sdk-dev rentezy-web"   # plus rentezy-plugin-*, from the build
OWNED_PATHS="/etc/rentezy.d /usr/lib/rentezy /usr/sbin/rentezyd /usr/include/rentezy
/usr/share/rentezy /usr/share/pkgconfig/rentezy-sdk.pc /var/lib/rentezy /lib/systemd/system/rentezyd.service"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "FAIL packaging: installs packages with dpkg; run as root or with password-less sudo"
        exit 1
    fi
fi
for tool in dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian rpmbuild:rpm runuser:util-linux flock:util-linux; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || {
        echo "FAIL packaging: ${tool%%:*} is missing; make deps (apt-get install ${tool#*:})"; exit 1; }
done

# ---- one run at a time on this machine, and a trap that undoes everything ----
exec 9>/tmp/rentezy-packaging-test.lock
if ! flock -w 300 9; then
    echo "FAIL packaging: another packaging test holds /tmp/rentezy-packaging-test.lock"; exit 1
fi
INSTALLED=""          # packages this run installed
USER_CREATED=0        # the rentezy user did not exist before
SAVED=""              # where paths were moved out of the way (outside $T)
RU_PID=""
restore() {
    set +e
    [ -n "$RU_PID" ] && rz_pkg_stop
    if [ -n "$INSTALLED" ]; then
        # shellcheck disable=SC2086
        $SUDO dpkg --purge $INSTALLED >>"$T/dpkg.log" 2>&1 ||
            { echo "packaging: dpkg --purge $INSTALLED failed:" >&2; tail -n 20 "$T/dpkg.log" >&2; }
    fi
    if [ "$USER_CREATED" = 1 ] && getent passwd rentezy >/dev/null; then
        $SUDO userdel rentezy || echo "packaging: could not delete the rentezy user this test created" >&2
        getent group rentezy >/dev/null && $SUDO groupdel rentezy
    fi
    if [ -n "$SAVED" ]; then
        for p in $OWNED_PATHS; do
            [ -e "$SAVED$p" ] || [ -L "$SAVED$p" ] || continue
            $SUDO rm -rf "$p" && $SUDO mkdir -p "$(dirname "$p")" && $SUDO mv "$SAVED$p" "$p" ||
                echo "packaging: could not put $p back; it is in $SAVED$p" >&2
        done
        # Only empty directories are left if everything went back.
        $SUDO find "$SAVED" -depth -type d -empty -delete 2>/dev/null
    fi
    cleanup
}
trap restore EXIT
trap 'exit 130' INT TERM HUP

# Any state but "not installed" (second letter n) counts: installed, half
# configured, config files left by a removal.
pre=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'rentezy*' 2>/dev/null |
      awk 'substr($1, 2, 1) != "n" {printf "%s ", $2}')
if [ -n "$pre" ]; then
    echo "FAIL packaging: already on this machine: $pre; this test would replace them."
    echo "     Purge them first: dpkg --purge $pre"
    exit 1
fi
getent passwd rentezy >/dev/null || USER_CREATED=1
# Files a `make install` put in / (not owned by a package) would be taken
# over and then purged: move them aside for the duration of the test.
for p in $OWNED_PATHS; do
    if [ -e "$p" ] || [ -L "$p" ]; then
        [ -n "$SAVED" ] || SAVED=$(mktemp -d /var/tmp/rentezy-packaging-saved.XXXXXX)
        $SUDO mkdir -p "$SAVED$(dirname "$p")" && $SUDO mv "$p" "$SAVED$p" &&
            echo "note: moved $p aside to $SAVED for the test; it is put back at the end"
    fi
done

# dpkg with a wait for its lock, in case apt runs at the same time.
rz_dpkg() {
    for _ in $(seq 1 60); do
        if $SUDO dpkg "$@" >>"$T/dpkg.log" 2>&1; then return 0; fi
        tail -n 3 "$T/dpkg.log" | grep -q 'lock' || { tail -n 20 "$T/dpkg.log"; return 1; }
        sleep 1
    done
    return 1
}

# ---- build once ------------------------------------------------------------------
DEBS="$T/debs"
if OUT="$DEBS" "$TOP/packaging/deb/build.sh" >"$T/deb-build.out" 2>&1; then
    echo "ok   packaging/deb/build.sh builds the .deb packages and lintian is clean"
    grep -E '^(gen-control|deb: lintian is not)' "$T/deb-build.out" | sed 's/^/     /'
else
    echo "FAIL packaging/deb/build.sh:"; tail -n 50 "$T/deb-build.out" | sed 's/^/     /'
    FAILS=$((FAILS + 1))
fi
DEBFILES=()
for f in "$DEBS"/*.deb; do
    case $f in *-dbgsym_*) ;; *) [ -f "$f" ] && DEBFILES+=("$f") ;; esac
done
if [ ${#DEBFILES[@]} -eq 0 ]; then
    echo "FAIL no .deb was built"; finish
fi
PKGS=$(for f in "${DEBFILES[@]}"; do dpkg-deb -f "$f" Package; done | sort | tr '\n' ' ')
echo "     packages: $PKGS"
for want in $PKGS_ALL rentezy-plugin-hello; do
    expect_eq "package $want is built" "$(echo " $PKGS " | grep -c " $want ")" 1
done
# Every plugin folder either has its package or was named as not building.
for d in "$TOP"/plugins/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    [ "$n" = common ] && continue # helper code compiled into each plugin
    if ! echo " $PKGS " | grep -q " rentezy-plugin-${n//_/-} "; then
        echo "note: plugins/$n is not packaged: it does not build yet (see gen-control above)"
    fi
done
check "rentezy-web is architecture-independent and holds the built app" sh -c "
    [ \"\$(dpkg-deb -f '$DEBS'/rentezy-web_*.deb Architecture)\" = all ] &&
    dpkg-deb -c '$DEBS'/rentezy-web_*.deb | grep -q ' ./usr/share/rentezy/web/index.html\$' &&
    dpkg-deb -c '$DEBS'/rentezy-web_*.deb | grep -q ' ./usr/share/rentezy/web/assets/.*\.js\.gz\$'"
# API-only pods install rentezyd and plugins: none of those carries the app.
check "no other package carries the web app" sh -c "
    for f in '$DEBS'/*.deb; do case \$f in *rentezy-web_*) continue;; esac
        if dpkg-deb -c \"\$f\" | grep -q 'usr/share/rentezy/web'; then echo \"\$f has it\"; exit 1; fi; done"
check "rentezyd provides the plugin ABI it was built with" sh -c "
    dpkg-deb -f '$DEBS'/rentezyd_*.deb Provides | grep -qx 'rentezy-abi-[0-9]* (= [0-9]*\.[0-9]*)'"

# ---- install ---------------------------------------------------------------------
INSTALLED=$PKGS
check "dpkg -i installs every package" rz_dpkg -i "${DEBFILES[@]}"
check "every package is installed and configured" sh -c "
    for p in $PKGS; do dpkg-query -W -f='\${db:Status-Abbrev}\n' \$p | grep -q '^ii' || { echo \"\$p not ii\"; exit 1; }; done"
check "the installed layout: daemon, plugins, unit, conffiles, man pages, SDK" sh -c '
    test -x /usr/sbin/rentezyd && test -f /usr/lib/rentezy/plugins/hello.so &&
    test -f /lib/systemd/system/rentezyd.service && test -f /etc/rentezy.d/00-host.conf &&
    test -f /usr/share/man/man8/rentezyd.8.gz && test -f /usr/share/man/man5/rentezy.d.5.gz &&
    test -f /usr/share/man/man3/rentezy-plugin.3.gz && test -f /usr/include/rentezy/plugin.h &&
    test -f /usr/share/pkgconfig/rentezy-sdk.pc && test -f /usr/share/rentezy/examples/hello/hello.c'
check "/etc/rentezy.d/*.conf are conffiles" sh -c '
    c=$(dpkg-query -W -f="\${Conffiles}\n" rentezyd); for f in /etc/rentezy.d/*.conf; do
    echo "$c" | grep -q " $f " || { echo "$f is not a conffile"; exit 1; }; done'
check "postinst created the rentezy system user and /var/lib/rentezy" sh -c '
    u=$(getent passwd rentezy) && [ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] &&
    [ "$(stat -c %U:%a /var/lib/rentezy)" = rentezy:750 ]'
check "the unit is enabled (deb-systemd-helper)" test -L /etc/systemd/system/multi-user.target.wants/rentezyd.service
check "the unit has the hardening and lifecycle options" sh -c '
    u=/lib/systemd/system/rentezyd.service
    for k in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes User=rentezy \
             StateDirectory=rentezy KillSignal=SIGTERM TimeoutStopSec= "ExecReload=/bin/kill -HUP \$MAINPID"; do
        grep -qF "$k" "$u" || { echo "missing: $k"; exit 1; }; done'
if command -v systemd-analyze >/dev/null 2>&1; then
    check "systemd-analyze verify accepts the unit" systemd-analyze verify /lib/systemd/system/rentezyd.service
fi

# ---- the packaged configuration and the installed daemon -----------------------------
check "rentezyd --check-config passes on /etc/rentezy.d" \
    runuser -u rentezy -- /usr/sbin/rentezyd --check-config
check "rentezyd --version runs from the installed layout" /usr/sbin/rentezyd --version

rz_pkg_stop() {
    local m
    m=$(pgrep -P "$RU_PID" 2>/dev/null | head -n 1)
    [ -n "$m" ] && kill -TERM "$m" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$RU_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$RU_PID" 2>/dev/null
    [ -n "$m" ] && kill -KILL "$m" 2>/dev/null
    wait "$RU_PID" 2>/dev/null
    RU_STATUS=$?
    RU_PID=""
}
# The packaged files as they are; only the port comes from the environment,
# as a container would set it.  No database: hello needs none.
runuser -u rentezy -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    RENTEZY_HOST_LISTEN="127.0.0.1:$PORT" RENTEZY_HOST_WORKERS=2 \
    /usr/sbin/rentezyd >>"$T/daemon.log" 2>&1 &
RU_PID=$!
if wait_http "$BASE/healthz" 100; then
    echo "ok   the installed daemon starts as rentezy and answers /healthz"
    expect_eq "/readyz" "$(status GET "$BASE/readyz")" 200
    expect_eq "hello, loaded from /usr/lib/rentezy/plugins" "$(curl -s "$BASE/v1/hello")" '{"message":"Hello, world!"}'
    master=$(pgrep -P "$RU_PID" | head -n 1)
    expect_eq "the daemon runs as the rentezy user" "$(ps -o user= -p "$master" | tr -d ' ')" rentezy
    rz_pkg_stop
    expect_eq "SIGTERM stops it with status 0" "$RU_STATUS" 0
else
    echo "FAIL the installed daemon did not answer /healthz; log:"; tail -n 20 "$T/daemon.log" | sed 's/^/     /'
    FAILS=$((FAILS + 1))
    rz_pkg_stop
fi

# The web plugin serves the packaged app from its default root.
runuser -u rentezy -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    RENTEZY_HOST_LISTEN="127.0.0.1:$PORT" RENTEZY_HOST_WORKERS=1 RENTEZY_HOST_PLUGINS=web \
    /usr/sbin/rentezyd >>"$T/daemon.log" 2>&1 &
RU_PID=$!
if wait_http "$BASE/healthz" 100; then
    check "the installed web plugin serves /usr/share/rentezy/web at /" sh -c "
        curl -sf '$BASE/' | grep -q '<div id=\"root\">' &&
        js=\$(cd /usr/share/rentezy/web/assets && ls *.js | head -n 1) &&
        curl -sf -H 'Accept-Encoding: gzip' -D - -o /dev/null '$BASE/assets/'\$js | grep -qi '^Content-Encoding: gzip'"
else
    echo "FAIL the installed daemon with the web plugin did not answer; log:"; tail -n 20 "$T/daemon.log" | sed 's/^/     /'
    FAILS=$((FAILS + 1))
fi
rz_pkg_stop

# ---- the SDK ---------------------------------------------------------------------
# Only the system's pkg-config directories: a .pc left in /usr/local by a
# `make install` must not stand in for the packaged one.
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
export PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR=/usr/lib/$MULTIARCH/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig
check "pkg-config finds the installed rentezy-sdk" sh -c '
    [ "$(pkg-config --variable=pcfiledir rentezy-sdk)" = /usr/share/pkgconfig ] &&
    [ "$(pkg-config --variable=plugindir rentezy-sdk)" = /usr/lib/rentezy/plugins ]'
cp -r /usr/share/rentezy/examples/hello "$T/hello"
check "the example builds against the installed SDK with pkg-config" \
    make -s -C "$T/hello" CFLAGS="-O2 -Wall -Wextra -Werror"
check "the example exports only its entry symbol" "$TOP/tests/check-exports.sh" "$T/hello/hello.so"
mkdir -p "$T/c2"
printf '[host]\nplugins = %s\n' "$T/hello/hello.so" > "$T/c2/00-test.conf"
check "the installed daemon accepts the example built out of tree" /usr/sbin/rentezyd -c "$T/c2" --check-config

# ---- removal, then purge --------------------------------------------------------------
for p in $PKGS; do dpkg -L "$p"; done 2>/dev/null | sort -u > "$T/files"
# shellcheck disable=SC2086
check "dpkg -r removes every package" rz_dpkg -r $PKGS
check "after removal: programs gone, conffiles, state and user kept (policy)" sh -c '
    ! test -e /usr/sbin/rentezyd && ! test -e /usr/lib/rentezy &&
    test -f /etc/rentezy.d/00-host.conf && test -d /var/lib/rentezy && getent passwd rentezy >/dev/null'
# shellcheck disable=SC2086
check "dpkg --purge purges every package" rz_dpkg --purge $PKGS
INSTALLED=""
check "after purge: /etc/rentezy.d, /usr/lib/rentezy, /usr/sbin/rentezyd, /var/lib/rentezy are gone" sh -c '
    for p in /etc/rentezy.d /usr/lib/rentezy /usr/sbin/rentezyd /var/lib/rentezy /usr/include/rentezy \
             /usr/share/rentezy /lib/systemd/system/rentezyd.service; do
        if test -e "$p"; then echo "left: $p"; exit 1; fi; done'
check "after purge: no file of any package is left" sh -c "
    while read -r f; do [ -d \"\$f\" ] || ! [ -e \"\$f\" ] || { echo \"left: \$f\"; exit 1; }; done < '$T/files'"
check "after purge: the unit's enablement is gone" sh -c '
    ! ls /etc/systemd/system/*/rentezyd.service 2>/dev/null | grep -q . &&
    ! find /var/lib/systemd/deb-systemd-helper-enabled -name "*rentezyd*" 2>/dev/null | grep -q .'
check "after purge: dpkg knows none of them" sh -c "
    ! dpkg-query -W -f='\${db:Status-Abbrev} \${Package}\n' 'rentezy*' 2>/dev/null | grep -v '^un' | grep -q ."
# The system user stays after purge (Debian practice: its uid may still own
# files); this test created it, so it deletes it again in its EXIT trap.
check "after purge: the rentezy system user is kept (policy)" getent passwd rentezy

# ---- RPM ---------------------------------------------------------------------------
if OUT="$T/rpms" "$TOP/packaging/rpm/build.sh" >"$T/rpm-build.out" 2>&1; then
    echo "ok   packaging/rpm/build.sh builds the RPMs"
else
    echo "FAIL packaging/rpm/build.sh:"; tail -n 50 "$T/rpm-build.out" | sed 's/^/     /'
    FAILS=$((FAILS + 1))
fi
check "the RPMs hold the daemon, the unit, the conffiles and the plugins" sh -c "
    cd '$T/rpms' && rpm -qpl rentezyd-*.rpm | grep -qx /usr/sbin/rentezyd &&
    rpm -qpl rentezyd-*.rpm | grep -qx /usr/lib/systemd/system/rentezyd.service &&
    rpm -qpc rentezyd-*.rpm | grep -qx /etc/rentezy.d/00-host.conf &&
    rpm -qpl rentezy-plugin-hello-*.rpm | grep -qx /usr/lib/rentezy/plugins/hello.so &&
    rpm -qpl rentezy-sdk-devel-*.rpm | grep -qx /usr/include/rentezy/plugin.h &&
    rpm -qpl rentezy-web-*.rpm | grep -qx /usr/share/rentezy/web/index.html &&
    ! rpm -qpl rentezy-sdk-devel-*.rpm | grep -q /usr/share/rentezy/web"

# ---- Kubernetes ------------------------------------------------------------------------
check "packaging/k8s/check.sh: manifests valid, role plugins exist" "$TOP/packaging/k8s/check.sh"
sed 's/^/     /' "$T/check.out" | grep -E '^ *(note|pending)' || true
finish
