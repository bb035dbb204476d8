# nginx-registry-cache. `make test` and `make run` do all the set-up on a fresh Debian 12.
BUILD ?= build
NGINX_SRC ?= /usr/share/nginx/src
MODULE := $(BUILD)/ngx_http_registry_cache_module.so

.PHONY: all deps build module deb unit test test-asan fuzz run stop clean

all: module

deps:
	@scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNGINX_SRC=$(NGINX_SRC) >/dev/null

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j2

module: $(BUILD)/Makefile
	cmake --build $(BUILD) --target module

# The Debian package libnginx-mod-http-registry-cache, built with debhelper and dh_nginx
# against Debian's nginx, checked by lintian: $(BUILD)/deb/*.deb.
deb: deps
	scripts/build-deb.sh $(BUILD)/deb

unit: build
	cd $(BUILD) && ctest --output-on-failure

# Every layer: unit tests, Test::Nginx tests and end-to-end tests against a real registry,
# and the module built from a full nginx source tree the way an operator would.
test: build module
	scripts/test.sh

# t/*.t on nginx and the module built with AddressSanitizer and UBSan.
test-asan: build module
	ONLY=asan scripts/test.sh

# libFuzzer targets of t/fuzz/, FUZZ_SECONDS each (default 30).
fuzz: deps
	scripts/fuzz.sh

run: module
	scripts/run.sh start

stop:
	scripts/run.sh stop

clean:
	rm -rf $(BUILD) t/servroot run
