//! Group commit for REST writes. Every write request is one transaction, and
//! with `synchronous = FULL` each commit costs an fsync: done one request at
//! a time, the disk sets the door's write rate. So requests are queued to one
//! committer task, which takes the writer, gathers whatever is queued (up to
//! [`MAX_BATCH`]) into one SQLite transaction with each request in a
//! savepoint of its own, and commits once: one fsync for the batch, and a
//! failing request rolls back only its own savepoint.
//!
//! A failure that rolls back the whole SQLite transaction (an interrupt past
//! the statement timeout does, for a write) would take the other requests'
//! work with it; those requests are run again in a new transaction, so none
//! is reported committed that was not. Captured changes of one batch share
//! one change-stream transaction id.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::exec::{Outcome, Plans, Statement, run_step};
use super::limits::{Limits, shutting_down};
use crate::error::Result;
use crate::notify::{Notification, NotifyHub, Pending};
use crate::store::exec::{begin_write, commit_write};
use crate::store::{Conn, Store, blocking};

/// How long a REST write waits for the writer before failing with 55P03 (503).
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests gathered into one transaction at most.
const MAX_BATCH: usize = 64;

/// Write requests queued for the committer before senders wait their turn.
const QUEUE: usize = 1024;

/// Where a request's result goes.
type Reply = oneshot::Sender<Result<Vec<Outcome>>>;

/// What one request's statements did: their outcomes, and the notifications
/// to publish if the transaction commits.
type Ran = Result<(Vec<Outcome>, Vec<Notification>)>;

/// One write request.
struct Job {
    statements: Vec<Statement>,
    reply: Reply,
}

/// The queue to the committer task. The task ends at shutdown, or when this
/// (the REST door) is dropped and the queue closes; requests still queued
/// then are answered 57P01.
pub struct Committer {
    jobs: mpsc::Sender<Job>,
}

/// What the committer runs requests with.
pub struct Writes {
    pub store: Arc<Store>,
    pub hub: Arc<NotifyHub>,
    pub limits: Arc<Limits>,
    pub plans: Arc<Plans>,
}

impl Committer {
    pub fn start(writes: Writes, shutdown: CancellationToken) -> Committer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(commit_loop(Arc::new(writes), queue, shutdown));
        Committer { jobs }
    }

    /// Runs `statements` as one transaction (all or nothing), committed with
    /// whatever other requests are waiting.
    pub async fn run(&self, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        let (reply, answer) = oneshot::channel();
        let job = Job { statements, reply };
        self.jobs.send(job).await.map_err(|_| shutting_down())?;
        answer.await.unwrap_or_else(|_| Err(shutting_down()))
    }
}

async fn commit_loop(writes: Arc<Writes>, mut queue: mpsc::Receiver<Job>, stop: CancellationToken) {
    loop {
        let first = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            job = queue.recv() => match job {
                Some(job) => job,
                None => return,
            },
        };
        // A request still waiting for the writer at shutdown is not run.
        let guard = tokio::select! {
            biased;
            _ = stop.cancelled() => {
                let _ = first.reply.send(Err(shutting_down()));
                return;
            }
            guard = writes.store.writer(LOCK_TIMEOUT) => guard,
        };
        let guard = match guard {
            Ok(guard) => guard,
            Err(e) => {
                let _ = first.reply.send(Err(e));
                continue;
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(job) = queue.try_recv()
        {
            batch.push(job);
        }
        let on_writer = writes.clone();
        let (guard, done) = blocking(guard, move |conn| on_writer.run_batch(conn, batch)).await;
        drop(guard);
        writes.store.committed();
        for (reply, ran) in done {
            let _ = reply.send(ran.map(|(outcomes, notifications)| {
                writes.hub.publish(notifications);
                outcomes
            }));
        }
    }
}

impl Writes {
    /// Runs every job, in as many transactions as it takes (one, unless a
    /// failure rolls a whole transaction back).
    fn run_batch(&self, conn: &Conn, mut jobs: Vec<Job>) -> Vec<(Reply, Ran)> {
        let mut done = Vec::with_capacity(jobs.len());
        while !jobs.is_empty() {
            jobs = self.one_transaction(conn, jobs, &mut done);
        }
        done
    }

    /// Runs `jobs` in one transaction, each in its own savepoint, and commits;
    /// the finished go to `done`. Returns the jobs to run again: those whose
    /// work was lost when a failure rolled the whole transaction back.
    fn one_transaction(
        &self,
        conn: &Conn,
        jobs: Vec<Job>,
        done: &mut Vec<(Reply, Ran)>,
    ) -> Vec<Job> {
        if let Err(e) = begin_write(conn) {
            done.extend(jobs.into_iter().map(|j| (j.reply, Err(e.clone()))));
            return Vec::new();
        }
        let mut ran: Vec<(Job, Ran)> = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            let result = self.in_savepoint(conn, &job.statements);
            if result.is_err() {
                // The DDL of a rolled-back request is gone; the catalog follows.
                self.reload_catalog(conn);
            }
            if result.is_err() && conn.sqlite.is_autocommit() {
                done.push((job.reply, result));
                let mut again = Vec::new();
                for (job, result) in ran {
                    match result {
                        Ok(_) => again.push(job),
                        Err(e) => done.push((job.reply, Err(e))),
                    }
                }
                again.extend(jobs);
                return again;
            }
            ran.push((job, result));
        }
        let commit = commit_write(conn);
        if commit.is_err() {
            self.reload_catalog(conn);
        }
        for (job, result) in ran {
            let result = match (&commit, result) {
                (Err(e), Ok(_)) => Err(e.clone()),
                (_, result) => result,
            };
            done.push((job.reply, result));
        }
        Vec::new()
    }

    /// One request's statements, undone alone if one of them fails.
    fn in_savepoint(&self, conn: &Conn, statements: &[Statement]) -> Ran {
        conn.sqlite.execute_batch("SAVEPOINT lw_request")?;
        let result = self
            .limits
            .timed(conn, |conn| self.statements(conn, statements));
        let end = match result {
            Ok(_) => "RELEASE lw_request",
            Err(_) => "ROLLBACK TO lw_request; RELEASE lw_request",
        };
        // After an interrupt the transaction may be gone already.
        let _ = conn.sqlite.execute_batch(end);
        result
    }

    fn statements(&self, conn: &Conn, statements: &[Statement]) -> Ran {
        let now = Utc::now();
        let mut pending = Pending::default();
        let outcomes = statements
            .iter()
            .map(|s| {
                conn.context.begin_statement(now, 0, Vec::new());
                let outcome = run_step(conn, &self.store, &self.plans, s, &mut pending)?;
                for (channel, payload) in conn.context.take_notifications() {
                    pending.notify(channel, payload);
                }
                self.limits.rows(outcome)
            })
            .collect::<Result<Vec<_>>>()?;
        // Messages on durable channels are kept in this transaction.
        let mut notifications = pending.take_notifications(0);
        let durable = self.hub.durable_channels();
        crate::notify::durable::record(conn, &durable, &mut notifications)?;
        Ok((outcomes, notifications))
    }

    fn reload_catalog(&self, conn: &Conn) {
        if let Err(e) = self.store.reload_catalog(conn) {
            tracing::warn!(error = %e, "reloading the catalog after a rollback failed");
        }
    }
}
