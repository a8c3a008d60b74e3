#!/usr/bin/env bash
# `npm run deb [-- OUTDIR]`: builds OUTDIR/mixgate_<version>_all.deb (OUTDIR: dist/) with
# dpkg-deb, from the npm package (`npm pack`, so both packages hold the same program) plus
# its production dependencies.
#
# Layout: the program in /usr/lib/mixgate (bin/, dist/src/, package.json, node_modules/),
# the command as /usr/bin/mixgate (a link to it), the units in /lib/systemd/system, the man
# pages in /usr/share/man, the docs in /usr/share/doc/mixgate, and /etc/mixgate with the
# README's example configs as conffiles. Maintainer scripts: postinst, prerm, postrm here.
#
# Native code: none, so the package is honestly Architecture: all. sodium-native (an optional
# dependency) ships prebuilt libsodium for a few platforms only (linux-x64 and linux-arm64
# among them); putting those in an "all" package would be wrong for every other architecture
# and against Debian policy. It is left out (--omit=optional), and mixgate runs on its
# portable backend, libsodium compiled to WebAssembly (libsodium-wrappers-sumo): the same
# bytes, about half the speed per cell, and keys are copied into the WebAssembly heap
# (docs/KEYS.md §6). check-arch-independent.mjs fails the build if machine code slips in.
#
# Needs dpkg-deb (dpkg), gzip, and the npm cache or registry for the dependencies.
# DEB_MAINTAINER overrides the Maintainer field.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)

version=$(node -p 'require("./package.json").version')
maintainer=${DEB_MAINTAINER:-mixgate developers <mixgate@users.invalid>}
# A changelog date that does not change from build to build of one commit.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH=$epoch
# The copyright notice's first year: the project's first commit (outside git: this build's).
year=$(git log --max-parents=0 --format=%cd --date=format:%Y HEAD 2>/dev/null | tail -n 1 || true)
year=${year:-$(date -u -d "@$epoch" +%Y)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
lib=$root/usr/lib/mixgate
doc=$root/usr/share/doc/mixgate

# --- The program: what the npm package runs, and its production dependencies -------------
npm pack --silent --pack-destination "$work" >/dev/null
tar -xzf "$work/mixgate-$version.tgz" -C "$work"
install -d "$lib"
cp -r "$work/package/bin" "$work/package/dist" "$work/package/package.json" "$work/package/npm-shrinkwrap.json" "$lib/"
# Exactly the locked versions; no install scripts (no dependency needs one without the
# optional sodium-native, and a package build should run none).
(cd "$lib" && npm ci --omit=dev --omit=optional --ignore-scripts --prefer-offline \
  --no-audit --no-fund --loglevel=error >/dev/null)
rm -f "$lib/npm-shrinkwrap.json" "$lib/node_modules/.package-lock.json"
bash "$here/prune-node-modules.sh" "$lib/node_modules"
node "$here/check-arch-independent.mjs" "$lib"
install -d "$root/usr/bin"
ln -s ../lib/mixgate/bin/mixgate "$root/usr/bin/mixgate"

# --- Units, man pages, configs, docs -------------------------------------------------------
install -d "$root/lib/systemd/system"
install -m 0644 systemd/*.service "$root/lib/systemd/system/"
for page in man/*.[1-8]; do
  section=${page##*.}
  install -d "$root/usr/share/man/man$section"
  gzip -9n <"$page" >"$root/usr/share/man/man$section/$(basename "$page").gz"
done
install -d -m 0755 "$root/etc/mixgate"
install -m 0644 "$here"/etc/* "$root/etc/mixgate/"
install -d "$doc/docs" "$doc/systemd"
install -m 0644 README.md "$doc/"
install -m 0644 docs/* "$doc/docs/"
install -m 0644 systemd/README.md "$doc/systemd/"
{ sed "s/@YEAR@/$year/" "$here/copyright-head"; node "$here/bundled-licenses.mjs" "$lib/node_modules"; } >"$doc/copyright"
sed -e "s/@VERSION@/$version/" -e "s/@MAINTAINER@/$maintainer/" -e "s/@DATE@/$(date -R -u -d "@$epoch")/" \
  "$here/changelog.in" | gzip -9n >"$doc/changelog.gz"
install -d "$root/usr/share/lintian/overrides"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/mixgate"

# Modes: no group or world write anywhere (npm's files may carry the builder's umask).
chmod -R u+rwX,go+rX,go-w "$root"

# --- Control files -------------------------------------------------------------------------
install -d -m 0755 "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@MAINTAINER@/$maintainer/" -e "s/@INSTALLED_SIZE@/$size/" \
  "$here/control.in" >"$root/DEBIAN/control"
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs -d '\n' md5sum) >"$root/DEBIAN/md5sums"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb=$out/mixgate_${version}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
