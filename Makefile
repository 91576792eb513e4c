# dispatch: Juju charms in Lua, run by a small static C host.
#
#   make             build/dispatch (static) and build/juju.so; never installs
#                    anything (run `make deps` first on a fresh machine)
#   make deps        apt-get the Debian packages building needs
#   make test        apt-get what testing needs, then every suite (`make check`)
#   make demo        the demo (both templates on a simulated unit), after
#                    installing what it needs
#   make check       every suite, without touching packages
#   make check-asan  the suites against an ASan+UBSan build
#   make bench       benchmarks (ratios against a baseline in the same run)
#   make fuzz        the fuzzers, FUZZ_SECONDS each
#   make doc         the API reference in build/doc
#   make install     PREFIX=/usr/local DESTDIR= (stripped)
#   make charm       pack charm-template/machine (or CHARM=dir) into
#                    build/<name>_<arch>.charm, one per architecture, no
#                    charmcraft (CHARM_OUT=dir, ARCHES="amd64 arm64"; needs
#                    lua-yaml, lua-filesystem and make deps-cross)
#   make new-charm NAME=my-charm DIR=../my-charm [TEMPLATE=kubernetes]
#                    a new charm directory from a template (machine, the
#                    default, or kubernetes)
#
# WERROR=1 turns warnings into errors (CI sets it). Tools and library paths
# are variables: CC, LUA, BUSTED, LUACHECK, LDOC, GO, FUZZ_CC, LUA_INC,
# LUA_LIB, CJSON_LIB, LYAML_LIB, YAML_LIB, LYAML_DIR, ZLIB_LIB, JUJU_SO_ZLIB,
# HTTP_PARSER_LIB, JUJU_SO_HTTP_PARSER, B (the build directory).

PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

LUA      ?= lua5.4
BUSTED   ?= $(LUA) $(shell command -v busted 2>/dev/null || echo busted)
LUACHECK ?= luacheck
LDOC     ?= ldoc
GO       ?= go
FUZZ_CC  ?= clang
INSTALL  ?= install
STRIP    ?= strip

# Lua headers and static libraries, found where the compiler looks.
LUA_INC   ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIB   ?= $(shell $(CC) -print-file-name=liblua5.4.a)
CJSON_LIB ?= $(shell $(CC) -print-file-name=liblua5.4-cjson.a)
# YAML: Debian's lua-yaml (lyaml). Its C part (luaopen_yaml) and libyaml are
# linked into dispatch; its Lua modules are read from LYAML_DIR at build time
# and embedded like the framework (`require "lyaml"`, loaded on first use).
# juju.so carries the Lua modules too; under a stock lua5.4 the C `yaml`
# comes from the system's yaml.so.
LYAML_LIB ?= $(shell $(CC) -print-file-name=liblua5.4-yaml.a)
YAML_LIB  ?= $(shell $(CC) -print-file-name=libyaml.a)
LYAML_DIR ?= /usr/share/lua/5.4/lyaml
# zlib (inflate and CRC-32 for src/unzip.c), static in every build.
ZLIB_LIB  ?= $(shell $(CC) -print-file-name=libz.a)
# juju.so takes zlib from libz.a too: Debian builds it position independent
# (its only absolute relocations are R_X86_64_64 in data, which a shared
# object may hold), and its symbols stay inside juju.so, so a Lua module
# with another zlib in the same interpreter is not disturbed. Where libz.a
# is not PIC: make JUJU_SO_ZLIB=-lz.
JUJU_SO_ZLIB ?= $(ZLIB_LIB) -Wl,--exclude-libs,libz.a
# http-parser (Debian's libhttp-parser-dev: src/http.c reads Pebble's HTTP
# responses with it), static in every build. Its libhttp_parser.a is
# position independent (PC-relative code and jump tables; its only absolute
# relocations are R_X86_64_64 in .data.rel.ro), so juju.so takes it too,
# its symbols kept inside; where it is not PIC: make JUJU_SO_HTTP_PARSER=-lhttp_parser.
HTTP_PARSER_LIB ?= $(shell $(CC) -print-file-name=libhttp_parser.a)
JUJU_SO_HTTP_PARSER ?= $(HTTP_PARSER_LIB) -Wl,--exclude-libs,libhttp_parser.a

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN += -Werror
endif
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DDISPATCH_VERSION='"$(VERSION)"' -Isrc -I$(B)
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(LUA_INC) $(CPPFLAGS) -MMD -MP

B := build
A := $(B)/asan

