# RentEzy — build, run, test, bench.
#   make run        install missing packages, build, start PostgreSQL, serve
#   make test       the same set-up, then every test (SAN=1: ASan + UBSan)
#   make bench      benchmarks; tables on stdout, JSON in bench/results/

PREFIX   ?= /usr/local
DESTDIR  ?=
PORT     ?= 8080
SAN      ?= 0
CC       ?= cc

PKGS     := libevent libevent_pthreads libpq libcjson libsodium libjwt rdkafka libcrypto check

ifeq ($(SAN),1)
BUILD    := build-san
OPT      := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANLD    := -fsanitize=address,undefined
else
BUILD    := build
OPT      := -O2
SANLD    :=
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libevent libevent_pthreads libpq libcjson libsodium libjwt rdkafka libcrypto 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS   := -std=gnu11 -g $(OPT) $(WARN) -fPIC -D_GNU_SOURCE -Isdk/include -Ihost $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LIBS     := $(PKG_LIBS) -ldl -lpthread -lm

# Plugins: hidden visibility, no undefined symbols, only the entry exported.
PLUGIN_CFLAGS  := $(CFLAGS) -fvisibility=hidden -Wa,-I.
PLUGIN_LDFLAGS := -shared $(SANLD) $(EXTRA_LDFLAGS) -Wl,--no-undefined -Wl,-z,defs
PLUGIN_LIBS    := $(shell pkg-config --libs libcjson libsodium libjwt 2>/dev/null) -lm

