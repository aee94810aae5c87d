//! The caller's own baseline. Voices differ far more between callers than one caller's voice
//! changes with anger (a calm child is higher than an angry man; a handset is louder than a
//! headset), so pitch, level and rate only mean something against the same caller's first
//! utterances of the call. Those set the baseline; every later utterance is compared with it.
//! The baseline is then frozen, so that a caller who stays angry keeps showing as angry.

use serde::Serialize;

use crate::acoustic::AcousticMeasures;

/// How much one calm speaker's median pitch typically moves between utterances, in semitones:
/// the unit of `pitch_z` (the calm LibriVox reader's five sentences span 80–107 Hz, 5 semitones).
pub const TYPICAL_PITCH_SEMITONES: f32 = 2.0;
/// How much one calm speaker's level typically moves between utterances on one line, in dB: the
/// unit of `energy_z`.
pub const TYPICAL_ENERGY_DB: f32 = 3.0;
/// Utterances with less voiced audio than this do not go into the baseline ("yes" is too short
/// to say what the voice is like).
pub const MIN_BASELINE_VOICED_MS: u32 = 400;

/// An utterance compared with the caller's baseline.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deviation {
    /// Baseline utterances this comparison rests on.
    pub baseline_utterances: usize,
    /// Median pitch above the baseline, semitones.
    pub pitch_semitones: Option<f32>,
    /// `pitch_semitones` in units of [`TYPICAL_PITCH_SEMITONES`].
    pub pitch_z: Option<f32>,
    /// Pitch spread (intonation range) / the baseline's.
    pub pitch_spread_ratio: Option<f32>,
    /// Level above the baseline, dB.
    pub energy_db: Option<f32>,
    /// `energy_db` in units of [`TYPICAL_ENERGY_DB`].
    pub energy_z: Option<f32>,
    /// Speaking rate / the baseline's.
    pub rate_ratio: Option<f32>,
}

/// The first utterances of one caller, averaged.
#[derive(Debug)]
pub struct CallerBaseline {
    wanted: usize,
    taken: Vec<AcousticMeasures>,
}

impl CallerBaseline {
    /// A baseline made of the caller's first `utterances` usable utterances.
    pub fn new(utterances: usize) -> Self {
        Self {
            wanted: utterances.max(1),
            taken: Vec::new(),
        }
    }

    /// Compares `m` with the baseline (`None` while the baseline is empty), then takes `m` into
    /// the baseline if it is still being built and `m` has enough voice.
    pub fn compare_and_learn(&mut self, m: &AcousticMeasures) -> Option<Deviation> {
        let deviation = (!self.taken.is_empty()).then(|| self.compare(m));
        if self.taken.len() < self.wanted && m.voiced_ms >= MIN_BASELINE_VOICED_MS {
            self.taken.push(m.clone());
        }
        deviation
    }

    /// Whether the baseline has all the utterances it waits for.
    pub fn is_complete(&self) -> bool {
        self.taken.len() >= self.wanted
    }

    fn compare(&self, m: &AcousticMeasures) -> Deviation {
        let pitch = m
            .pitch_semitones()
            .zip(self.mean(AcousticMeasures::pitch_semitones))
            .map(|(now, base)| now - base);
        let energy = m
            .energy_dbfs
            .zip(self.mean(|b| b.energy_dbfs))
            .map(|(now, base)| now - base);
        let ratio = |now: Option<f32>, base: Option<f32>| {
            now.zip(base.filter(|b| *b > 0.0))
                .map(|(now, base)| now / base)
        };
        Deviation {
            baseline_utterances: self.taken.len(),
            pitch_semitones: pitch,
            pitch_z: pitch.map(|p| p / TYPICAL_PITCH_SEMITONES),
            pitch_spread_ratio: ratio(
                m.pitch_spread_semitones,
                self.mean(|b| b.pitch_spread_semitones),
            ),
            energy_db: energy,
            energy_z: energy.map(|e| e / TYPICAL_ENERGY_DB),
            rate_ratio: ratio(m.speaking_rate, self.mean(|b| b.speaking_rate)),
        }
    }

    /// Mean of one measure over the baseline utterances that have it.
    fn mean(&self, measure: impl Fn(&AcousticMeasures) -> Option<f32>) -> Option<f32> {
        let values: Vec<f32> = self.taken.iter().filter_map(measure).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f32>() / values.len() as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measures(pitch_hz: f32, energy_dbfs: f32, rate: f32) -> AcousticMeasures {
        AcousticMeasures {
            voiced_ms: 800,
            pitch_hz: Some(pitch_hz),
            pitch_spread_semitones: Some(2.0),
            energy_dbfs: Some(energy_dbfs),
            speaking_rate: Some(rate),
            ..AcousticMeasures::default()
        }
    }

    #[test]
    fn later_utterances_are_compared_with_the_first_ones() {
        let mut baseline = CallerBaseline::new(2);
        assert_eq!(
            baseline.compare_and_learn(&measures(100.0, -30.0, 4.0)),
            None
        );
        let second = baseline
            .compare_and_learn(&measures(100.0, -26.0, 4.0))
            .unwrap();
        assert_eq!(second.energy_db, Some(4.0));
        assert!(baseline.is_complete());
        let raised = baseline
            .compare_and_learn(&measures(200.0, -22.0, 6.0))
            .unwrap();
        assert_eq!(raised.baseline_utterances, 2);
        assert!((raised.pitch_semitones.unwrap() - 12.0).abs() < 1e-4);
        assert!((raised.pitch_z.unwrap() - 6.0).abs() < 1e-4);
        assert_eq!(raised.energy_db, Some(6.0));
        assert_eq!(raised.energy_z, Some(2.0));
        assert_eq!(raised.rate_ratio, Some(1.5));
        assert_eq!(raised.pitch_spread_ratio, Some(1.0));
        // Frozen: the raised utterance did not move the baseline.
        let again = baseline
            .compare_and_learn(&measures(200.0, -22.0, 6.0))
            .unwrap();
        assert_eq!(again.energy_db, Some(6.0));
    }

    #[test]
    fn short_answers_do_not_set_the_baseline() {
        let mut baseline = CallerBaseline::new(1);
        let yes = AcousticMeasures {
            voiced_ms: 150,
            ..measures(300.0, -10.0, 3.0)
        };
        baseline.compare_and_learn(&yes);
        assert!(!baseline.is_complete());
        assert_eq!(
            baseline.compare_and_learn(&measures(100.0, -30.0, 4.0)),
            None
        );
        assert!(baseline.is_complete());
    }
}