BUILD_PKGS := build-essential pkg-config liblua5.4-dev lua5.4 lua-cjson-dev \
              lua-yaml lua-yaml-dev libyaml-dev zlib1g-dev libhttp-parser-dev
PACK_PKGS  := lua-yaml lua-filesystem
TEST_PKGS  = $(BUILD_PKGS) $(PACK_PKGS) lua-cjson lua-busted lua-check lua-ldoc lua-markdown \
              golang-go golang-github-gorilla-websocket-dev clang libclang-rt-14-dev valgrind zip $(CROSS_PKGS)

.PHONY: clean-cross all deps deps-test deps-demo run-demo need-build-deps need-gorilla test check demo check-c check-go check-lua \
        check-template check-cross \
        check-unit check-integration check-asan check-valgrind bench fuzz install \
        clean doc FORCE

all: $(B)/dispatch $(B)/juju.so

# ---------------------------------------------------------------- packages
deps:
	tools/deps $(BUILD_PKGS)
deps-test:
	tools/deps $(TEST_PKGS)
deps-demo:
	tools/deps $(BUILD_PKGS) $(PACK_PKGS)

# A clear word instead of a compiler error when the build packages are missing.
need-build-deps:
	@command -v $(LUA) >/dev/null || { echo "$(LUA) not found: run 'make deps'"; exit 1; }
	@test -f "$(LUA_LIB)" || { echo "liblua5.4.a not found: run 'make deps'"; exit 1; }
	@test -f "$(CJSON_LIB)" || { echo "liblua5.4-cjson.a not found: run 'make deps'"; exit 1; }
	@test -f "$(LYAML_LIB)" || { echo "liblua5.4-yaml.a not found: run 'make deps'"; exit 1; }
	@test -f "$(YAML_LIB)" || { echo "libyaml.a not found: run 'make deps'"; exit 1; }
	@for m in $(LYAML_MODULES); do test -f "$(LYAML_DIR)/$$m.lua" || \
	  { echo "$(LYAML_DIR)/$$m.lua not found: run 'make deps' (or set LYAML_DIR)"; exit 1; }; done
	@test -f "$(ZLIB_LIB)" || { echo "libz.a not found: run 'make deps'"; exit 1; }
	@test -f "$(HTTP_PARSER_LIB)" || { echo "libhttp_parser.a not found: run 'make deps'"; exit 1; }

# ---------------------------------------------------------------- sources
# C that talks to Lua; everything else in src/ is pure C (no lua.h) with its
# own unit tests in tests/c.
LUA_C    := src/main.c src/charmload.c src/juju.c src/json_decode.c src/json_encode.c src/json.c src/embedded.c src/sys.c src/closer.c src/luaargs.c \
            src/pebble_io.c src/lazymod.c
