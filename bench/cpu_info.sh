# CPU facts the benchmark RESULTS files record, from lscpu (sourced by
# bench/run.sh, bench/lammps/run.sh and bench/training/throughput.sh).
#   cpu_vendor_id   GenuineIntel, AuthenticAMD, ...
#   cpu_vendor      intel, amd or other: the suffix of the RESULTS_<vendor>.md files
#   cpu_flags       the flags that decide the kernels' speed (AVX-512, VNNI, BF16, AMX)
#                   that this CPU has; bench/report.py lists the same ones
cpu_vendor_id() { lscpu | sed -n 's/^Vendor ID: *//p' | head -n1; }
cpu_vendor() {
    case "$(cpu_vendor_id)" in
        GenuineIntel) echo intel ;;
        AuthenticAMD) echo amd ;;
        *) echo other ;;
    esac
}
cpu_flags() {
    lscpu | sed -n 's/^Flags: *//p' | tr ' ' '\n' |
        grep -xE 'avx2|fma|avx512f|avx512_vnni|avx_vnni|avx512_bf16|avx512_fp16|amx_tile|amx_bf16|amx_int8' | tr '\n' ' '
}
