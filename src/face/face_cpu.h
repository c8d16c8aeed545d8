// face_cpu.h — what the face nets need to know about the host CPU: its model and vector instruction sets (for logs
// and benchmarks), and the allocator setting that keeps large activations from being page-faulted in on every call.
// Torch-free.
#pragma once
#include <string>

namespace s3e {

// "AMD EPYC", "Intel(R) Xeon(R) ..." from /proc/cpuinfo ("unknown" elsewhere).
std::string face_cpu_model();

// The vector instruction sets the kernels can use, e.g. "avx2 fma avx512f avx512_bf16" (from /proc/cpuinfo flags).
std::string face_cpu_features();

// Keeps freed activation buffers (up to 32 MiB each) in the heap instead of returning them to the kernel, so the
// next forward reuses them. Without it glibc mmap()s and munmap()s every big tensor, and each forward page-faults
// its activations in again: on a paravirtualised VM (AMD EPYC, PVM) that cost 370 of the detector's 400 ms at 512.
// Process-wide (mallopt); done once; skipped when MALLOC_MMAP_THRESHOLD_ or a glibc.malloc tunable is set, so an
// operator's own setting wins. Returns a line saying what was done.
std::string face_malloc_keep();

}  // namespace s3e
