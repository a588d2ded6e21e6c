#!/bin/sh
# Vendors KERN UX (@kern-ux/native), the design system of the German public administration:
# downloads the pinned release from the npm registry, checks it against the pinned sha512 and
# copies only what the portal serves (the built CSS, the Fira Sans fonts it names, the licence)
# next to this script. The result is committed: building and running the portal needs neither
# npm nor the network. To update, change VERSION and INTEGRITY (npm view @kern-ux/native@<v>
# dist.integrity), run this script, look at the diff and at the pages, commit.
set -eu

VERSION=2.7.2
INTEGRITY=sha512-TN0Mqbasp7S1IOqurXickde8MDj5hIcgT4s3f1i33wyv2iVgA1dTO/FoQyi6rgM9KYTYkIthl9k72g7fBUUvHg==
TARBALL_URL="https://registry.npmjs.org/@kern-ux/native/-/native-$VERSION.tgz"

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

curl -fsSL --retry 3 -o "$work/kern.tgz" "$TARBALL_URL"
actual="sha512-$(openssl dgst -sha512 -binary "$work/kern.tgz" | base64 | tr -d '\n')"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "integrity mismatch for $TARBALL_URL" >&2
  echo "  expected $INTEGRITY" >&2
  echo "  got      $actual" >&2
  exit 1
fi
tar -xzf "$work/kern.tgz" -C "$work"
package="$work/package"

# Only the files the portal links; the source SCSS, the utilities, the grid and the script of
# the "Kopfzeile" web component stay out.
rm -rf "$here/css" "$here/fonts"
mkdir -p "$here/css" "$here/fonts/fira-sans"
cp "$package/dist/kern.min.css" "$here/css/kern.min.css"
cp "$package/dist/fonts/fira-sans.css" "$here/fonts/fira-sans.css"
# The font files fira-sans.css names (relative url()s, served from here).
for font in $(grep -o 'fira-sans/[A-Za-z-]*\.woff2' "$package/dist/fonts/fira-sans.css" | sort -u); do
  cp "$package/dist/fonts/$font" "$here/fonts/$font"
done
cp "$package/LICENSE.md" "$here/LICENSE.md"

# No resource from another host: every url() must be a data: URI or a relative path.
if grep -ho 'url([^)]*)' "$here/css/kern.min.css" "$here/fonts/fira-sans.css" \
    | grep -v '^url("data:' | grep -v "^url('data:" | grep -Eqi 'url\(["'"'"']?(https?:)?//'; then
  echo "the KERN CSS names an external resource" >&2
  exit 1
fi
echo "KERN UX $VERSION vendored into $here"
