#!/usr/bin/env bash
# Build every layoutgen config of a design repository, DRC each layout with a JUnit report.
#
#   build-all.sh [CONFIG.py ...]        default: every configs/*.py
#
# Environment: OUT (output root, default out), JUNIT_DIR (default $OUT/junit),
# LAYOUTGEN (the command, default layoutgen), LAYOUTGEN_PDK_PATH (folders with your own PDKs).
# Leaves out/<design>/ (GDS, masks, previews, report.html, drc.json, drc.lyrdb) and
# $JUNIT_DIR/<design>.xml for each config. Every config is built even when one fails.
# Exit: 0 all clean, 1 DRC violations in some layout, 2 a config or PDK is bad (the worst wins).
set -uo pipefail

OUT="${OUT:-out}"
JUNIT_DIR="${JUNIT_DIR:-$OUT/junit}"
LAYOUTGEN="${LAYOUTGEN:-layoutgen}"
[ "$#" -gt 0 ] || set -- configs/*.py
mkdir -p "$OUT" "$JUNIT_DIR"

worst=0
note() { [ "$1" -gt "$worst" ] && worst="$1"; return 0; }

for cfg in "$@"; do
  if [ ! -f "$cfg" ]; then
    echo "build-all: no config $cfg" >&2; note 2; continue
  fi
  echo "== build $cfg"
  log="$(mktemp)"
  "$LAYOUTGEN" build "$cfg" -o "$OUT" | tee "$log"
  rc=${PIPESTATUS[0]}
  # "built out/<design>: ..." names the folder the build wrote.
  dir="$(sed -n 's/^built \(.*\): .*/\1/p' "$log" | tail -n 1)"
  rm -f "$log"
  case "$rc" in
    0|1) ;;                                   # built; 1 = DRC violations, reported below
    *) echo "build-all: $cfg failed to build (exit $rc)" >&2; note 2; continue ;;
  esac
  if [ -z "$dir" ] || [ ! -f "$dir/summary.json" ]; then
    echo "build-all: $cfg built, but its output folder is unknown" >&2; note 2; continue
  fi
  design="$(basename "$dir")"
  pdk="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pdk"]["name"])' "$dir/summary.json")"
  echo "== drc $dir/$design.gds (PDK $pdk)"
  "$LAYOUTGEN" drc "$dir/$design.gds" --pdk "$pdk" --junit "$JUNIT_DIR/$design.xml"
  rc=$?
  case "$rc" in
    0) ;;
    1) echo "build-all: $design has DRC violations (see $JUNIT_DIR/$design.xml, $dir/report.html)" >&2; note 1 ;;
    *) echo "build-all: the DRC of $design could not run (exit $rc)" >&2; note 2 ;;
  esac
done

echo "== done: exit $worst"
exit "$worst"
