//! Business hours: weekly opening ranges and closed dates in one time zone.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

/// When a line is open, in the local time of `tz`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schedule {
    pub(crate) tz: Tz,
    pub(crate) open: Vec<OpenRange>,
    /// Inclusive date ranges on which the line stays closed all day.
    pub(crate) closed: Vec<(NaiveDate, NaiveDate)>,
}

/// Open on `days` (Monday = 0) from `from` to `to`, minutes after local midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenRange {
    days: [bool; 7],
    from: u32,
    to: u32,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(name: &str) -> Result<usize, String> {
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("unknown day `{name}`; use mon, tue, wed, thu, fri, sat, sun"))
}

/// Minutes after midnight of `HH:MM`; `24:00` only where `end_of_day` allows it.
fn time(text: &str, end_of_day: bool) -> Result<u32, String> {
    let bad = || format!("bad time `{text}`; write HH:MM, e.g. 08:00 or 17:30");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) if end_of_day => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// Parses `mon-fri 08:00-18:00`, `sat,sun 10:00-12:00,13:00-16:00` or `daily 00:00-24:00`.
pub(crate) fn parse_open(spec: &str) -> Result<Vec<OpenRange>, String> {
    let mut words = spec.split_whitespace();
    let (Some(days_text), Some(times_text), None) = (words.next(), words.next(), words.next())
    else {
        return Err(format!(
            "bad opening hours `{spec}`; write days then times, e.g. \"mon-fri 08:00-18:00\""
        ));
    };
    let mut days = [false; 7];
    if days_text.eq_ignore_ascii_case("daily") {
        days = [true; 7];
    } else {
        for part in days_text.split(',') {
            match part.split_once('-') {
                Some((first, last)) => {
                    let (first, last) = (day(first)?, day(last)?);
                    // A range may wrap around the week end, as in fri-mon.
                    let len = (last + 7 - first) % 7;
                    for i in 0..=len {
                        days[(first + i) % 7] = true;
                    }
                }
                None => days[day(part)?] = true,
            }
        }
    }
    times_text
        .split(',')
        .map(|range| {
            let (from, to) = range
                .split_once('-')
                .ok_or_else(|| format!("bad time range `{range}`; write HH:MM-HH:MM"))?;
            let (from, to) = (time(from, false)?, time(to, true)?);
            if from >= to {
                return Err(format!(
                    "time range `{range}` ends before it starts; split a range past midnight in two"
                ));
            }
            Ok(OpenRange { days, from, to })
        })
        .collect()
}

/// Parses a closed date `2026-12-25` or an inclusive range `2026-12-24..2026-12-26`.
pub(crate) fn parse_closed(spec: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let date = |text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| format!("bad date `{text}`; write YYYY-MM-DD, e.g. 2026-12-25"))
    };
    let (first, last) = match spec.split_once("..") {
        Some((first, last)) => (date(first)?, date(last)?),
        None => (date(spec)?, date(spec)?),
    };
    if first > last {
        return Err(format!("date range `{spec}` ends before it starts"));
    }
    Ok((first, last))
}

impl Schedule {
    /// Whether the line is open at `at`, and the local time that was judged.
    pub(crate) fn check(&self, at: DateTime<Utc>) -> (bool, DateTime<Tz>) {
        let local = at.with_timezone(&self.tz);
        let date = local.date_naive();
        let closed_today = self
            .closed
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&date));
        let weekday = local.weekday().num_days_from_monday() as usize;
        let minute = local.hour() * 60 + local.minute();
        let open = !closed_today
            && self
                .open
                .iter()
                .any(|r| r.days[weekday] && (r.from..r.to).contains(&minute));
        (open, local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(tz: Tz, open: &[&str], closed: &[&str]) -> Schedule {
        Schedule {
            tz,
            open: open.iter().flat_map(|s| parse_open(s).unwrap()).collect(),
            closed: closed.iter().map(|s| parse_closed(s).unwrap()).collect(),
        }
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn weekday_ranges_and_end_of_day() {
        let s = schedule(
            chrono_tz::UTC,
            &["fri-mon 22:00-24:00", "wed 09:00-10:00,11:00-12:00"],
            &[],
        );
        // 2026-01-04 is a Sunday; fri-mon wraps over the weekend.
        assert!(s.check(utc(2026, 1, 4, 23, 59)).0);
        assert!(!s.check(utc(2026, 1, 6, 23, 0)).0); // Tuesday
        assert!(s.check(utc(2026, 1, 7, 11, 30)).0); // Wednesday
        assert!(!s.check(utc(2026, 1, 7, 10, 30)).0);
        assert!(
            !s.check(utc(2026, 1, 7, 12, 0)).0,
            "the end minute is closed"
        );
    }

    #[test]
    fn closed_dates_win_over_opening_hours() {
        let s = schedule(
            chrono_tz::Europe::Berlin,
            &["daily 00:00-24:00"],
            &["2026-12-24..2026-12-26", "2026-12-31"],
        );
        // 23:30 UTC on the 23rd is already the 24th in Berlin.
        assert!(!s.check(utc(2026, 12, 23, 23, 30)).0);
        assert!(s.check(utc(2026, 12, 23, 22, 30)).0);
        assert!(!s.check(utc(2026, 12, 31, 12, 0)).0);
        assert!(s.check(utc(2026, 12, 27, 12, 0)).0);
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "mon-fri",
            "mon-fri 8:00-18:00",
            "mon-fri 08:00-25:00",
            "mon-fry 08:00-18:00",
            "mon 18:00-08:00",
            "mon 24:00-24:00",
            "mon 08:00",
            "mon 08:00-09:00 extra",
        ] {
            assert!(parse_open(bad).is_err(), "{bad}");
        }
        assert!(parse_closed("2026-02-30").is_err());
        assert!(parse_closed("2026-12-26..2026-12-24").is_err());
    }
}
