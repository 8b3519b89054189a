/**
 * glibc malloc settings that `smox` starts with (the shebang of src/cli.ts sets them through
 * `env -S`, since glibc reads GLIBC_TUNABLES once, when the process starts). A GLIBC_TUNABLES
 * the user already has is appended after them, so theirs are kept and win where both set one.
 *
 * Why: onnxruntime-node copies every output of a run into a new buffer, and a training step's
 * outputs are every parameter's gradient (271 MB for a 4-layer GPT-2, 497 MB for gpt2-124M).
 * glibc serves allocations above 32 MB with a fresh mmap and unmaps them on free, so each step
 * faulted in all of that memory again: 1.0 M page faults and ~180 ms per 256 MB output here.
 * With the mmap threshold above any tensor and trimming off, a freed gradient buffer is reused
 * by the next step's copy (what PyTorch's caching allocator does for it): a 256 MB output costs
 * ~50 ms, a 4-layer training step ~4.05 → 3.65 s, a 12-layer one ~7.5 → 7.0 s (bench:train).
 * The price: memory freed by a long session stays with the process for reuse instead of
 * going back to the system.
 */
export const GLIBC_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=68719476736';

/**
 * GLIBC_TUNABLES as smox's shebang composes it: these settings, then the environment's own
 * (glibc skips the empty entry when there is none).
 */
export function tunedGlibcTunables(env: NodeJS.ProcessEnv = process.env): string {
  return `${GLIBC_MALLOC_TUNABLES}:${env.GLIBC_TUNABLES ?? ''}`;
}

/** Whether a process with this environment runs with GLIBC_MALLOC_TUNABLES. */
export function allocatorTuned(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.GLIBC_TUNABLES ?? '').includes(GLIBC_MALLOC_TUNABLES);
}
