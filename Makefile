# brgflow — build, run, test.  `make run` and `make check` install missing
# Debian packages first (tools/install-deps.sh), so a fresh machine needs
# nothing else.
CC       = mpicc
PKGS     = hdf5-openmpi fftw3 inih openblas
# Tuned for the building machine by default; `make PORTABLE=1` builds for
# any x86-64.  Every rank of a run uses the same binary, so results stay
# independent of the rank count either way.
ifeq ($(PORTABLE),1)
OPTFLAGS ?= -O2 -g
else
OPTFLAGS ?= -O3 -march=native -g
endif
CFLAGS  ?= $(OPTFLAGS)
# Language and warnings apply to every build, whatever CFLAGS says.
STDFLAGS = -std=c11 -Wall -Wextra
# Include paths live in CPPFLAGS, so `make CFLAGS=...` (a sanitizer or a
# debug build) replaces only the flags and still finds every header.
CPPFLAGS += -D_GNU_SOURCE -Iinclude $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL without its own CBLAS: OpenBLAS provides cblas_* for both.
LDLIBS   = -lscalapack-openmpi $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfftw3_mpi -lgsl -lmuparser -lm
TESTLIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

# B is the object folder: build/ for the normal build, build-san/ for the
# sanitizer build (`make san`), each with its own library and binaries.
B       ?= build
SRC      = $(wildcard src/*/*.c)
OBJ      = $(SRC:src/%.c=$(B)/%.o)
LIB      = $(B)/libbrgflow.a
BIN     ?= bin/brgflow
TESTSRC  = $(wildcard tests/unit/*.c tests/physics/*.c tests/mpi/*.c)
TESTBIN  = $(TESTSRC:tests/%.c=$(B)/tests/%)

# Open MPI refuses root unless told; vader's CMA needs ptrace, which
# containers often forbid.  Both are harmless elsewhere.
export OMPI_ALLOW_RUN_AS_ROOT = 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = 1
export OMPI_MCA_btl_vader_single_copy_mechanism = none
export OMPI_MCA_rmaps_base_oversubscribe = 1
MPIRUN   = mpirun --oversubscribe

.PHONY: all deps run check bench clean docs san fuzz
all: $(BIN) $(TESTBIN) $(B)/tools/h5cmp $(B)/tools/bench_kernels $(B)/tools/bench_eigen \
     $(B)/tools/bench_engine $(B)/tools/bench_dgemm $(B)/tests/fuzz/fuzz_input \
     $(B)/tests/fuzz/fuzz_ckpt

deps:
	@bash tools/install-deps.sh

$(B)/%.o: src/%.c $(wildcard include/brgflow/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(STDFLAGS) $(CFLAGS) -c $< -o $@

# Made anew each time, so an object whose source is gone never stays in it.
$(LIB): $(OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(B)/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(STDFLAGS) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(B)/main.o: src/main.c $(wildcard include/brgflow/*.h)
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(STDFLAGS) $(CFLAGS) -c $< -o $@

# The fuzz harnesses with a plain main() (tests/fuzz/driver.c) that feeds
# them files: how `make check` replays tests/fuzz/regress/ without clang.
$(B)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h tests/fuzz/driver.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(STDFLAGS) $(CFLAGS) $< tests/fuzz/driver.c $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

$(B)/tests/%: tests/%.c tests/testutil.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(STDFLAGS) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS) $(TESTLIBS)

$(B)/tools/%: tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(STDFLAGS) $(CFLAGS) $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

# The main job: BRG = ERG for the cos-net on 2 ranks (inputs/cosnet_erg.ini).
# --force: `make run` is a demonstration and may be repeated.
run: deps
	$(MAKE) all
	@mkdir -p results
	$(MPIRUN) -np 2 $(BIN) run inputs/cosnet_erg.ini --set run.output=results/cosnet_erg.h5 --force
	$(BIN) info results/cosnet_erg.h5
	tools/brgflow-plot results/cosnet_erg.h5 --out results/cosnet_erg_figures

check: deps
	$(MAKE) all
	$(MAKE) san
	bash tests/run_tests.sh

bench: deps
	$(MAKE) all
	bash tools/bench.sh

docs: $(BIN) docs/inputs.md.in
	bash tools/gen_inputs_doc.sh > docs/inputs.md.tmp && mv docs/inputs.md.tmp docs/inputs.md

# AddressSanitizer + UBSan build in build-san/ (-O1 -g keeps it quick to
# build and its stack traces exact); tests/mpi/sanitize.sh runs it.
SANFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
san:
	$(MAKE) B=build-san BIN=build-san/bin/brgflow CFLAGS="$(SANFLAGS)" \
	  LDFLAGS="-fsanitize=address,undefined" build-san/bin/brgflow \
	  $(patsubst tests/%.c,build-san/tests/%,$(wildcard tests/unit/*.c))

# libFuzzer (clang) on the INI reader and the checkpoint reader, FUZZ_TIME
# seconds each; tests/fuzz/run.sh installs clang if absent.
FUZZ_TIME ?= 60
FUZZCC    = OMPI_CC=clang mpicc
FUZZFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined
fuzz:
	@bash tools/install-deps.sh fuzz
	$(MAKE) B=build-fuzz CC="$(FUZZCC)" CFLAGS="$(FUZZFLAGS) -fsanitize=fuzzer-no-link" \
	  build-fuzz/fuzz_input build-fuzz/fuzz_ckpt
	FUZZ_TIME=$(FUZZ_TIME) bash tests/fuzz/run.sh

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build-fuzz/libbrgflow.a
	$(CC) $(CPPFLAGS) $(STDFLAGS) $(FUZZFLAGS) -fsanitize=fuzzer $< build-fuzz/libbrgflow.a \
	  -o $@ $(LDLIBS)

clean:
	rm -rf build build-san build-fuzz bin results tests/out

# `make install PREFIX=DIR`: what a cluster module needs: the binary and the
# plot tool in DIR/bin, man pages made from their --help by help2man, and
# the docs, inputs and job scripts in DIR/share.  DESTDIR stages a package.
PREFIX  ?= /usr/local
DEST     = $(DESTDIR)$(PREFIX)
MANDIR   = $(DEST)/share/man/man1
DOCDIR   = $(DEST)/share/doc/brgflow
DATADIR  = $(DEST)/share/brgflow
.PHONY: install man
man: build/man/brgflow.1 build/man/brgflow-plot.1
build/man/brgflow.1: $(BIN) tools/brgflow.h2m
	@mkdir -p $(dir $@)
	help2man --no-info --no-discard-stderr --section=1 \
	  --name="Bayesian renormalization-group flows of neural-network field theories" \
	  --include=tools/brgflow.h2m --output=$@ $(BIN)
build/man/brgflow-plot.1: tools/brgflow-plot
	@mkdir -p $(dir $@)
	help2man --no-info --section=1 --name="figures from a brgflow result file" \
	  --output=$@ tools/brgflow-plot

install: deps
	$(MAKE) $(BIN) man
	install -d $(DEST)/bin $(MANDIR) $(DOCDIR)/figures $(DATADIR)/inputs $(DATADIR)/jobs
	install -m 755 $(BIN) tools/brgflow-plot $(DEST)/bin/
	install -m 644 build/man/brgflow.1 build/man/brgflow-plot.1 $(MANDIR)/
	install -m 644 README.md LICENSE docs/*.md $(DOCDIR)/
	install -m 644 docs/figures/* $(DOCDIR)/figures/
	install -m 644 inputs/*.ini $(DATADIR)/inputs/
	install -m 644 jobs/README.md jobs/*.slurm $(DATADIR)/jobs/
	@echo "installed brgflow $$($(DEST)/bin/brgflow --version | cut -d' ' -f2) in $(DEST)"