PURE_C   := $(filter-out $(LUA_C),$(wildcard src/*.c))
HOST_C   := src/main.c src/charmload.c src/lazymod.c
MODULE_C := $(filter-out $(HOST_C),$(LUA_C))

obj = $(patsubst src/%.c,$(1)/%.o,$(2))
PURE_O   := $(call obj,$(B)/obj,$(PURE_C))
MODULE_O := $(call obj,$(B)/obj,$(MODULE_C)) $(B)/obj/embedded_lua.o
HOST_O   := $(call obj,$(B)/obj,$(HOST_C))
PIC_O    := $(call obj,$(B)/pic,$(PURE_C) $(MODULE_C)) $(B)/pic/embedded_lua.o
ASAN_O   := $(call obj,$(A)/obj,$(PURE_C) $(MODULE_C) $(HOST_C)) $(A)/obj/embedded_lua.o

$(B)/obj/%.o: src/%.c | need-build-deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(B)/pic/%.o: src/%.c | need-build-deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<
$(B)/obj/embedded_lua.o $(B)/pic/embedded_lua.o: $(B)/embedded_lua.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(if $(findstring pic,$@),-fPIC) -c -o $@ $<

# ---------------------------------------------------------------- embedded Lua
# Every Lua module (the framework under LUA_DIR, and the module's own
# src/*.lua) becomes a C array in one generated file, installed by
# luaopen_juju in both builds. The list of files is a prerequisite too, so
# removing a file rebuilds it.
# EMBED_BYTECODE=1 embeds compiled chunks (faster to load; debug info
# kept), for a build that links the same Lua as $(LUA) on the same kind of
# machine; 0 embeds source (cross builds).
# lyaml's modules come from LYAML_DIR, named lyaml, lyaml.functional, ...
# (a missing one is need-build-deps's message, not make's).
LUA_DIR        ?= lua
EMBED_BYTECODE ?= 1
LUA_MODULE_SRC := $(sort $(wildcard src/*.lua))
LUA_LIB_SRC    := $(sort $(shell find $(LUA_DIR) -name '*.lua' 2>/dev/null))
LYAML_MODULES  := init functional explicit implicit
LYAML_SRC      := $(addprefix $(LYAML_DIR)/,$(addsuffix .lua,$(LYAML_MODULES)))
EMBED_LIST := $(EMBED_BYTECODE) $(LUA_MODULE_SRC) | $(LUA_DIR) $(LUA_LIB_SRC) | $(LYAML_SRC)
$(B)/embedded.list: FORCE
	@mkdir -p $(B)
	@echo '$(EMBED_LIST)' | cmp -s - $@ 2>/dev/null || echo '$(EMBED_LIST)' > $@
$(B)/embedded_lua.c: tools/embed.lua tools/bytecode.lua $(B)/embedded.list $(LUA_MODULE_SRC) $(LUA_LIB_SRC) \
                     $(wildcard $(LYAML_SRC)) | need-build-deps
	$(LUA) tools/embed.lua $(if $(filter 1,$(EMBED_BYTECODE)),--bytecode) $@ \
	  $(LUA_MODULE_SRC) -- $(LUA_DIR) $(LUA_LIB_SRC) --package lyaml $(LYAML_DIR) $(LYAML_SRC)

# ---------------------------------------------------------------- binaries
STATIC_LIBS := $(LYAML_LIB) $(YAML_LIB) $(CJSON_LIB) $(LUA_LIB) $(ZLIB_LIB) $(HTTP_PARSER_LIB) -lm

# Static glibc warns that dlopen/getpw* would need the shared libc at run
# time; Lua's loadlib uses dlopen (unused here: cpath is empty), we never
# call getpw*. Anything else the linker says is shown.
$(B)/dispatch: $(HOST_O) $(MODULE_O) $(PURE_O)
	$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS) 2> $(B)/link.log \
	  || { cat $(B)/link.log; exit 1; }
	@grep -v -e 'dlopen' -e 'getpwnam' -e 'getpwuid' -e 'in function' $(B)/link.log || true

$(B)/juju.so: $(PIC_O)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(JUJU_SO_ZLIB) $(JUJU_SO_HTTP_PARSER)

# valgrind cannot see malloc in a static binary: the same objects, dynamic.
$(B)/dispatch-dyn: $(HOST_O) $(MODULE_O) $(PURE_O)
	$(CC) $(CFLAGS) -o $@ $^ $(STATIC_LIBS) -ldl

# ---------------------------------------------------------------- test tools
# fakecmd: the recording stand-in for every hook command; sigrun: run a
# program with signals ignored or blocked, as a hostile parent would.
$(B)/fakecmd $(B)/sigrun: $(B)/%: tests/helpers/%.c | need-build-deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<

GO_SRC := $(shell find tests/agent -name '*.go' 2>/dev/null)
GOENV  := GOCACHE=$(CURDIR)/$(B)/gocache GOPATH=$(CURDIR)/$(B)/gopath GOFLAGS=-mod=mod \
          GO111MODULE=on GOPROXY=off
$(B)/fake-agent: $(GO_SRC)
	cd tests/agent && $(GOENV) $(GO) build -o $(CURDIR)/$@ ./cmd/fake-agent
$(B)/go-jujuc: $(GO_SRC)
	cd tests/agent && $(GOENV) $(GO) build -o $(CURDIR)/$@ ./cmd/go-jujuc

# The fake Pebble (tests/pebble) and its Go reference client. Their one
# dependency, gorilla/websocket, is Debian's source tree, named by a
# directory replace in tests/pebble/go.mod (no network, no module cache).
GORILLA_DIR := /usr/share/gocode/src/github.com/gorilla/websocket
PEBBLE_SRC  := $(shell find tests/pebble -name '*.go' 2>/dev/null) tests/pebble/go.mod
need-gorilla:
	@test -f $(GORILLA_DIR)/go.mod || \
	  { echo "$(GORILLA_DIR) not found: run 'make deps-test' (golang-github-gorilla-websocket-dev)"; exit 1; }
$(B)/fake-pebble: $(PEBBLE_SRC) | need-gorilla
	cd tests/pebble && $(GOENV) $(GO) build -o $(CURDIR)/$@ ./cmd/fake-pebble
$(B)/go-pebble-client: $(PEBBLE_SRC) | need-gorilla
	cd tests/pebble && $(GOENV) $(GO) build -o $(CURDIR)/$@ ./cmd/go-pebble-client

# pebble-stub: a tiny Pebble socket (HTTP, and exec's websockets, with the
# websocket code of src/) for the juju.pebble.io specs.
PEBBLE_STUB_O := $(call obj,$(B)/obj,src/websocket.c src/http.c src/unixaddr.c src/sha1.c src/base64.c src/outcome.c)
$(B)/pebble-stub: tests/helpers/pebble-stub.c $(PEBBLE_STUB_O) | need-build-deps
	$(CC) $(ALL_CFLAGS) -o $@ $< $(PEBBLE_STUB_O) $(HTTP_PARSER_LIB) -lm

TEST_TOOLS := $(B)/fakecmd $(B)/sigrun $(B)/fake-agent $(B)/go-jujuc $(B)/pebble-stub $(B)/fake-pebble \
              $(B)/go-pebble-client

# ---------------------------------------------------------------- C unit tests
# Each tests/c/test_*.c is one program, linked with every object of the
# module (the pure C tests use only their part) and static Lua.
C_TESTS   := $(patsubst tests/c/%.c,%,$(wildcard tests/c/test_*.c))
CTEST_DEP := tests/c/ctest.h tests/c/testutil.h
$(B)/ctest/%: tests/c/%.c $(CTEST_DEP) $(MODULE_O) $(PURE_O)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/c -o $@ $< $(MODULE_O) $(PURE_O) $(LUA_LIB) $(ZLIB_LIB) $(HTTP_PARSER_LIB) -lm -ldl

# Fuzz targets: tests/fuzz/fuzz_*.c. Each also builds without libFuzzer as a
# replayer of its committed corpus and crash reproducers (part of make test).
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
$(B)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(MODULE_O) $(PURE_O)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(MODULE_O) $(PURE_O) $(LUA_LIB) $(ZLIB_LIB) $(HTTP_PARSER_LIB) -lm -ldl

check-c: $(addprefix $(B)/ctest/,$(C_TESTS)) $(addprefix $(B)/fuzz/replay_,$(FUZZERS)) $(TEST_TOOLS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; B=$(CURDIR)/$(B) $(B)/ctest/$$t; done
	@set -e; for f in $(FUZZERS); do echo "== fuzz corpus: $$f"; \
	  $(B)/fuzz/replay_$$f tests/fuzz/corpus/$$f/* $$(ls tests/fuzz/regressions/$$f/* 2>/dev/null); done

# ---------------------------------------------------------------- Lua tests
# DISPATCH_BIN and JUJU_CPATH pick the build under test (check-asan overrides).
DISPATCH_BIN ?= $(CURDIR)/$(B)/dispatch
JUJU_CPATH   ?= $(CURDIR)/$(B)/?.so
EXTRA_TEST_ENV ?=
TEST_ENV = DISPATCH=$(DISPATCH_BIN) JUJU_CPATH='$(JUJU_CPATH)' BUILD=$(CURDIR)/$(B) \
           FAKECMD=$(CURDIR)/$(B)/fakecmd FAKE_AGENT=$(CURDIR)/$(B)/fake-agent \
           SIGRUN=$(CURDIR)/$(B)/sigrun PEBBLE_STUB=$(CURDIR)/$(B)/pebble-stub $(EXTRA_TEST_ENV)

check-lua:
	$(LUACHECK) -q $(wildcard lua src tests tools charm-template)

check-go: $(TEST_TOOLS)
	cd tests/agent && $(GOENV) $(GO) vet ./... && $(GOENV) $(GO) test ./...
	cd tests/pebble && $(GOENV) $(GO) vet ./... && $(GOENV) $(GO) test ./...

check-unit: all $(TEST_TOOLS)
	$(TEST_ENV) $(BUSTED) --run=unit

# Twice, once per transport; specs where hook commands play no part
# (tagged #once) run in the first pass only.
check-integration: all $(TEST_TOOLS)
	$(TEST_ENV) tests/helpers/with-transport exec   $(BUSTED) --run=integration
	$(TEST_ENV) tests/helpers/with-transport socket $(BUSTED) --run=integration --exclude-tags=once

# The template charms' own specs, as a charm author runs them (busted in the
# charm's directory), with this build's juju.so.
TEMPLATES := machine kubernetes
check-template: all
	@set -e; for t in $(TEMPLATES); do echo "== charm-template/$$t"; \
	  (cd charm-template/$$t && $(BUSTED) --cpath='$(JUJU_CPATH)'); done

# Every architecture, under qemu-user (tests/cross/run; skipped, saying so,
# without the cross compilers and qemu: make deps-cross).
check-cross: all $(TEST_TOOLS)
	$(TEST_ENV) ARCHES='$(ARCHES)' HOST_ARCH=$(HOST_ARCH) BUSTED='$(BUSTED)' tests/cross/run

check: all check-c check-go check-lua check-unit check-integration check-template check-valgrind check-cross doc
	@echo "make check: all suites passed"

test: deps-test
	@$(MAKE) --no-print-directory check

# ---------------------------------------------------------------- sanitizers
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
$(A)/obj/%.o: src/%.c | need-build-deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<
$(A)/pic/%.o: src/%.c | need-build-deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -fPIC -c -o $@ $<
$(A)/obj/embedded_lua.o $(A)/pic/embedded_lua.o: $(B)/embedded_lua.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -fPIC -c -o $@ $<
ASAN_LIB_O := $(filter-out $(call obj,$(A)/obj,$(HOST_C)),$(ASAN_O))
ASAN_PIC_O := $(call obj,$(A)/pic,$(PURE_C) $(MODULE_C)) $(A)/pic/embedded_lua.o
$(A)/dispatch: $(ASAN_O)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -o $@ $^ $(STATIC_LIBS) -ldl
$(A)/juju.so: $(ASAN_PIC_O)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -shared -o $@ $^ $(JUJU_SO_ZLIB) $(JUJU_SO_HTTP_PARSER)
$(A)/ctest/%: tests/c/%.c $(CTEST_DEP) $(ASAN_LIB_O)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Itests/c -o $@ $< $(ASAN_LIB_O) $(LUA_LIB) $(ZLIB_LIB) $(HTTP_PARSER_LIB) -lm -ldl

ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# juju.so under a stock lua5.4 needs the ASan runtime preloaded; the
# interpreter and busted themselves are not ours, so leaks are not checked there.
ASAN_SO_ENV = LD_PRELOAD=$(shell $(CC) -print-file-name=libasan.so):$(shell $(CC) -print-file-name=libubsan.so) \
              ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

check-asan: all $(A)/dispatch $(A)/juju.so $(addprefix $(A)/ctest/,$(C_TESTS)) $(TEST_TOOLS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; $(ASAN_ENV) B=$(CURDIR)/$(B) $(A)/ctest/$$t; done
	$(MAKE) --no-print-directory check-unit check-integration check-template \
	  DISPATCH_BIN=$(CURDIR)/$(A)/dispatch JUJU_CPATH='$(CURDIR)/$(A)/?.so' \
	  BUSTED='env $(ASAN_SO_ENV) $(BUSTED)' \
	  EXTRA_TEST_ENV=DISPATCH_ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
	@echo "make check-asan: all suites passed under ASan+UBSan"

# The gob codec, the agent client, the JSON codec, the zip extractor, the
# HTTP, websocket and Pebble exec clients, tracing and the line editor under
# valgrind too (spawn and rfc3339 take minutes there; they run under
# ASan+UBSan).
VALGRIND_CTESTS := test_gob test_agent test_json test_states test_unzip test_http test_websocket \
                   test_pebble_exec test_trace test_lineedit test_bumpalloc
check-valgrind: $(B)/dispatch-dyn $(TEST_TOOLS) $(addprefix $(B)/ctest/,$(VALGRIND_CTESTS))
	$(TEST_ENV) tests/helpers/valgrind-check $(CURDIR)/$(B)/dispatch-dyn
	@set -e; for t in $(VALGRIND_CTESTS); do echo "== valgrind $$t"; \
	  B=$(CURDIR)/$(B) valgrind -q --leak-check=full --error-exitcode=99 \
	    --child-silent-after-fork=yes $(B)/ctest/$$t; done

# ---------------------------------------------------------------- fuzzing
FUZZ_SECONDS ?= 180
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(LUA_INC) -Isrc -I$(B)
FUZZ_SRC = $(PURE_C) $(MODULE_C) $(B)/embedded_lua.c
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(PURE_C) $(MODULE_C) $(B)/embedded_lua.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRC) $(LUA_LIB) $(ZLIB_LIB) $(HTTP_PARSER_LIB) -lm
fuzz: $(addprefix $(B)/fuzz/fuzz_,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	  mkdir -p $(B)/fuzz/corpus-$$f tests/fuzz/regressions/$$f; \
	  echo "== fuzz $$f for $(FUZZ_SECONDS) s"; \
	  $(B)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=tests/fuzz/regressions/$$f/ $(B)/fuzz/corpus-$$f tests/fuzz/corpus/$$f; done

# ---------------------------------------------------------------- bench
$(B)/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $<
$(B)/bench/trivial-static: tests/bench/trivial.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -static -o $@ $<
$(B)/bench/agent_calls: tests/bench/agent_calls.c $(call obj,$(B)/obj,src/agent.c src/gob.c src/outcome.c src/unixaddr.c)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -static -o $@ $^
bench: all $(TEST_TOOLS) $(B)/bench/trivial $(B)/bench/trivial-static $(B)/bench/spawn_loop \
       $(B)/bench/agent_calls
	$(TEST_ENV) tests/bench/run

# ---------------------------------------------------------------- demo
# The templates, packed, run through their events on a simulated unit
# (tools/demo: one `dispatch --simulate` per event), the machine one first.
demo: deps-demo
	@$(MAKE) --no-print-directory run-demo
run-demo: all
	@$(MAKE) --no-print-directory charm ARCHES=$(HOST_ARCH) CHARM=charm-template/machine
	@$(MAKE) --no-print-directory charm ARCHES=$(HOST_ARCH) CHARM=charm-template/kubernetes
	BUILD=$(CURDIR)/$(B) DEMO_CHARM=$(CURDIR)/$(B)/hello-lua_$(HOST_ARCH).charm \
	  DEMO_K8S_CHARM=$(CURDIR)/$(B)/hello-lua-k8s_$(HOST_ARCH).charm tools/demo

# ---------------------------------------------------------------- charms
# make charm: CHARM_OUT/<name>_<arch>.charm for each architecture CHARM's
# charmcraft.yaml builds for (and ARCHES allows), each holding a stripped
# static dispatch for it: this machine's build, or tools/cross's for the
# others (Debian's cross compilers: make deps-cross). tools/pack-charms.
CHARM      ?= charm-template/machine
CHARM_OUT  ?= $(B)
ARCHES     ?= amd64 arm64 ppc64el s390x
HOST_ARCH  := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
cross_pkgs_amd64   := gcc-x86-64-linux-gnu libc6-dev-amd64-cross
cross_pkgs_arm64   := gcc-aarch64-linux-gnu libc6-dev-arm64-cross
cross_pkgs_ppc64el := gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
cross_pkgs_s390x   := gcc-s390x-linux-gnu libc6-dev-s390x-cross
CROSS_ARCHES := $(filter-out $(HOST_ARCH),$(ARCHES))
CROSS_PKGS   := $(foreach a,$(CROSS_ARCHES),$(cross_pkgs_$(a))) qemu-user-static
.PHONY: charm new-charm deps-cross
deps-cross:
	tools/deps $(CROSS_PKGS)
charm: $(B)/dispatch
	@CHARM='$(CHARM)' OUT='$(CHARM_OUT)' B='$(B)' HOST_ARCH='$(HOST_ARCH)' ARCHES='$(ARCHES)' \
	  STRIP='$(STRIP)' LUA='$(LUA)' COMPILE='$(EMBED_BYTECODE)' VERSION='$(VERSION)' tools/pack-charms
new-charm:
	@test -n '$(NAME)' && test -n '$(DIR)' || \
	  { echo "usage: make new-charm NAME=my-charm DIR=../my-charm [TEMPLATE=machine|kubernetes]"; exit 2; }
	@tools/new-charm '$(NAME)' '$(DIR)' $(if $(TEMPLATE),'$(TEMPLATE)')

# ---------------------------------------------------------------- misc
doc: all
	$(LDOC) -q -c config.ld .

install: all
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lua/5.4
	$(INSTALL) -m 0755 -s --strip-program=$(STRIP) $(B)/dispatch $(DESTDIR)$(PREFIX)/bin/dispatch
	$(INSTALL) -m 0644 $(B)/juju.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/juju.so
	$(STRIP) --strip-unneeded $(DESTDIR)$(PREFIX)/lib/lua/5.4/juju.so

clean:
	rm -rf $(B)
# the target architectures' libraries tools/cross fetched (a cache outside the tree)
clean-cross:
	rm -rf "$${DISPATCH_CROSS_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/dispatch-cross}"

-include $(shell find $(B) -path '$(B)/cross' -prune -o -name '*.d' -print 2>/dev/null)
