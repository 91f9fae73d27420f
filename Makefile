# Thin wrapper over CMake for the two everyday commands:
#   make demo   build and run the demo on its built-in data (writes a PNG)
#   make test   build and run every test: the CTest suite, then again under ASan+UBSan
# Both first install missing Debian packages (as root) or say what to install.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2
CMAKE_ARGS ?=
PACKAGES   := cmake make gcc g++ pkgconf libcmocka-dev libblas-dev libopenblas-dev zlib1g-dev

.PHONY: all deps configure build demo test test-fast test-asan clean

all: build

deps:
	@sh cmake/ensure_packages.sh $(PACKAGES)

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DDS_WARNINGS_AS_ERRORS=ON $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/examples/smooth_demo --out smooth_demo.png

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_SANITIZE=address \
	  -DDS_BUILD_EXAMPLES=OFF -DDS_BUILD_BENCHMARKS=OFF -DDS_WARNINGS_AS_ERRORS=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

test: test-fast test-asan

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
