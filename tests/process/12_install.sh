#!/usr/bin/env bash
# make install into a DESTDIR; the example plugin builds out of tree against
# the installed SDK with pkg-config and serves from the installed daemon.
. "$(dirname "$0")/../lib.sh"

D="$T/root"
check "make install honours DESTDIR and PREFIX" \
    make -s -C "$TOP" install DESTDIR="$D" PREFIX=/usr SAN="${SAN:-0}"
check "the daemon, SDK header, pc file, man pages and config are installed" sh -c "
    test -x '$D/usr/sbin/rentezyd' && test -f '$D/usr/include/rentezy/plugin.h' &&
    test -f '$D/usr/lib/pkgconfig/rentezy-sdk.pc' && test -f '$D/usr/share/man/man8/rentezyd.8' &&
    test -f '$D/usr/share/man/man5/rentezy.d.5' && test -f '$D/usr/share/man/man3/rentezy-plugin.3' &&
    test -f '$D/etc/rentezy.d/00-host.conf' && test -f '$D/usr/lib/rentezy/plugins/hello.so'"

export PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_PATH="$D/usr/lib/pkgconfig"
check "pkg-config knows rentezy-sdk" sh -c "pkg-config --cflags rentezy-sdk | grep -q '$D/usr/include'"
cp -r "$D/usr/share/rentezy/examples/hello" "$T/hello"
check "the example builds out of tree with its Makefile" make -s -C "$T/hello" CFLAGS="-O2 -Wall -Wextra -Werror"
check "the example exports only its entry symbol" "$TOP/tests/check-exports.sh" "$T/hello/hello.so"

NO_DB=1 PLUGINS="$T/hello/hello.so" rz_conf "$T/c" "[plugin.hello]" "greeting = Howdy"
RZD="$D/usr/sbin/rentezyd"
rz_start "$T/c" || exit 1
expect_eq "the installed daemon serves the out-of-tree plugin" "$(curl -s "$BASE/v1/hello")" '{"message":"Howdy, world!"}'
finish
