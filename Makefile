# Postbode: one non-recursive Makefile.
#
#   make              release binary: build/release/postbode
#   make asan         sanitizer (ASan+UBSan) binary and every test program: build/asan/
#   make check        the whole test suite (scripts/run-tests)
#   make format-check clang-format must leave every file as it is
#
# Two object trees share the sources: build/release/ with the hardening flags,
# build/asan/ with the sanitizers, which is what the tests run.

CC      ?= cc
PKGS    := libmicrohttpd gnutls jansson sqlite3 libpq libsodium inih liboath libqrencode libidn2
TPKGS   := cmocka libcurl opendkim

PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    := $(shell pkg-config --libs $(PKGS)) -lcsv -lpthread
TPKG_CFLAGS := $(shell pkg-config --cflags $(TPKGS))
TPKG_LIBS   := $(shell pkg-config --libs $(TPKGS))

# -Wno-format-truncation: snprintf into fixed buffers is how messages are cut
# on purpose; where a cut would matter (paths) the code checks the result.
WARN    := -std=c17 -Wall -Wextra -Wshadow -Wformat=2 -Werror -Wno-format-truncation
DEFS    := -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE
INCS    := -Isrc -Ibuild/gen
HARDEN  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
LDHARD  := -pie -Wl,-z,relro,-z,now

REL_CFLAGS  := $(WARN) $(DEFS) $(INCS) -O2 -g $(HARDEN) $(PKG_CFLAGS)
REL_LDFLAGS := $(LDHARD)
SAN         := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS := $(WARN) $(DEFS) $(INCS) -Itests -O1 -g $(SAN) -fPIE $(PKG_CFLAGS) $(TPKG_CFLAGS)
ASAN_LDFLAGS:= $(SAN) -pie

SRC      := $(sort $(wildcard src/*.c src/*/*.c src/*/*/*.c))
LIB_SRC  := $(filter-out src/main.c,$(SRC)) build/gen/web_assets.c build/gen/common_passwords.c
WEB_FILES:= $(sort $(wildcard src/web/*.html src/web/*.css src/web/*.js src/web/*.svg src/web/*.ico))

REL_OBJ  := $(patsubst %.c,build/release/obj/%.o,$(LIB_SRC))
ASAN_OBJ := $(patsubst %.c,build/asan/obj/%.o,$(LIB_SRC))

# Test programs: every tests/<suite>/test_*.c is one cmocka program.
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c tests/store/test_*.c tests/http/test_*.c))
TEST_BIN := $(patsubst tests/%.c,build/asan/tests/%,$(TEST_SRC))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
SUPPORT_OBJ := $(patsubst %.c,build/asan/obj/%.o,$(filter-out tests/support/freeport.c,$(SUPPORT_SRC)))

# Benchmarks written in C: every bench/*.c is one program, linked with the release objects.
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,build/release/bench/%,$(BENCH_SRC))

.PHONY: all release asan tests bench check format format-check clean
all: release
release: build/release/postbode
asan: build/asan/postbode tests
tests: $(TEST_BIN) build/asan/tests/freeport

build/release/postbode: build/release/obj/src/main.o $(REL_OBJ)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/postbode: build/asan/obj/src/main.o $(ASAN_OBJ)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/release/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -MMD -MP -c -o $@ $<

build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c -o $@ $<

build/asan/tests/%: tests/%.c $(ASAN_OBJ) $(SUPPORT_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -Itests -o $@ $< $(ASAN_OBJ) $(SUPPORT_OBJ) $(ASAN_LDFLAGS) $(PKG_LIBS) $(TPKG_LIBS)

bench: $(BENCH_BIN)

build/release/bench/%: bench/%.c $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $< $(REL_OBJ) $(REL_LDFLAGS) $(PKG_LIBS)

build/asan/tests/freeport: tests/support/freeport.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(DEFS) -O1 -o $@ $<

# The web UI's files, compiled into the binary (no build step for the UI itself).
build/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(DEFS) -O1 -o $@ $<

build/gen/web_assets.c: build/tools/embed $(WEB_FILES)
	@mkdir -p $(@D)
	build/tools/embed src/web $(WEB_FILES) > $@.tmp && mv $@.tmp $@

# The list of common passwords refused by the password policy.
build/gen/common_passwords.c: build/tools/embed share/common-passwords-12plus.txt
	@mkdir -p $(@D)
	build/tools/embed --text pb_common_passwords share/common-passwords-12plus.txt > $@.tmp && mv $@.tmp $@

check:
	scripts/run-tests

FORMAT_FILES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: clean"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