HOST_SRC   := $(filter-out host/main.c,$(wildcard host/*.c))
HOST_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(HOST_SRC))
PLUGINS    := $(filter-out common,$(notdir $(wildcard plugins/*)))
PLUGIN_SO  := $(patsubst %,$(BUILD)/plugins/%.so,$(PLUGINS)) $(BUILD)/plugins/hello.so
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TPLUG_SRC  := $(wildcard tests/plugins/*.c)
TPLUG_SO   := $(patsubst tests/plugins/%.c,$(BUILD)/tests/plugins/%.so,$(TPLUG_SRC)) \
              $(BUILD)/tests/plugins/abi_v1_0.so $(BUILD)/tests/plugins/abi_v1_1.so
TOOL_SRC   := $(wildcard tests/tools/*.c)
TOOL_BIN   := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))

.PHONY: all deps run test unit-test process-test bench fuzz install clean pg-start pg-stop \
        web deb rpm check-exports
.DEFAULT_GOAL := all

all: $(BUILD)/rentezyd $(PLUGIN_SO)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c $(wildcard host/*.h) sdk/include/rentezy/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/librzhost.a: $(HOST_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/rentezyd: $(BUILD)/host/main.o $(BUILD)/librzhost.a
	$(CC) $(SANLD) $(EXTRA_LDFLAGS) -o $@ $^ $(LIBS)

# Each plugin folder builds one .so from its *.c files; schema/*.sql files are
# embedded with .incbin, so they are dependencies too.
.SECONDEXPANSION:
# plugins/common holds helpers compiled (hidden) into every domain plugin.
PLUGIN_COMMON := $(wildcard plugins/common/*.c) $(wildcard plugins/common/*.h)
$(BUILD)/plugins/%.so: $$(wildcard plugins/%/*.c) $$(wildcard plugins/%/*.h) $$(wildcard plugins/%/schema/*.sql) $$(wildcard plugins/%/*.json) $(PLUGIN_COMMON) $(wildcard sdk/include/rentezy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -Iplugins/$* -Iplugins/common -o $@ $(filter %.c,$^) $(PLUGIN_LDFLAGS) $(PLUGIN_LIBS)

# hello is the SDK's example; the in-tree build uses the same source.
$(BUILD)/plugins/hello.so: sdk/examples/hello/hello.c sdk/include/rentezy/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -o $@ $< $(PLUGIN_LDFLAGS) $(PLUGIN_LIBS)

$(BUILD)/tests/plugins/%.so: tests/plugins/%.c $(wildcard tests/plugins/*.h) $(wildcard sdk/include/rentezy/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -o $@ $< $(PLUGIN_LDFLAGS) $(PLUGIN_LIBS)

# The ABI test: a plugin built against the frozen 1.0 header, not today's.
$(BUILD)/tests/plugins/abi_v1_0.so: tests/abi/abi_v1_0.c tests/abi/v1.0/rentezy/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isdk/include,$(PLUGIN_CFLAGS)) -Itests/abi/v1.0 -o $@ $< $(PLUGIN_LDFLAGS) $(PLUGIN_LIBS)

$(BUILD)/tests/plugins/abi_v1_1.so: tests/abi/abi_v1_1.c tests/abi/v1.1/rentezy/plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Isdk/include,$(PLUGIN_CFLAGS)) -Itests/abi/v1.1 -o $@ $< $(PLUGIN_LDFLAGS) $(PLUGIN_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librzhost.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/librzhost.a $(SANLD) $(LIBS) $(CHECK_LIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/librzhost.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/librzhost.a $(SANLD) $(LIBS)

# ---- the web app (React + Vite, from the npm registry) --------------------------
WEB_OUT := $(BUILD)/web
web: $(WEB_OUT)/index.html
$(WEB_OUT)/index.html: web/package.json web/package-lock.json web/vite.config.js web/index.html $(shell find web/src -type f 2>/dev/null)
	cd web && npm ci --no-audit --no-fund && npx vite build --outDir ../$(WEB_OUT) --emptyOutDir

# ---- the private PostgreSQL ------------------------------------------------
pg-start:
	@scripts/pg.sh start

pg-stop:
	@scripts/pg.sh stop

# ---- the two commands ---------------------------------------------------------
run: deps all web pg-start
	@scripts/run.sh $(BUILD) $(PORT)

test: deps all web $(UNIT_BIN) $(TPLUG_SO) $(TOOL_BIN) pg-start
	@BUILD=$(BUILD) SAN=$(SAN) tests/run.sh

unit-test: all $(UNIT_BIN) $(TPLUG_SO) pg-start
	@BUILD=$(BUILD) SAN=$(SAN) tests/run.sh unit

bench: deps all $(TOOL_BIN) $(TPLUG_SO) pg-start
	@BUILD=$(BUILD) bench/run.sh

# libFuzzer targets (clang): make fuzz [FUZZ_SECONDS=60]
FUZZ_SECONDS ?= 20
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
build-fuzz/%: fuzz/%.c $(HOST_SRC) $(wildcard host/*.h)
	@mkdir -p build-fuzz
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -Isdk/include -Ihost $(PKG_CFLAGS) \
	    -o $@ $< $(HOST_SRC) $(LIBS)
fuzz: deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do \
	    mkdir -p build-fuzz/corpus-$$(basename $$f); \
	    echo "== $$f ($(FUZZ_SECONDS)s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus-$$(basename $$f) fuzz/corpus/$$(basename $$f) 2>&1 | tail -n 3; \
	done

check-exports: $(PLUGIN_SO)
	@tests/check-exports.sh $(PLUGIN_SO)

# ---- install ------------------------------------------------------------------
LIBDIR  ?= $(PREFIX)/lib
PLUGDIR ?= $(LIBDIR)/rentezy/plugins
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PLUGDIR) $(DESTDIR)$(PREFIX)/include/rentezy \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)/etc/rentezy.d \
	    $(DESTDIR)$(PREFIX)/share/rentezy/examples/hello
	install -m 755 $(BUILD)/rentezyd $(DESTDIR)$(PREFIX)/sbin/rentezyd
	install -m 644 $(PLUGIN_SO) $(DESTDIR)$(PLUGDIR)/
	install -m 644 sdk/include/rentezy/*.h $(DESTDIR)$(PREFIX)/include/rentezy/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@PLUGDIR@|$(PLUGDIR)|g' sdk/rentezy-sdk.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/rentezy-sdk.pc
	install -m 644 etc/rentezy.d/*.conf $(DESTDIR)/etc/rentezy.d/
	for f in man/*.[1-8]; do install -D -m 644 $$f $(DESTDIR)$(PREFIX)/share/man/man$${f##*.}/$$(basename $$f); done
	install -m 644 sdk/examples/hello/* $(DESTDIR)$(PREFIX)/share/rentezy/examples/hello/
	if [ -f $(WEB_OUT)/index.html ]; then install -d $(DESTDIR)$(PREFIX)/share/rentezy/web && \
	    cp -r $(WEB_OUT)/. $(DESTDIR)$(PREFIX)/share/rentezy/web/; fi

# ---- packages -------------------------------------------------------------------
# rentezy-web carries the built web app: make web first.
deb: deps web
	@BUILD=$(BUILD) packaging/deb/build.sh

rpm: deps web
	@BUILD=$(BUILD) packaging/rpm/build.sh

clean:
	rm -rf build build-san build-fuzz
