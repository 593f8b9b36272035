//! The queue of SQLite's database thread ([`crate::sqlite_thread`]).
//!
//! SQLite lets one connection write at a time. Database work is queued,
//! first come first served, for one thread that runs it back to back,
//! instead of 64 blocking threads racing for a lock: with a lock the unlucky
//! ones waited 77-200 ms while others barged ahead; in a queue each waits
//! only for those before it.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use crate::error::StoreError;

/// Jobs that may wait in the queue. Beyond that a request is told to come
/// back later (503) before anything was written: at ~0.1-0.3 ms a job this
/// is a third of a second of work or less, as long as any client should wait.
pub const WRITE_QUEUE: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// The queue's sending end; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: SyncSender<Job>,
}

impl Writer {
    pub(crate) fn start() -> Result<Writer, StoreError> {
        let (jobs, queue) = sync_channel::<Job>(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("latchkey-sqlite".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    // A panicking job drops its answer channel (its caller gets
                    // an error); the writer goes on with the next.
                    if catch_unwind(AssertUnwindSafe(job)).is_err() {
                        tracing::error!("a queued database write panicked");
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Queues `f` for the writer thread now (after the writes queued before
    /// it) and returns its answer to wait for.
    pub(crate) fn run<T, F>(&self, f: F) -> impl std::future::Future<Output = Result<T, StoreError>> + Send + 'static
    where
        F: FnOnce() -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone (request cancelled): the write stands.
            let _ = answer.send(f());
        });
        let queued = self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable("too many database statements are queued".into()),
            TrySendError::Disconnected(_) => StoreError::Unavailable("the database writer has stopped".into()),
        });
        async move {
            queued?;
            answered.await.map_err(|_| StoreError::Unavailable("the database write failed".into()))?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_run_one_at_a_time_in_the_order_they_came() {
        let w = Writer::start().expect("writer");
        let (order, running) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(0u32)));
        let mut answers = Vec::new();
        for i in 0..200u32 {
            let (order, running) = (order.clone(), running.clone());
            // Queued when called; answered concurrently.
            let pending = w.run(move || {
                let mut r = running.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))?;
                *r += 1;
                assert_eq!(*r, 1, "never two writes at once");
                order.lock().map_err(|_| StoreError::Unavailable("poisoned".into()))?.push(i);
                *r -= 1;
                Ok(i * 2)
            });
            answers.push(tokio::spawn(pending));
        }
        for (i, a) in answers.into_iter().enumerate() {
            assert_eq!(a.await.expect("join").expect("write"), i as u32 * 2);
        }
        assert_eq!(*order.lock().expect("order"), (0..200).collect::<Vec<_>>(), "first come, first served");
    }

    #[tokio::test]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let w = Writer::start().expect("writer");
        let failed = w.run(|| -> Result<(), StoreError> { panic!("boom") }).await;
        assert!(matches!(failed, Err(StoreError::Unavailable(_))));
        assert_eq!(w.run(|| Ok(7)).await.expect("the next write runs"), 7);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let w = Writer::start().expect("writer");
        let (hold, held) = std::sync::mpsc::channel::<()>();
        // Block the writer thread, then fill the queue.
        let blocker = tokio::spawn(w.run(move || {
            let _ = held.recv();
            Ok(())
        }));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let mut queued = Vec::new();
        for _ in 0..WRITE_QUEUE {
            queued.push(tokio::spawn(w.run(|| Ok(()))));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = w.run(|| Ok(())).await;
        assert!(matches!(refused, Err(StoreError::Unavailable(ref m)) if m.contains("queued")), "{refused:?}");
        hold.send(()).expect("release");
        blocker.await.expect("join").expect("blocker");
        for q in queued {
            q.await.expect("join").expect("queued write");
        }
    }
}
