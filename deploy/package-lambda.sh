#!/usr/bin/env bash
# Packages the release `bootstrap` for Lambda's provided.al2023 runtime:
#   bootstrap                 a launcher: runs the real binary with the bundled dynamic loader, so the
#                             function uses only the libraries in the zip (glibc included), whatever the
#                             runtime image ships
#   bin/rendition-bootstrap   the Swift binary (static Swift runtime)
#   lib/                      every shared library it needs, found with ldd
#   lib/vips-modules-X.Y/     libvips' HEIF module (HEIC and AVIF, load and save); its libraries are in lib/
#   pipelines/                the presets
# Usage: deploy/package-lambda.sh BINARY OUTPUT_DIR
set -euo pipefail
binary=$1
out=$2
package="$out/package"
rm -rf "$package" "$out/rendition-lambda.zip"
mkdir -p "$package/bin" "$package/lib"
cp "$binary" "$package/bin/rendition-bootstrap"
strip "$package/bin/rendition-bootstrap"

# Copies every library ldd resolves for $1, the loader included, into lib/ as real files.
copy_libraries() {
    ldd "$1" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u | while read -r library; do
        [ -e "$package/lib/$(basename "$library")" ] || cp -L "$library" "$package/lib/"
    done
}
copy_libraries "$binary"
loader=$(basename "$(ldd "$binary" | awk '/ld-linux/ { print ($3 ~ /^\// ? $3 : $1) }' | head -1)")

# libvips builds its HEIF support (heifload, heifsave: AVIF output) as a module that it loads at run time, so
# ldd of the binary never sees it or what it links (libheif, libaom, dav1d, libde265, x265). Rendition loads it
# from beside the libvips library the process runs (rv_load_heif_module in Sources/CVips/shim.h), which here is
# lib/: no absolute path of the build machine is involved.
libvips=$(ldd "$binary" | awk '$1 ~ /^libvips\.so/ { print $3 }')
modules="vips-modules-$(pkg-config --modversion vips | cut -d. -f1,2)"
heif="$(dirname "$libvips")/$modules/vips-heif.so"
if [ ! -f "$heif" ]; then
    echo "libvips' HEIF module is not at $heif: without it the function cannot write AVIF" >&2
    exit 1
fi
mkdir -p "$package/lib/$modules"
cp -L "$heif" "$package/lib/$modules/"
copy_libraries "$heif"

cat > "$package/bootstrap" <<LAUNCHER
#!/bin/sh
# Lambda runs this; it starts the real binary with the bundled loader and libraries only.
here=\$(cd "\$(dirname "\$0")" && pwd)
exec "\$here/lib/$loader" --library-path "\$here/lib" "\$here/bin/rendition-bootstrap" "\$@"
LAUNCHER
chmod 755 "$package/bootstrap" "$package/bin/rendition-bootstrap" "$package/lib/$loader"
cp -r pipelines "$package/pipelines"

(cd "$package" && zip -q -r -y -9 "../rendition-lambda.zip" .)
unzipped=$(du -sb "$package" | cut -f1)
zipped=$(stat -c %s "$out/rendition-lambda.zip")
echo "lambda package: $out/rendition-lambda.zip"
echo "  zipped:   $((zipped / 1024 / 1024)) MiB ($zipped bytes)"
echo "  unzipped: $((unzipped / 1024 / 1024)) MiB ($unzipped bytes; Lambda's limit is 250 MiB)"
echo "  libraries: $(find "$package/lib" -type f | wc -l)"
if [ "$unzipped" -ge $((250 * 1024 * 1024)) ]; then
    echo "the unzipped package is over Lambda's 250 MiB limit" >&2
    exit 1
fi
