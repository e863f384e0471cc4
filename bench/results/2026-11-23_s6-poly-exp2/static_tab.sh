#!/bin/bash
# tab.sh DIR... : per variant PTX ex2/add.rm counts, ptxas -v spills/registers, SASS MUFU.EX2 / instruction count
ND=/tmp/nvd/x/nvidia/cu13/bin/nvdisasm
for d in "$@"; do for f in $d/*.ptx; do
  b=$(basename $f .ptx); t=/tmp/pe/t_$$
  sed 's/^\.version 9\.[0-9]*/.version 9.0/' $f > $t.ptx
  info=$(ptxas -arch=sm_90a -v -o $t.cubin $t.ptx 2>&1)
  regs=$(echo "$info" | grep -o "Used [0-9]* registers" | head -1); sp=$(echo "$info" | grep -o "[0-9]* bytes spill stores" | head -1)
  warn=$(echo "$info" | grep -o "C75[0-9]*" | sort -u | tr '\n' ' ')
  $ND -c $t.cubin > $t.sass 2>/dev/null
  printf "%-10s %-62s ex2 %4s addrm %3s | %s, %s %s| SASS MUFU.EX2 %4s instrs %5s\n" $(basename $d) $b $(grep -c 'ex2.approx' $f) $(grep -c 'add.rm.f32' $f) "$regs" "$sp" "$warn" $(grep -c MUFU.EX2 $t.sass) $(grep -cE '/\*[0-9a-f]{4,}\*/' $t.sass)
  rm -f $t.ptx $t.cubin $t.sass
done; done
