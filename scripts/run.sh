#!/usr/bin/env bash
# Set up everything (Debian packages, configure, build) and run the main job:
# the dtensor tour on 4 local ranks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

exec timeout 300 mpirun --oversubscribe --bind-to none -np 4 "$DT_BUILD/dtensor" tour "$@"
