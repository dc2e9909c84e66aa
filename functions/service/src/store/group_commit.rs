//! Group commit for the embedded store: concurrent write operations share one durable commit.
//!
//! One writer thread owns the writing. It takes every operation waiting for it (the first one,
//! and whatever arrived while the previous commit was syncing, up to [`MAX_BATCH`]), runs them
//! one after the other in one redb write transaction, commits it (one durable sync), and only
//! then answers each. Run in order in one transaction, a batch does what the same operations
//! would do one transaction each: each sees the writes of those before it, and every answer is
//! durable when it is given. If an operation fails, the transaction is dropped and the batch's
//! operations run again, each in a transaction of its own, so that one failure fails no other
//! operation. This is why an operation is an `Fn`: it may run twice, its first run undone.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use redb::{Database, Table, TableDefinition};

use crate::ports::{StoreError, StoreResult};

/// The most operations one commit takes.
const MAX_BATCH: usize = 256;

/// The table every operation works on.
type Items<'t> = Table<'t, &'static str, &'static [u8]>;

/// One operation: run (perhaps twice), then answered with the outcome of its commit.
trait Job: Send {
    fn run(&mut self, table: &mut Items<'_>) -> StoreResult<()>;
    fn answer(self: Box<Self>, outcome: StoreResult<()>);
}

/// An operation `f` whose answer goes back on `reply`.
struct Operation<R, F> {
    f: F,
    result: Option<R>,
    reply: mpsc::SyncSender<StoreResult<R>>,
}

impl<R, F> Job for Operation<R, F>
where
    R: Send,
    F: Fn(&mut Items<'_>) -> StoreResult<R> + Send,
{
    fn run(&mut self, table: &mut Items<'_>) -> StoreResult<()> {
        self.result = Some((self.f)(table)?);
        Ok(())
    }

    fn answer(self: Box<Self>, outcome: StoreResult<()>) {
        let Self { result, reply, .. } = *self;
        let answer = outcome.and_then(|()| {
            result
                .ok_or_else(|| StoreError::Unavailable("an operation ran without a result".into()))
        });
        // The caller may have gone (its request was dropped): nothing to tell then.
        let _ = reply.send(answer);
    }
}

/// The handle the store's clones share: sends operations to the writer thread, which stops when
/// the last handle is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    jobs: Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread of `db`'s `table`.
    pub(super) fn start(
        db: Arc<Database>,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
    ) -> StoreResult<Self> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || serve(&db, table, &queue))
            .map_err(|e| StoreError::Unavailable(format!("store writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `f` in a write transaction (shared with the operations that arrive with it) and
    /// answers once that transaction is committed.
    pub(super) async fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: Fn(&mut Items<'_>) -> StoreResult<R> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Unavailable("the store's writer stopped".into());
        self.jobs.send(Box::new(Operation { f, result: None, reply })).map_err(|_| stopped())?;
        tokio::task::spawn_blocking(move || answer.recv().map_err(|_| stopped()))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??
    }
}

/// The writer thread: batches, runs and commits until every handle is gone.
fn serve(
    db: &Database,
    table: TableDefinition<'static, &'static str, &'static [u8]>,
    queue: &Receiver<Box<dyn Job>>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = commit(db, table, &mut batch);
        match (outcome, batch.len()) {
            (Ok(()), _) => batch.into_iter().for_each(|job| job.answer(Ok(()))),
            (Err(e), 1) => {
                if let Some(job) = batch.pop() {
                    job.answer(Err(e));
                }
            }
            // Nothing was committed: each runs again alone, and gets its own outcome.
            (Err(_), _) => {
                for mut job in batch {
                    let outcome = commit(db, table, std::slice::from_mut(&mut job));
                    job.answer(outcome);
                }
            }
        }
    }
}

/// Runs `jobs` in order in one write transaction and commits it.
fn commit(
    db: &Database,
    table: TableDefinition<'static, &'static str, &'static [u8]>,
    jobs: &mut [Box<dyn Job>],
) -> StoreResult<()> {
    let unavailable = |e: &dyn std::fmt::Display| StoreError::Unavailable(e.to_string());
    let txn = db.begin_write().map_err(|e| unavailable(&e))?;
    {
        let mut items = txn.open_table(table).map_err(|e| unavailable(&e))?;
        for job in jobs.iter_mut() {
            job.run(&mut items)?;
        }
    }
    txn.commit().map_err(|e| unavailable(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

    /// Operations in flight together, half of which fail after writing: every other one
    /// commits, and no failed one leaves a write behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failed_operation_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Database::create(dir.path().join("s.redb")).unwrap());
        let writer = Writer::start(Arc::clone(&db), ITEMS).unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i: u32| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .write(move |t| {
                            let key = format!("k{i}");
                            t.insert(key.as_str(), i.to_be_bytes().as_slice())
                                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                            if i % 2 == 1 {
                                return Err(StoreError::Corrupt(format!("refused {i}")));
                            }
                            Ok(i)
                        })
                        .await
                })
            })
            .collect();
        for (i, task) in (0u32..).zip(tasks) {
            let answer = task.await.unwrap();
            if i % 2 == 0 {
                assert_eq!(answer.unwrap(), i);
            } else {
                assert!(matches!(answer, Err(StoreError::Corrupt(_))), "{answer:?}");
            }
        }
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(ITEMS).unwrap();
        for i in 0..64u32 {
            let stored = table.get(format!("k{i}").as_str()).unwrap().is_some();
            assert_eq!(stored, i % 2 == 0, "k{i}");
        }
    }
}
