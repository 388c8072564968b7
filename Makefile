# Rendition: the two commands a newcomer needs are `make run` and `make test` (see README.md; the rest is in docs/).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

APT_PACKAGES := libvips-dev libwebp-dev libexif-dev pkg-config
# What the tests use on top: nginx as the CDN in the end-to-end test, curl as its client, Chromium (headless) to
# load the preset studio's pages, git for `rendition preview --base <ref>`, node to run the deploy template's
# CloudFront Function (Tests/cloudfront/run.js), jpegtran and cjpeg to write progressive JPEGs with real encoders'
# scan scripts, and four data packages of real ICC profiles (sRGB variants and near-sRGB spaces).
TEST_APT_PACKAGES := nginx curl zip unzip chromium git nodejs libjpeg-turbo-progs icc-profiles-free colord-data argyll-ref libgs-common
# moto's S3 server and boto3 (an independent S3 client), botocore (an independent SigV4 signer), cfn-lint,
# websockets (the browser test drives Chromium over the DevTools protocol).
TEST_PIP_PACKAGES := moto[server] boto3 botocore cfn-lint websockets
SWIFT_BUILD_FLAGS ?=
# Every build refuses a target that imports a module it does not declare in Package.swift: without the check such
# an import builds or not depending on which other target SwiftPM happened to build first.
export SWIFT_IMPORT_CHECK := --explicit-target-dependency-import-check error
RENDITION := .build/debug/rendition
# What `make test` runs and users deploy: the optimized build.
RELEASE_RENDITION := .build/release/rendition

.PHONY: setup test-setup apt build run demo preview test lambda lambda-test fuzz soak bench schema format clean

## setup: install the system libraries Rendition links (Debian/Ubuntu; needs root or sudo).
setup:
	@$(MAKE) --no-print-directory apt PACKAGES="$(APT_PACKAGES)"

test-setup:
	@$(MAKE) --no-print-directory apt PACKAGES="$(APT_PACKAGES) $(TEST_APT_PACKAGES)"
	python3 -m pip install --quiet --disable-pip-version-check $(foreach p,$(TEST_PIP_PACKAGES),'$(p)')

# Installs $(PACKAGES) that are missing. nginx is never started by its package here (the tests run their own).
apt:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p 2>/dev/null | grep -q "Status: install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## build: debug build of everything.
build: setup
	swift build $(SWIFT_IMPORT_CHECK) $(SWIFT_BUILD_FLAGS)

## run: set up, build, and serve on the embedded default (folder stores under ./data, port 8080).
run: build
	$(RENDITION) validate pipelines
	$(RENDITION) serve

