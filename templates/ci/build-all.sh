#!/usr/bin/env bash
# Build every layoutgen config of a design repository; each build runs its own DRC (with the
# waivers.toml beside its config) and writes a JUnit report of it.
#
#   build-all.sh [CONFIG.py ...]        default: every configs/*.py and configs/*/*.py
#
# Environment: OUT (output root, default out), JUNIT_DIR (default $OUT/junit),
# LAYOUTGEN (the command, default layoutgen), LAYOUTGEN_PDK_PATH (folders with your own PDKs;
# a PDK named by a folder path in a config is found relative to that config).
# Leaves out/<design>/ (GDS, masks, previews, report.html, drc.json, drc.lyrdb) and
# $JUNIT_DIR/<config>.xml (configs/chip/a.py: chip_a.xml) for each config. Every config is built even when one fails.
# Exit: 0 all clean (waived violations count as clean), 1 DRC violations in some layout,
# 2 a config or PDK is bad (the worst wins).
set -uo pipefail
shopt -s nullglob

OUT="${OUT:-out}"
JUNIT_DIR="${JUNIT_DIR:-$OUT/junit}"
LAYOUTGEN="${LAYOUTGEN:-layoutgen}"
[ "$#" -gt 0 ] || set -- configs/*.py configs/*/*.py
if [ "$#" -eq 0 ]; then
  echo "build-all: no configs (configs/*.py, configs/*/*.py)" >&2; exit 2
fi
mkdir -p "$OUT" "$JUNIT_DIR"

worst=0
note() { [ "$1" -gt "$worst" ] && worst="$1"; return 0; }

for cfg in "$@"; do
  if [ ! -f "$cfg" ]; then
    echo "build-all: no config $cfg" >&2; note 2; continue
  fi
  # the JUnit file is named after the config: configs/chip/a.py -> chip_a.xml
  name="${cfg%.py}"; name="${name#configs/}"; name="${name//\//_}"
  echo "== build $cfg"
  "$LAYOUTGEN" build "$cfg" -o "$OUT" --junit "$JUNIT_DIR/$name.xml"
  rc=$?
  case "$rc" in
    0) ;;
    1) echo "build-all: $cfg has DRC violations (see $JUNIT_DIR/$name.xml and its report.html)" >&2; note 1 ;;
    *) echo "build-all: $cfg failed to build (exit $rc)" >&2; note 2 ;;
  esac
done

echo "== done: exit $worst"
exit "$worst"
