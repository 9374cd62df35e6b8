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
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# GSL without its own CBLAS: OpenBLAS provides cblas_* for both.
LDLIBS   = -lscalapack-openmpi $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfftw3_mpi -lgsl -lmuparser -lm
TESTLIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

SRC      = $(wildcard src/*/*.c)
OBJ      = $(SRC:src/%.c=build/%.o)
LIB      = build/libbrgflow.a
BIN      = bin/brgflow
TESTSRC  = $(wildcard tests/unit/*.c tests/physics/*.c tests/mpi/*.c)
TESTBIN  = $(TESTSRC:tests/%.c=build/tests/%)

# Open MPI refuses root unless told; vader's CMA needs ptrace, which
# containers often forbid.  Both are harmless elsewhere.
export OMPI_ALLOW_RUN_AS_ROOT = 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = 1
export OMPI_MCA_btl_vader_single_copy_mechanism = none
export OMPI_MCA_rmaps_base_oversubscribe = 1
MPIRUN   = mpirun --oversubscribe

.PHONY: all deps run check bench clean docs
all: $(BIN) $(TESTBIN) build/tools/h5cmp build/tools/bench_kernels build/tools/bench_eigen \
     build/tools/bench_engine build/tools/bench_dgemm

deps:
	@bash tools/install-deps.sh

build/%.o: src/%.c $(wildcard include/brgflow/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(OBJ)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

$(BIN): build/main.o $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

build/main.o: src/main.c $(wildcard include/brgflow/*.h)
	@mkdir -p build
	$(CC) $(CFLAGS) -c $< -o $@

build/tests/%: tests/%.c tests/testutil.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) -o $@ $(LDLIBS) $(TESTLIBS)

build/tools/%: tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) -o $@ $(LDLIBS)

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
	bash tests/run_tests.sh

bench: deps
	$(MAKE) all
	bash tools/bench.sh

docs: $(BIN) docs/inputs.md.in
	bash tools/gen_inputs_doc.sh > docs/inputs.md.tmp && mv docs/inputs.md.tmp docs/inputs.md

clean:
	rm -rf build bin results tests/out

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
