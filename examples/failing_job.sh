#!/usr/bin/env bash
# A cron-style shell job that fails on an unset variable.
set -euo pipefail
echo "syncing exports"
cp "/data/exports/${EXPORT_DATE}.csv" /tmp/
