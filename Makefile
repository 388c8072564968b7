# Rendition: the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

APT_PACKAGES := libvips-dev libwebp-dev libexif-dev pkg-config
# What the tests use on top: nginx as the CDN in the end-to-end test, curl as its client.
TEST_APT_PACKAGES := nginx curl zip unzip
# moto's S3 server and boto3 (an independent S3 client), botocore (an independent SigV4 signer), cfn-lint.
TEST_PIP_PACKAGES := moto[server] boto3 botocore cfn-lint
SWIFT_BUILD_FLAGS ?=
RENDITION := .build/debug/rendition

.PHONY: setup test-setup apt build run demo test lambda lambda-test bench schema format clean

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
	swift build $(SWIFT_BUILD_FLAGS)

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

## test: set up, lint the deploy template, build the Lambda package, build, run every test (moto S3, nginx end to
## end and the unpacked Lambda zip against a Runtime API peer included; the tests start and stop those servers
## themselves), then validate the shipped presets.
test: test-setup
	cfn-lint deploy/template.yaml
	@$(MAKE) --no-print-directory lambda
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)
	$(RENDITION) validate pipelines

## lambda: the function artifact for Lambda (provided.al2023): a release bootstrap, its libraries, pipelines/.
lambda: setup
	@$(MAKE) --no-print-directory apt PACKAGES="zip binutils"
	swift build -c release --product bootstrap --static-swift-stdlib $(SWIFT_BUILD_FLAGS)
	deploy/package-lambda.sh "$$(swift build -c release --show-bin-path)/bootstrap" .build/lambda

## lambda-test: build the package, then unpack it and run it against the Runtime API peer (also part of `make test`).
lambda-test: lambda test-setup
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build --filter PackageTests $(SWIFT_BUILD_FLAGS)

## bench: Rendition side by side with vipsthumbnail, pyvips, thumbor and nginx, interleaved, as medians and
## ratios (README, "Performance"): installs the peers, builds in release, downloads its inputs, writes
## benchmarks/results/latest.md. Up to 30 minutes; BENCH_QUICK=1 for a few-minute run. Not part of `make test`.
bench: setup
	benchmarks/run.sh

## schema: regenerate pipelines/rendition.schema.json from the stage list.
schema: build
	$(RENDITION) schema -o pipelines/rendition.schema.json

## format: apply swift format to every source file.
format:
	swift format --in-place --recursive Sources Plugins Tests Package.swift

clean:
	rm -rf .build out data
