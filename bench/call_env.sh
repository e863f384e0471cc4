# Common preamble of a device call script (source it from the script, on the device, after the kit):
#   R=$PWD; SNAP=.snapX; source bench/call_env.sh
# cds into $SNAP (a snapshot made by bench/snapshot.sh and built there), puts it first on PYTHONPATH, points the
# artifact loader at its build, makes $OUT/r, and defines el (seconds since the start) and log (echo + append to
# $OUT/main.log); prints the GPU's clocks and power limit first. Session 15's call scripts repeat these lines inline
# (kept as the records of what ran); new ones should source this.
cd "${SNAP:?set SNAP to the snapshot directory}" || exit 1
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 CUTE_ATTN_ARTIFACTS=$PWD/build/artifacts/sm_90a
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT/r"
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 ))s; }
log() { echo "$*" | tee -a "$OUT/main.log"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu,power.limit --format=csv | tee "$OUT/main.log"
