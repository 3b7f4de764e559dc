#!/bin/bash
# `make -j2` of a small C project (issue 11, requirement 7): make forks shells that run gcc
# (itself cc1, as and collect2/ld) for 24 objects, each rule slowed a little; then the program
# runs. Prints only the program's output at the end.
set -e
cd "$1"
mkdir -p proj
cd proj
for i in $(seq 1 24); do
  printf 'int f%d(int x) { int s = 0; for (int k = 0; k < x; ++k) s += k * %d; return s; }\n' \
    "$i" "$i" > "f$i.c"
done
{
  echo '#include <stdio.h>'
  for i in $(seq 1 24); do echo "int f$i(int);"; done
  echo 'int main(void) { long t = 0;'
  for i in $(seq 1 24); do echo "  t += f$i($i * 10);"; done
  echo '  printf("make -j2: 24 objects, total %ld\n", t); return 0; }'
} > main.c
OBJS=$(for i in $(seq 1 24); do printf 'f%d.o ' "$i"; done)
cat > Makefile << MK
prog: main.o $OBJS
	gcc -o \$@ \$^
%.o: %.c
	@sleep 0.12
	gcc -O1 -c \$< -o \$@
MK
make -j2 -s > /dev/null
./prog
