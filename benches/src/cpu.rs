//! CPU time of the calling thread, from `/proc/thread-self/schedstat` (nanoseconds on a CPU).
//!
//! Every party of the stable figures runs on one thread (a current-thread runtime, or no
//! runtime), kernel work for loopback sockets included, so units per CPU-second of that thread
//! are much less disturbed by other processes on a shared machine than units per wall-second.

use std::time::Duration;

/// CPU time the calling thread has used so far; `None` where the kernel does not say.
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Measures the wall and CPU time of `f` on this thread.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let cpu = thread_cpu();
    let start = std::time::Instant::now();
    let out = f();
    let wall = start.elapsed();
    let cpu = cpu.zip(thread_cpu()).map(|(a, b)| b.saturating_sub(a));
    (out, wall, cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_work_uses_cpu_time() {
        let ((), _, cpu) = timed(|| {
            let mut x = 0u64;
            for i in 0..2_000_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
            std::hint::black_box(x);
        });
        if std::path::Path::new("/proc/thread-self/schedstat").exists() {
            assert!(cpu.is_some_and(|c| c > Duration::ZERO));
        }
    }
}
