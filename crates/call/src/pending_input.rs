//! Work done for the dialplan on another task (a webhook's HTTP exchange, a knowledge-base
//! match) whose result is the dialplan's next input; the call awaits it in its `select!`.

use sb_dialog::Input;
use tokio::task::JoinHandle;

/// An input on its way; dropping it abandons the work.
#[derive(Debug)]
pub struct PendingInput {
    task: JoinHandle<Input>,
    /// The input to give when the task itself failed (panicked or was cancelled).
    failed: fn(String) -> Input,
}

impl PendingInput {
    /// Waits for `task`; `failed` turns a failure of the task into the dialplan's input.
    pub fn new(task: JoinHandle<Input>, failed: fn(String) -> Input) -> Self {
        PendingInput { task, failed }
    }

    /// The input, once the work is done.
    pub async fn input(&mut self) -> Input {
        match (&mut self.task).await {
            Ok(input) => input,
            Err(e) => (self.failed)(e.to_string()),
        }
    }
}

impl Drop for PendingInput {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits for `pending`'s input (pending forever when there is none).
pub async fn next_input(pending: &mut Option<PendingInput>) -> Input {
    match pending.as_mut() {
        Some(pending) => pending.input().await,
        None => std::future::pending().await,
    }
}
