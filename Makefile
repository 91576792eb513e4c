# dispatch: Juju charms in Lua, run by a small static C host.
#
#   make            build/dispatch (static) and build/juju.so
#   make demo       a demo charm through its events, over exec and the socket
#   make test       every test (C unit, busted unit + integration over exec and
#                   over the agent socket, luacheck)
#   make check-asan the same suites against an ASan+UBSan build
#   make bench      benchmarks (ratios against a baseline in the same run)
#   make fuzz       run the gob decoder fuzzer for FUZZ_SECONDS
#   make deps       apt-get the missing Debian packages
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

CC      ?= cc
LUA     ?= lua5.4
BUSTED  ?= $(LUA) /usr/bin/busted
LUACHECK ?= luacheck
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR  := /usr/lib/$(MULTIARCH)

LUA_INC := -I/usr/include/lua5.4
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -DDISPATCH_VERSION='"$(VERSION)"'

B := build
# Pure C (no lua.h): unit-tested on its own. The rest talks to Lua.
PURE_SRC := $(filter-out src/juju.c src/main.c src/json_decode.c,$(wildcard src/*.c))
MOD_SRC  := src/juju.c src/json_decode.c $(B)/embedded_module.c
HOST_SRC := src/main.c $(B)/embedded_lua.c

DEB_PKGS := build-essential liblua5.4-dev lua5.4 lua-cjson-dev lua-cjson \
            lua-busted lua-check lua-ldoc lua-yaml golang-go clang \
            libclang-rt-14-dev valgrind

.PHONY: all deps demo test check-c check-go check-lua check-unit check-integration \
        check-asan check-valgrind bench fuzz install clean lint doc

all: deps $(B)/dispatch $(B)/juju.so

# ---------------------------------------------------------------- deps
$(B)/.deps: Makefile
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@mkdir -p $(B) && touch $@
deps: $(B)/.deps

# ---------------------------------------------------------------- embedded Lua
# Lua sources become C arrays: the module's own result shaping (src/*.lua)
# in both builds, and the framework (lua/**/*.lua) as package.preload
# entries in the host.
LUA_MODULE_SRC := $(wildcard src/*.lua)
LUA_LIB_SRC    := $(shell find lua -name '*.lua' 2>/dev/null | sort)

$(B)/embedded_module.c: tools/embed.lua $(LUA_MODULE_SRC) | $(B)/.deps
	$(LUA) tools/embed.lua module $@ $(LUA_MODULE_SRC)

$(B)/embedded_lua.c: tools/embed.lua $(LUA_LIB_SRC) | $(B)/.deps
	$(LUA) tools/embed.lua preload $@ $(LUA_LIB_SRC)

# ---------------------------------------------------------------- binaries
HDRS := $(wildcard src/*.h)

$(B)/dispatch: $(HOST_SRC) $(MOD_SRC) $(PURE_SRC) $(HDRS) | $(B)/.deps
	$(CC) $(CFLAGS) $(LUA_INC) -Isrc -static -o $@ $(HOST_SRC) $(MOD_SRC) $(PURE_SRC) \
	  $(LIBDIR)/liblua5.4-cjson.a $(LIBDIR)/liblua5.4.a -lm 2> $(B)/link.log \
	  || { cat $(B)/link.log; exit 1; }
	@grep -v -e 'dlopen' -e 'getpwnam' -e 'getpwuid' -e 'in function' $(B)/link.log || true

$(B)/juju.so: $(MOD_SRC) $(PURE_SRC) $(HDRS) | $(B)/.deps
	$(CC) $(CFLAGS) $(LUA_INC) -Isrc -fPIC -shared -o $@ $(MOD_SRC) $(PURE_SRC)

# Test tools
$(B)/fakecmd: tests/helpers/fakecmd.c | $(B)/.deps
	$(CC) $(CFLAGS) -o $@ $<

GO_SRC := $(shell find tests/agent -name '*.go' 2>/dev/null)
GOENV  := GOCACHE=$(CURDIR)/$(B)/gocache GOPATH=$(CURDIR)/$(B)/gopath GOFLAGS=-mod=mod GO111MODULE=on GOPROXY=off
$(B)/fake-agent: $(GO_SRC) | $(B)/.deps
	cd tests/agent && $(GOENV) go build -o $(CURDIR)/$@ ./cmd/fake-agent
$(B)/go-jujuc: $(GO_SRC) | $(B)/.deps
	cd tests/agent && $(GOENV) go build -o $(CURDIR)/$@ ./cmd/go-jujuc

TEST_TOOLS := $(B)/fakecmd $(B)/fake-agent $(B)/go-jujuc

# ---------------------------------------------------------------- C unit tests
C_TESTS := $(patsubst tests/c/%.c,$(B)/ctest/%,$(wildcard tests/c/test_*.c))
$(B)/ctest/%: tests/c/%.c tests/c/ctest.h tests/c/testutil.h $(PURE_SRC) $(HDRS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -Itests/c -o $@ $< $(PURE_SRC)

check-c: $(C_TESTS) $(TEST_TOOLS) $(B)/fuzz_gob_replay
	@set -e; for t in $(C_TESTS); do echo "== $$t"; B=$(CURDIR)/$(B) $$t; done
	@echo "== gob fuzz corpus and crash reproducers"
	$(B)/fuzz_gob_replay tests/fuzz/corpus/* $(wildcard tests/fuzz/regressions/*)

# ---------------------------------------------------------------- Lua tests
# DISPATCH and JUJU_CPATH pick the build under test (check-asan overrides).
DISPATCH_BIN ?= $(CURDIR)/$(B)/dispatch
JUJU_CPATH   ?= $(CURDIR)/$(B)/?.so
EXTRA_TEST_ENV ?=
TEST_ENV = DISPATCH=$(DISPATCH_BIN) JUJU_CPATH='$(JUJU_CPATH)' BUILD=$(CURDIR)/$(B) \
            FAKECMD=$(CURDIR)/$(B)/fakecmd FAKE_AGENT=$(CURDIR)/$(B)/fake-agent $(EXTRA_TEST_ENV)

LUA_CHECK_DIRS := $(wildcard lua src tests tools charm-template)
check-lua: $(B)/.deps
	$(LUACHECK) -q $(LUA_CHECK_DIRS)

check-go: $(TEST_TOOLS)
	cd tests/agent && $(GOENV) go vet ./... && $(GOENV) go test ./...

check-unit: all $(TEST_TOOLS)
	$(TEST_ENV) $(BUSTED) --run=unit

check-integration: all $(TEST_TOOLS)
	$(TEST_ENV) tests/helpers/with-transport exec   $(BUSTED) --run=integration
	$(TEST_ENV) tests/helpers/with-transport socket $(BUSTED) --run=integration

test: all check-c check-go check-lua check-unit check-integration check-valgrind
	@echo "make test: all suites passed"

# ---------------------------------------------------------------- sanitizers
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
A := $(B)/asan
$(A)/dispatch: $(HOST_SRC) $(MOD_SRC) $(PURE_SRC) $(HDRS) | $(B)/.deps
	@mkdir -p $(A)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(LUA_INC) -Isrc -o $@ $(HOST_SRC) $(MOD_SRC) $(PURE_SRC) \
	  $(LIBDIR)/liblua5.4-cjson.a $(LIBDIR)/liblua5.4.a -lm -ldl
$(A)/juju.so: $(MOD_SRC) $(PURE_SRC) $(HDRS) | $(B)/.deps
	@mkdir -p $(A)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) $(LUA_INC) -Isrc -fPIC -shared -o $@ $(MOD_SRC) $(PURE_SRC)
A_CTESTS := $(patsubst tests/c/%.c,$(A)/ctest/%,$(wildcard tests/c/test_*.c))
$(A)/ctest/%: tests/c/%.c tests/c/ctest.h tests/c/testutil.h $(PURE_SRC) $(HDRS) | $(B)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -Isrc -Itests/c -o $@ $< $(PURE_SRC)

ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# juju.so under a stock lua5.4 needs the ASan runtime preloaded; the
# interpreter and busted themselves are not ours, so leaks are not checked there.
ASAN_SO_ENV := LD_PRELOAD=$(shell $(CC) -print-file-name=libasan.so):$(shell $(CC) -print-file-name=libubsan.so) \
            ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

check-asan: all $(A)/dispatch $(A)/juju.so $(A_CTESTS) $(TEST_TOOLS)
	@set -e; for t in $(A_CTESTS); do echo "== $$t"; $(ASAN_ENV) B=$(CURDIR)/$(B) $$t; done
	$(MAKE) --no-print-directory check-unit check-integration \
	  DISPATCH_BIN=$(CURDIR)/$(A)/dispatch JUJU_CPATH='$(CURDIR)/$(A)/?.so' \
	  BUSTED='env $(ASAN_SO_ENV) $(BUSTED)' \
	  EXTRA_TEST_ENV=DISPATCH_ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
	@echo "make check-asan: all suites passed under ASan+UBSan"

# valgrind cannot see malloc in a static binary: check a dynamic build.
$(B)/dispatch-dyn: $(HOST_SRC) $(MOD_SRC) $(PURE_SRC) $(HDRS) | $(B)/.deps
	$(CC) $(CFLAGS) $(LUA_INC) -Isrc -o $@ $(HOST_SRC) $(MOD_SRC) $(PURE_SRC) \
	  $(LIBDIR)/liblua5.4-cjson.a $(LIBDIR)/liblua5.4.a -lm -ldl
# The gob codec and the agent client under valgrind too (spawn and rfc3339
# take minutes there; they run under ASan+UBSan in check-asan).
VALGRIND_CTESTS := $(B)/ctest/test_gob $(B)/ctest/test_agent
check-valgrind: $(B)/dispatch-dyn $(TEST_TOOLS) $(VALGRIND_CTESTS)
	$(TEST_ENV) tests/helpers/valgrind-check $(CURDIR)/$(B)/dispatch-dyn
	@set -e; for t in $(VALGRIND_CTESTS); do echo "== valgrind $$t"; \
	  B=$(CURDIR)/$(B) valgrind -q --leak-check=full --error-exitcode=99 \
	    --child-silent-after-fork=yes $$t; done

# ---------------------------------------------------------------- fuzzing
FUZZ_SECONDS ?= 180
$(B)/fuzz_gob: tests/fuzz/fuzz_gob.c $(PURE_SRC) $(HDRS) | $(B)/.deps
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o $@ $< $(PURE_SRC)
# The fuzz target without libFuzzer: replays files once each (part of make test).
$(B)/fuzz_gob_replay: tests/fuzz/fuzz_gob.c tests/fuzz/replay.c $(PURE_SRC) $(HDRS) | $(B)/.deps
	$(CC) $(CFLAGS) -Isrc -o $@ tests/fuzz/fuzz_gob.c tests/fuzz/replay.c $(PURE_SRC)
fuzz: $(B)/fuzz_gob
	@mkdir -p $(B)/fuzz-corpus tests/fuzz/regressions
	$(B)/fuzz_gob -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -artifact_prefix=tests/fuzz/regressions/ $(B)/fuzz-corpus tests/fuzz/corpus

# ---------------------------------------------------------------- bench
bench: all $(TEST_TOOLS) $(B)/bench-trivial $(B)/bench-spawn
	$(TEST_ENV) tests/bench/run

$(B)/bench-trivial: tests/bench/trivial.c | $(B)/.deps
	$(CC) $(CFLAGS) -o $@ $<
$(B)/bench-spawn: tests/bench/spawn_loop.c | $(B)/.deps
	$(CC) $(CFLAGS) -o $@ $<

# ---------------------------------------------------------------- demo
demo: all $(TEST_TOOLS)
	$(TEST_ENV) tests/fixtures/demo-run

# ---------------------------------------------------------------- misc
doc: all
	ldoc -c config.ld .

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lua/5.4
	install -m 0755 $(B)/dispatch $(DESTDIR)$(PREFIX)/bin/dispatch
	install -m 0644 $(B)/juju.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/juju.so

clean:
	rm -rf $(B)
