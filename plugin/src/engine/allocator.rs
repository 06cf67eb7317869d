//! The allocator's side of running many instances in one process (glibc on Linux; elsewhere
//! these do nothing): a fixed mmap threshold, and free memory handed back after big work.
//! Worker and instance-making threads only, never the audio thread.

/// Blocks at least this large are mapped on their own and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: libc::c_int = 1 << 20;

/// Fixes glibc's mmap threshold at 1 MB, once per process. glibc raises it to the size of any
/// mapped block freed (up to 32 MB; ONNX Runtime frees a model-sized one while loading) and the
/// trim threshold to twice that, after which every take, context copy and history buffer is
/// carved from the worker thread's arena and stays resident when freed: 20 MB per instance at
/// 96 kHz, measured with eight instances. A fixed threshold keeps such buffers mapped, so freeing
/// them returns them. Process-wide (the host's own large blocks are mapped too, as glibc does
/// before its first raise); set from the thread that makes an instance, never the audio thread.
pub fn fix_allocator_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only sets the allocator's tuning values; it has no preconditions.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        });
    }
}

/// Hands the allocator's free memory back to the system after a job or a load. glibc keeps what
/// a thread freed in that thread's arena, and every instance has its own worker thread: eight
/// instances would each keep a take's worth of freed buffers resident. A few milliseconds, on
/// the worker, never on the audio thread.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
