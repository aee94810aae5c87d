//! The estimated wait announced to callers, from a queue's recent answers.

use std::collections::VecDeque;
use std::time::Duration;

/// Answered calls the moving average covers.
const SAMPLES: usize = 20;

/// Wait per place in line assumed before a queue has answered a call.
const DEFAULT_WAIT_PER_PLACE: Duration = Duration::from_secs(30);

/// How long one place in a queue's line took recently: the moving average, over the last
/// [`SAMPLES`] answered calls, of each one's wait divided by the place it joined the line at.
/// Per place rather than per call, so a caller fifth in line hears more than one who is first,
/// and quiet hours (everyone answered at once) give short estimates.
#[derive(Debug, Default)]
pub(crate) struct WaitEstimate {
    per_place: VecDeque<Duration>,
    total: Duration,
}

impl WaitEstimate {
    /// Counts an answered call that waited `waited` after joining the line at `place` (1-based).
    pub fn record(&mut self, waited: Duration, place: usize) {
        let sample = waited / u32::try_from(place.max(1)).unwrap_or(u32::MAX);
        if self.per_place.len() == SAMPLES
            && let Some(oldest) = self.per_place.pop_front()
        {
            self.total -= oldest;
        }
        self.per_place.push_back(sample);
        self.total += sample;
    }

    /// The recent wait per place in line.
    pub fn per_place(&self) -> Duration {
        match u32::try_from(self.per_place.len()) {
            Ok(0) | Err(_) => DEFAULT_WAIT_PER_PLACE,
            Ok(count) => self.total / count,
        }
    }

    /// The expected wait of a caller at `position` (1-based).
    pub fn for_position(&self, position: usize) -> Duration {
        self.per_place()
            .saturating_mul(u32::try_from(position).unwrap_or(u32::MAX))
    }
}
