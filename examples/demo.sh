#!/usr/bin/env bash
# The main job, offline, on embedded defaults: a failing ETL run twice under
# flow-doctor (one incident fired to the console, then a dedup hit), then the
# incident history with its occurrence count. No tokens, no network.
set -u
cd "$(dirname "$0")/.."
export FLOW_DOCTOR_CONFIG="${FLOW_DOCTOR_CONFIG:-}"
db_dir="$(mktemp -d)"
cargo build -q -p flow-doctor-cli || exit 1
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
bin="$target_dir/debug/flow-doctor"
cd "$db_dir"
echo "== run 1: the job fails; flow-doctor captures, scrubs, fingerprints, stores and notifies"
"$bin" run --flow nightly-orders -- python3 "$OLDPWD/examples/failing_etl.py"
echo "(exit code passed through: $?)"
echo
echo "== run 2: the same failure again within the cooldown: counted, not re-notified"
"$bin" run --flow nightly-orders -- python3 "$OLDPWD/examples/failing_etl.py" 2>/dev/null
echo "(exit code passed through: $?)"
echo
echo "== history ($db_dir/flow_doctor.db)"
"$bin" history
echo
echo "== offline diagnosis of the same failure"
python3 "$OLDPWD/examples/failing_etl.py" 2>&1 >/dev/null | "$bin" diagnose --offline || exit 1
echo
echo "demo done: the store is $db_dir/flow_doctor.db"
