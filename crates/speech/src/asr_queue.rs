//! The ASR pool's bounded queue with two priorities: live-call jobs are always served before
//! batch jobs, and a live job arriving at a full queue takes the place of the newest batch job.

use std::collections::VecDeque;

/// Who is waiting for a recognition, and so how urgent it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AsrPriority {
    /// A caller is waiting on the line.
    #[default]
    Live,
    /// Offline work (recordings, QA): served when no live job waits.
    Batch,
}

/// A queued job: its id, the call it belongs to, and what the worker needs.
#[derive(Debug)]
pub(crate) struct Queued<T> {
    pub id: u64,
    pub call: String,
    pub item: T,
}

/// What happened to a pushed job.
#[derive(Debug)]
pub(crate) enum Pushed<T> {
    /// Queued; nothing was displaced.
    Queued,
    /// Queued in place of this batch job, which the caller has to turn away.
    Displaced(Queued<T>),
    /// Not queued: the queue is full (the job comes back).
    Full(Queued<T>),
}

/// Two FIFO queues sharing one capacity.
#[derive(Debug)]
pub(crate) struct JobQueue<T> {
    live: VecDeque<Queued<T>>,
    batch: VecDeque<Queued<T>>,
    capacity: usize,
}

impl<T> JobQueue<T> {
    /// An empty queue holding at most `capacity` jobs.
    pub fn new(capacity: usize) -> Self {
        Self {
            live: VecDeque::new(),
            batch: VecDeque::new(),
            capacity,
        }
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.live.len() + self.batch.len()
    }

    /// Jobs a new job of this priority would wait behind.
    pub fn ahead_of(&self, priority: AsrPriority) -> usize {
        match priority {
            AsrPriority::Live => self.live.len(),
            AsrPriority::Batch => self.len(),
        }
    }

    /// Adds a job at the back of its priority.
    pub fn push(&mut self, job: Queued<T>, priority: AsrPriority) -> Pushed<T> {
        let mut displaced = None;
        if self.len() >= self.capacity {
            if priority == AsrPriority::Batch || self.batch.is_empty() {
                return Pushed::Full(job);
            }
            displaced = self.batch.pop_back();
        }
        match priority {
            AsrPriority::Live => self.live.push_back(job),
            AsrPriority::Batch => self.batch.push_back(job),
        }
        displaced.map_or(Pushed::Queued, Pushed::Displaced)
    }

    /// The next job to run: the oldest live one, else the oldest batch one.
    pub fn pop(&mut self) -> Option<Queued<T>> {
        self.live.pop_front().or_else(|| self.batch.pop_front())
    }

    /// Takes a job out of the queue, if it is still waiting.
    pub fn remove(&mut self, id: u64) -> Option<Queued<T>> {
        for queue in [&mut self.live, &mut self.batch] {
            if let Some(index) = queue.iter().position(|job| job.id == id) {
                return queue.remove(index);
            }
        }
        None
    }

    /// Takes every waiting job of a call out of the queue.
    pub fn remove_call(&mut self, call: &str) -> Vec<Queued<T>> {
        let mut removed = Vec::new();
        for queue in [&mut self.live, &mut self.batch] {
            let (theirs, others): (VecDeque<_>, VecDeque<_>) =
                queue.drain(..).partition(|job| job.call == call);
            *queue = others;
            removed.extend(theirs);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64, call: &str) -> Queued<()> {
        Queued {
            id,
            call: call.into(),
            item: (),
        }
    }

    fn ids(queue: &mut JobQueue<()>) -> Vec<u64> {
        std::iter::from_fn(|| queue.pop()).map(|j| j.id).collect()
    }

    #[test]
    fn live_jobs_are_served_first_in_arrival_order() {
        let mut queue = JobQueue::new(10);
        queue.push(job(1, "a"), AsrPriority::Batch);
        queue.push(job(2, "b"), AsrPriority::Live);
        queue.push(job(3, "a"), AsrPriority::Batch);
        queue.push(job(4, "c"), AsrPriority::Live);
        assert_eq!(queue.ahead_of(AsrPriority::Live), 2);
        assert_eq!(queue.ahead_of(AsrPriority::Batch), 4);
        assert_eq!(ids(&mut queue), [2, 4, 1, 3]);
    }

    #[test]
    fn a_full_queue_refuses_batch_and_lets_live_displace_the_newest_batch() {
        let mut queue = JobQueue::new(2);
        queue.push(job(1, "a"), AsrPriority::Batch);
        queue.push(job(2, "a"), AsrPriority::Batch);
        assert!(
            matches!(queue.push(job(3, "a"), AsrPriority::Batch), Pushed::Full(j) if j.id == 3)
        );
        assert!(
            matches!(queue.push(job(4, "b"), AsrPriority::Live), Pushed::Displaced(j) if j.id == 2)
        );
        assert!(
            matches!(queue.push(job(5, "b"), AsrPriority::Live), Pushed::Displaced(j) if j.id == 1)
        );
        assert!(matches!(
            queue.push(job(6, "b"), AsrPriority::Live),
            Pushed::Full(_)
        ));
        assert_eq!(ids(&mut queue), [4, 5]);
    }

    #[test]
    fn jobs_leave_by_id_or_by_call() {
        let mut queue = JobQueue::new(10);
        for (id, call) in [(1, "a"), (2, "b"), (3, "a")] {
            queue.push(job(id, call), AsrPriority::Live);
        }
        queue.push(job(4, "a"), AsrPriority::Batch);
        assert_eq!(queue.remove(2).map(|j| j.id), Some(2));
        assert!(queue.remove(2).is_none());
        let removed: Vec<u64> = queue.remove_call("a").iter().map(|j| j.id).collect();
        assert_eq!(removed, [1, 3, 4]);
        assert_eq!(queue.len(), 0);
    }
}