## demo: render the generated sample photo with every preset into out/ (no server).
demo: build
	$(RENDITION) sample out/sample.jpg
	@for file in pipelines/*.yaml; do \
		preset=$$(basename $$file .yaml); \
		$(RENDITION) run $$preset out/sample.jpg --out-dir out/$$preset || exit 1; \
	done
	$(RENDITION) plan thumbnail --input out/sample.jpg

## preview: the preset studio's static report of every preset on the generated sample photo, in report/.
preview: build
	$(RENDITION) sample out/originals/sample.jpg
	$(RENDITION) preview --originals out/originals --out report

## test: set up, lint the deploy template, build the Lambda package, build everything optimized as it ships (every
## target, the tests and the fuzz targets too), run every test on that build (moto S3, nginx end to end and the
## unpacked Lambda zip against a Runtime API peer included; the tests start and stop those servers themselves), then
## validate the shipped presets with the release binary.
test: test-setup
	cfn-lint deploy/template.yaml
	@$(MAKE) --no-print-directory lambda
	swift build -c release --build-tests $(SWIFT_IMPORT_CHECK) $(SWIFT_BUILD_FLAGS)
	swift build -c release $(SWIFT_IMPORT_CHECK) $(SWIFT_BUILD_FLAGS)
	swift test -c release --skip-build $(SWIFT_BUILD_FLAGS)
	$(RELEASE_RENDITION) validate pipelines

## lambda: the function artifact for Lambda (provided.al2023): a release bootstrap, its libraries, pipelines/.
lambda: setup
	@$(MAKE) --no-print-directory apt PACKAGES="zip binutils"
	swift build -c release --product bootstrap --static-swift-stdlib $(SWIFT_IMPORT_CHECK) $(SWIFT_BUILD_FLAGS)
	deploy/package-lambda.sh "$$(swift build -c release --show-bin-path)/bootstrap" .build/lambda

## lambda-test: build the package, then unpack it and run it against the Runtime API peer (also part of `make test`).
lambda-test: lambda test-setup
	swift build -c release --build-tests $(SWIFT_IMPORT_CHECK) $(SWIFT_BUILD_FLAGS)
	swift test -c release --skip-build --filter PackageTests $(SWIFT_BUILD_FLAGS)

## fuzz: build the libFuzzer targets (pipeline files, request paths, progressive JPEG scans) with coverage and AddressSanitizer, run each
## for FUZZ_SECONDS (default 300), print executions and coverage. Crashes land in Fuzz/findings/.
FUZZ_SECONDS ?= 300
FUZZER_RUNTIME = $(firstword $(wildcard $(dir $(realpath $(shell command -v swiftc)))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a))
FUZZ_BUILD_FLAGS = --scratch-path .build/fuzz -Xswiftc -DFUZZING -Xswiftc -sanitize=address \
	-Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table -Xlinker $(FUZZER_RUNTIME) -Xlinker -lstdc++
fuzz: setup
	@test -n "$(FUZZER_RUNTIME)" || { echo "libclang_rt.fuzzer_no_main not found next to swiftc: use a swift.org toolchain"; exit 1; }
	@$(MAKE) --no-print-directory apt PACKAGES="libjpeg-turbo-progs"
	swift build $(FUZZ_BUILD_FLAGS) $(SWIFT_IMPORT_CHECK) --product FuzzPipeline
	swift build $(FUZZ_BUILD_FLAGS) $(SWIFT_IMPORT_CHECK) --product FuzzRequestPath
	swift build $(FUZZ_BUILD_FLAGS) $(SWIFT_IMPORT_CHECK) --product FuzzJPEGScans
	FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh "$$(swift build $(FUZZ_BUILD_FLAGS) --show-bin-path)"

## soak: SOAK_SECONDS (default 600) of mixed hits, misses and hostile originals at SOAK_CONCURRENCY (default 32)
## against a release `rendition serve`; reports errors, p50/p99, renders and RSS every 10 s (fails on an error or on
## a minute's median RSS drifting more than 10% after warm-up).
SOAK_SECONDS ?= 600
SOAK_CONCURRENCY ?= 32
soak: setup
	swift build -c release --product rendition $(SWIFT_IMPORT_CHECK) $(SWIFT_BUILD_FLAGS)
	python3 benchmarks/soak.py --binary "$$(swift build -c release --show-bin-path)/rendition" \
		--duration $(SOAK_SECONDS) --concurrency $(SOAK_CONCURRENCY)
## bench: Rendition side by side with vipsthumbnail, pyvips, thumbor and nginx, interleaved, as medians and
## ratios (docs/performance.md): installs the peers, builds in release, downloads its inputs, writes
## benchmarks/results/latest.md. Up to 30 minutes; BENCH_QUICK=1 for a few-minute run. Not part of `make test`.
bench: setup
	benchmarks/run.sh

## schema: regenerate pipelines/rendition.schema.json and the README's stage table from the stage list.
schema: build
	$(RENDITION) schema -o pipelines/rendition.schema.json
	TABLE="$$($(RENDITION) stages --markdown)" awk '/<!-- stages:end -->/ { skip = 0 } !skip { print } \
		/<!-- stages:begin -->/ { print ENVIRON["TABLE"]; skip = 1 }' README.md > README.md.new && mv README.md.new README.md

## format: apply swift format to every source file.
format:
	swift format --in-place --recursive Sources Plugins Tests Package.swift

clean:
	rm -rf .build out data report
