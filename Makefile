# Rendition: the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

APT_PACKAGES := libvips-dev libwebp-dev libexif-dev pkg-config
SWIFT_BUILD_FLAGS ?=
RENDITION := .build/debug/rendition

.PHONY: setup build run test validate schema format clean

## setup: install the system libraries Rendition links (Debian/Ubuntu; needs root or sudo).
setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## build: debug build of everything.
build: setup
	swift build $(SWIFT_BUILD_FLAGS)

## run: set up, build, and render the generated sample photo with every preset into out/.
run: build
	$(RENDITION) validate pipelines
	$(RENDITION) sample out/sample.jpg
	@for file in pipelines/*.yaml; do \
		preset=$$(basename $$file .yaml); \
		$(RENDITION) run $$preset out/sample.jpg --out-dir out/$$preset || exit 1; \
	done
	$(RENDITION) plan thumbnail --input out/sample.jpg

## test: set up, build, and run every test, then validate the shipped presets.
test: setup
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)
	$(RENDITION) validate pipelines

## schema: regenerate pipelines/rendition.schema.json from the stage list.
schema: build
	$(RENDITION) schema -o pipelines/rendition.schema.json

## format: apply swift format to every source file.
format:
	swift format --in-place --recursive Sources Plugins Tests Package.swift

clean:
	rm -rf .build out
