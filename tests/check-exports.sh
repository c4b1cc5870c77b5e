#!/bin/sh
# Each plugin must export exactly its entry symbol (and no host symbol may be
# undefined in it: -Wl,--no-undefined already makes that a link error).
set -u
rc=0
for so in "$@"; do
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u)
    if [ "$syms" != "rentezy_plugin_v1" ]; then
        echo "FAIL $so exports: $(echo $syms)"
        rc=1
    else
        echo "ok   $so exports only rentezy_plugin_v1"
    fi
done
exit $rc
