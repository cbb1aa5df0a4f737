# LAMMPS data file (orthogonal box, atom_style atomic, "id type x y z" lines)
# -> one extended-XYZ frame, so bench_gbnet reads the very box LAMMPS runs.
# Usage: awk -v types="O H" -f lmp_to_extxyz.awk water.lmp > water.extxyz
BEGIN { n_types = split(types, symbol, " ") }
/ xlo xhi/ { lx = $2 - $1 }
/ ylo yhi/ { ly = $2 - $1 }
/ zlo zhi/ { lz = $2 - $1 }
/ xy xz yz/ && ($1 != 0 || $2 != 0 || $3 != 0) { print "lmp_to_extxyz: triclinic box not supported" > "/dev/stderr"; exit 1 }
/^[[:space:]]*[A-Z][a-z]+/ { in_atoms = ($1 == "Atoms"); next }
in_atoms && NF >= 5 {
    if ($2 < 1 || $2 > n_types) { print "lmp_to_extxyz: atom " $1 " has type " $2 ", no symbol given" > "/dev/stderr"; exit 1 }
    n++; line[n] = sprintf("%s %s %s %s", symbol[$2], $3, $4, $5)
}
END {
    if (n == 0) { print "lmp_to_extxyz: no atoms found" > "/dev/stderr"; exit 1 }
    print n
    printf "Lattice=\"%s 0 0 0 %s 0 0 0 %s\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n", lx, ly, lz
    for (i = 1; i <= n; i++) print line[i]
}
