#!/usr/bin/env bash
# Packages the release `bootstrap` for Lambda's provided.al2023 runtime:
#   bootstrap                 a launcher: runs the real binary with the bundled dynamic loader, so the
#                             function uses only the libraries in the zip (glibc included), whatever the
#                             runtime image ships
#   bin/rendition-bootstrap   the Swift binary (static Swift runtime)
#   lib/                      every shared library it needs, found with ldd
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

# Every library ldd resolves, the loader included, copied as real files.
ldd "$binary" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sort -u | while read -r library; do
    cp -L "$library" "$package/lib/"
done
loader=$(basename "$(ldd "$binary" | awk '/ld-linux/ { print ($3 ~ /^\// ? $3 : $1) }' | head -1)")

cat > "$package/bootstrap" <<LAUNCHER
#!/bin/sh
# Lambda runs this; it starts the real binary with the bundled loader and libraries only.
here=\$(cd "\$(dirname "\$0")" && pwd)
exec "\$here/lib/$loader" --library-path "\$here/lib" "\$here/bin/rendition-bootstrap" "\$@"
LAUNCHER
chmod 755 "$package/bootstrap" "$package/bin/rendition-bootstrap" "$package/lib/$loader"
cp -r pipelines "$package/pipelines"

(cd "$package" && zip -q -r -y "../rendition-lambda.zip" .)
unzipped=$(du -sb "$package" | cut -f1)
zipped=$(stat -c %s "$out/rendition-lambda.zip")
echo "lambda package: $out/rendition-lambda.zip"
echo "  zipped:   $((zipped / 1024 / 1024)) MiB ($zipped bytes)"
echo "  unzipped: $((unzipped / 1024 / 1024)) MiB ($unzipped bytes; Lambda's limit is 250 MiB)"
echo "  libraries: $(ls "$package/lib" | wc -l)"
if [ "$unzipped" -ge $((250 * 1024 * 1024)) ]; then
    echo "the unzipped package is over Lambda's 250 MiB limit" >&2
    exit 1
fi
