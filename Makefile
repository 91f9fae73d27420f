# Thin wrapper over CMake for the two everyday commands:
#   make demo   build and run the two-stage demo on a built-in 2-D set (about a minute;
#               prints NLL and sample-quality tables, writes two_stage_demo.png)
#   make test   build and run every test: the CTest suite (unit, threads, install, and the
#               ffi + abi labels: Python and Rust bindings, ABI check, consumers, .deb),
#               a valgrind memcheck of a few fast tests, the suite again under
#               ASan+UBSan (library tests only), the threads tests under TSan, and each
#               libFuzzer target (tests/fuzz) for FUZZ_RUNS executions
#   make test-ffi   only the bindings, ABI, header and install/consumer tests
# Both first install missing Debian packages (as root) or say what to install. The Rust
# test uses cargo from PATH or /root/.cargo/bin and is skipped (with a message) without.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz-ci
FUZZ_RUNS  ?= 10000
JOBS       ?= 2
CMAKE_ARGS ?=
PACKAGES   := cmake make gcc g++ pkgconf libcmocka-dev valgrind python3-venv python3-setuptools python3-wheel python3-build python3-mypy \
              zlib1g-dev python3-numpy python3-pytest abigail-tools \
              libopenmpi-dev openmpi-bin python3-mpi4py clang libclang-rt-14-dev

# small, fast tests that exercise every layer once, run under valgrind's memcheck
VALGRIND_TESTS := test_api_contract test_alloc_failure test_made

.PHONY: all deps configure build demo test test-fast test-ffi test-asan test-tsan test-valgrind test-fuzz clean

all: build

deps:
	@sh cmake/ensure_packages.sh $(PACKAGES)

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DDS_WARNINGS_AS_ERRORS=ON $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/examples/two_stage_demo --out two_stage_demo.png

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-ffi: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L 'ffi|abi|install'

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_SANITIZE=address \
	  -DDS_BUILD_EXAMPLES=OFF -DDS_BUILD_BENCHMARKS=OFF -DDS_WARNINGS_AS_ERRORS=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test-valgrind: build
	@for t in $(VALGRIND_TESTS); do \
	  echo "valgrind memcheck: $$t"; \
	  valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    ./$(BUILD)/tests/$$t >/dev/null || exit 1; \
	done; echo "valgrind: $(words $(VALGRIND_TESTS)) passed, 0 failed"

# ThreadSanitizer over the tests that exercise the pool from several threads
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_SANITIZE=thread \
	  -DDS_BUILD_EXAMPLES=OFF -DDS_BUILD_BENCHMARKS=OFF -DDS_WARNINGS_AS_ERRORS=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L threads

# libFuzzer targets (tests/fuzz, clang): seed corpora made through the API, then a fixed
# number of executions per target; skipped with a message when clang is missing
test-fuzz: deps
	bash tests/fuzz/run.sh $(CURDIR) $(CURDIR)/$(FUZZ_BUILD) $(FUZZ_RUNS)

test: test-fast test-valgrind test-asan test-tsan test-fuzz

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
