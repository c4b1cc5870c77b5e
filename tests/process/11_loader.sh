#!/usr/bin/env bash
# The loader's refusals (one clear line, non-zero exit), load order, the ABI
# test, exported symbols, and the command-line tools.
. "$(dirname "$0")/../lib.sh"

refuse() { # NAME PLUGINS EXPECTED-TEXT [NO_DB]
    local name=$1 plugins=$2 want=$3
    rm -rf "$T/r"; PLUGINS="$plugins" rz_conf "$T/r"
    if "$RZD" -c "$T/r" --check-config >"$T/out" 2>&1; then
        echo "FAIL $name: accepted"; FAILS=$((FAILS + 1)); return
    fi
    if grep -q -- "$want" "$T/out"; then echo "ok   refuses $name"; else
        echo "FAIL $name: message lacks '$want':"; cat "$T/out"; FAILS=$((FAILS + 1)); fi
}
P=$TPLUGDIR
NO_DB=1 refuse "a different major" "$P/bad_major.so" "built for ABI 2.0, this host implements 1."
NO_DB=1 refuse "a newer minor" "$P/newer_minor.so" "needs ABI 1.3, this host implements only 1.2; update rentezyd"
NO_DB=1 refuse "a missing entry symbol" "$P/no_entry.so" "no entry symbol rentezy_plugin_v1"
NO_DB=1 refuse "a bad magic number" "$P/bad_magic.so" "descriptor magic 0xdeadbeef, expected 0x525a504c"
NO_DB=1 refuse "a too small descriptor" "$P/small_desc.so" "descriptor size 16 is smaller"
NO_DB=1 refuse "a duplicate plugin name" "hello $P/dup_name.so" "duplicate plugin name 'hello'"
NO_DB=1 refuse "a duplicate route" "hello $P/dup_route.so" "duplicate route GET /v1/hello: already registered as /v1/hello by hello"
NO_DB=1 refuse "a missing required plugin" "$P/needs_missing.so" "requires plugin 'nosuch', which is not in \[host\] plugins"
NO_DB=1 refuse "a missing capability" "$P/needs_db.so" "requires capability cap:db, which is missing: \[database\] url is not set"
NO_DB=1 refuse "an undocumented route" "$P/undocumented.so" "route GET /v1/undocumented has no OpenAPI documentation"
NO_DB=1 refuse "a missing file" "$P/does_not_exist.so" "cannot load"
NO_DB=1 refuse "a bad plugin name" "Bad-Name" "neither a plugin name"

NO_DB=1 PLUGINS="$P/needs_hello.so hello" rz_conf "$T/o"
"$RZD" -c "$T/o" --list-plugins > "$T/list"
expect_eq "requirements load first" "$(awk 'NR>1 {print $1}' "$T/list" | tr '\n' ' ')" "hello needs_hello "
check "list shows version, ABI and file" grep -qE "^hello +1\.0\.0 +1\.2 +$PLUGDIR/hello.so" "$T/list"

# An old plugin (built against the frozen 1.0 header) works in today's host.
NO_DB=1 PLUGINS="$P/abi_v1_0.so" rz_conf "$T/abi"
rz_start "$T/abi" || exit 1
expect_eq "a 1.0 plugin serves in a 1.2 host" "$(curl -s "$BASE/v1/abi-old/7")" '{"built_for":"1.0","id":"7"}'
rz_stop
# ...and one built against the frozen 1.1 header (more in 13_abi12.sh).
NO_DB=1 PLUGINS="$P/abi_v1_1.so" rz_conf "$T/abi11"
rz_start "$T/abi11" || exit 1
expect_eq "a 1.1 plugin serves in a 1.2 host" "$(curl -s -X POST "$BASE/v1/abi-old11?q" -d 'ab')" '{"built_for":"1.1","query":"q","bytes":2}'
rz_stop

check "plugins export only their entry symbol" "$TOP/tests/check-exports.sh" "$PLUGDIR"/*.so

# Command line.
check "--version names the ABI" sh -c "'$RZD' --version | grep -q 'plugin ABI 1.2'"
check "--help lists the options" sh -c "'$RZD' --help | grep -q -- '--check-config'"
check "--help agrees with rentezyd(8): every option and command it names is documented" sh -c '
    man=$(groff -man -Tutf8 "'"$TOP"'/man/rentezyd.8" 2>/dev/null | sed "s/.\x08//g")
    for w in $("'"$RZD"'" --help | grep -oE -- "--[a-z-]+|migrate|jobs|bus|replay|dlq" | sort -u); do
        echo "$man" | grep -q -- "$w" || { echo "rentezyd(8) lacks $w"; exit 1; }
    done'
check "an unknown option exits 2" sh -c "'$RZD' --bogus >/dev/null 2>&1; test \$? = 2"
echo "secret-value-123" > "$T/secret"
NO_DB=1 rz_conf "$T/p" "[database]" "url = postgresql://app:hunter2@db/rentezy" "[plugin.hello]" "api_token_file = $T/secret"
"$RZD" -c "$T/p" --print-config > "$T/printed" 2>&1
check "--print-config redacts URL passwords" sh -c "! grep -q hunter2 '$T/printed' && grep -q 'postgresql://app:' '$T/printed'"
check "--print-config redacts secrets from files" sh -c "! grep -q secret-value-123 '$T/printed'"
check "--check-config accepts the shipped configuration" sh -c \
    "RENTEZY_HOST_PLUGIN_DIR='$PLUGDIR' '$RZD' -c '$TOP/etc/rentezy.d' --check-config"
mkdir -p "$T/bad"; printf '[host]\nworkers = 2\nwrokers = 3\n' > "$T/bad/00-x.conf"
check "an unknown host key is an error naming file:line" sh -c \
    "'$RZD' -c '$T/bad' --check-config 2>&1 | grep -q '00-x.conf:3'"
check "an environment override applies" sh -c \
    "NO=1 RENTEZY_PLUGIN_HELLO_GREETING=Yo '$RZD' -c '$T/p' --print-config | grep -q 'greeting = Yo'"
finish
