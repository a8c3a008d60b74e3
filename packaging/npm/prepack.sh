#!/bin/sh
# npm's prepack hook (run by `npm pack` and `npm publish`): build what the package runs.
# bin/mixgate loads dist/src, which is not in git, so a tarball packed without this step
# installs a command that cannot start.
set -eu
cd "$(dirname "$0")/../.."

# From nothing: a file left in dist/src by an older build (its source since renamed or
# deleted) would otherwise be packed and shipped.
rm -rf dist/src
tsc -p packaging/npm/tsconfig.json

# The lock file, under the name npm honours inside a package: `npm install -g` then installs
# exactly the dependency versions the tests ran against, not whatever the ranges allow that
# day. postpack removes it again (in the checkout, package-lock.json is the one to edit).
cp package-lock.json npm-shrinkwrap.json
