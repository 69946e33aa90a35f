// The environment of the suite's worker processes (and everything they start: the command line's
// processes, Deno, the browsers), set by the tier configs before mocha forks its workers. Values
// already set are left as they are.
//
// glibc's allocator: by default it maps every block over 128 KiB-32 MiB afresh and unmaps it when
// freed, and gives the top of its heap back past 128 KiB, so the tests' many large arrays
// (weights on the host, float64 references, LLVM's and Dawn's own allocations) fault every page
// in again each time. (Lavapipe's GPU memory comes from a memfd instead, which this leaves as it
// is.) Keeping blocks up to 32 MiB (the most glibc allows) in a heap that is trimmed only past
// 1 GiB, and asking for transparent huge pages on it where the kernel gives them on request,
// measured on the 2-core host: four model, training and command-line files, two at a time, took
// 96 s of host CPU against 117 s (two runs each), the threshold alone 107 s, huge pages alone
// 101 s. It changes where memory comes from, not what any test computes or checks.
process.env.GLIBC_TUNABLES ??= [
  'glibc.malloc.mmap_threshold=33554432',
  'glibc.malloc.trim_threshold=1073741824',
  'glibc.malloc.top_pad=67108864',
  'glibc.malloc.hugetlb=1',
].join(':');
