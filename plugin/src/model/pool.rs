//! One inference pool for the process. Every instance has its own worker thread, but the model
//! work of all of them (a job's begin and each step) runs here, on one thread per core: eight
//! instances generating at once take turns instead of eight threads fighting over two cores, and
//! what a thread keeps for inference (ONNX Runtime's and the allocator's per-thread buffers) is
//! kept per core, not per instance. Sessions run with one intra-op thread each (`session.rs`),
//! so the pool's size is the process's inference parallelism.

use std::sync::OnceLock;

/// The pool, built on first use; None when the system would not give it threads (the work then
/// runs on the caller's thread, as it would without a pool).
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(num_threads())
            .thread_name(|i| format!("continuo-inference-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// One thread per core the process may use.
pub fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on the pool and returns its result; the caller waits. A panic in `work` comes
/// back to the caller as a panic (the worker catches it and fails the job). Worker threads
/// only: never on the audio thread.
pub fn run<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    match pool() {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Whether the calling thread is one of the pool's.
pub fn on_pool_thread() -> bool {
    pool().is_some_and(|p| p.current_thread_index().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_work_on_a_pool_thread_and_hands_back_results_and_panics() {
        assert!(!on_pool_thread());
        let mut borrowed = vec![1, 2, 3];
        let sum = run(|| {
            assert!(on_pool_thread());
            borrowed.push(4);
            borrowed.iter().sum::<i32>()
        });
        assert_eq!((sum, borrowed.len()), (10, 4));
        let panicked = std::panic::catch_unwind(|| run(|| panic!("a model bug")));
        assert!(panicked.is_err(), "the panic reaches the caller");
        assert_eq!(run(|| 7), 7, "and the pool still works");
    }

    #[test]
    fn many_callers_share_one_pool_of_one_thread_per_core() {
        let names: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| run(|| std::thread::current().name().unwrap_or("").to_string()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let distinct: std::collections::BTreeSet<_> = names.iter().collect();
        assert!(
            names.iter().all(|n| n.starts_with("continuo-inference-")),
            "{names:?}"
        );
        assert!(distinct.len() <= num_threads(), "{distinct:?}");
    }
}
