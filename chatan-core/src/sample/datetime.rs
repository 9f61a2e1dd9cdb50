//! `datetime`: a day or a moment between two bounds, optionally formatted as text.
//!
//! The resolution follows the bounds: two dates (`"2024-01-01"`, a `NaiveDate`) draw
//! whole days, both ends included, each at midnight; bounds that carry a time draw to the
//! second, both ends included. [`DateTime::resolution`] says it explicitly.

use std::sync::OnceLock;

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::Sampler;
use super::{SampleContext, SamplerError};

/// A day or a moment between `start` and `end`, both inclusive.
///
/// Bounds are `chrono` dates or date-times, or text: `2024-01-31`, `2024-01-31 08:30:00`,
/// `2024-01-31T08:30:00` or RFC 3339, or any form given with
/// [`parse_format`](DateTime::parse_format) (such as `"%m/%d/%Y"`). Text that does not
/// parse fails the run before any request, naming the column.
///
/// Two date bounds draw whole days (midnight of a day from `start` to `end`, each day
/// equally likely); bounds with a time draw to the second. Draws a
/// [`NaiveDateTime`](chrono::NaiveDateTime); [`date`](DateTime::date) draws a
/// [`NaiveDate`](chrono::NaiveDate) instead (which shows as `2024-01-15` in a prompt),
/// and [`format`](DateTime::format) turns a draw into text for a `String` column.
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
///
/// let day = sample::datetime("2024-01-01", "2024-12-31").format("%Y-%m-%d");
/// let text = day.sample(&mut SampleContext::from_seed(5));
/// assert!(text.starts_with("2024-"));
///
/// let us = sample::datetime("01/15/2024", "02/15/2024").parse_format("%m/%d/%Y").date();
/// let d = us.sample(&mut SampleContext::from_seed(5));
/// assert!(d.to_string().starts_with("2024-0"));
/// ```
pub fn datetime(start: impl Into<DateBound>, end: impl Into<DateBound>) -> DateTime {
    DateTime {
        start: start.into(),
        end: end.into(),
        parse_format: None,
        resolution: None,
        plan: OnceLock::new(),
    }
}

/// One end of a [`datetime`] range.
#[derive(Debug, Clone)]
pub enum DateBound {
    /// A moment.
    At(NaiveDateTime),
    /// A day.
    Day(NaiveDate),
    /// Text to parse when the run starts.
    Text(String),
}

impl From<NaiveDateTime> for DateBound {
    fn from(t: NaiveDateTime) -> Self {
        DateBound::At(t)
    }
}

impl From<NaiveDate> for DateBound {
    fn from(d: NaiveDate) -> Self {
        DateBound::Day(d)
    }
}

impl<Tz: chrono::TimeZone> From<chrono::DateTime<Tz>> for DateBound {
    fn from(t: chrono::DateTime<Tz>) -> Self {
        DateBound::At(t.naive_utc())
    }
}

impl From<&str> for DateBound {
    fn from(s: &str) -> Self {
        DateBound::Text(s.to_owned())
    }
}

impl From<String> for DateBound {
    fn from(s: String) -> Self {
        DateBound::Text(s)
    }
}

impl DateBound {
    /// The bound as a moment, and whether it is a whole day.
    fn resolve(&self, parse_format: Option<&str>) -> Result<(NaiveDateTime, bool), String> {
        let text = match self {
            DateBound::At(t) => return Ok((*t, false)),
            DateBound::Day(d) => return Ok((d.and_time(NaiveTime::MIN), true)),
            DateBound::Text(s) => s.trim(),
        };
        if let Some(format) = parse_format {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Ok((t, false));
            }
            return NaiveDate::parse_from_str(text, format)
                .map(|d| (d.and_time(NaiveTime::MIN), true))
                .map_err(|e| format!("{text:?} does not match the format {format:?}: {e}"));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok((t.naive_utc(), false));
        }
        for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Ok((t, false));
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| (d.and_time(NaiveTime::MIN), true))
            .map_err(|_| {
                format!(
                    "{text:?} is not a date; write 2024-01-31, 2024-01-31 08:30:00 \
                     or an RFC 3339 time, or give its form with `.parse_format(..)`"
                )
            })
    }
}

/// The step between the values a [`datetime`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolution {
    /// Whole days, at midnight.
    Day,
    /// Whole hours.
    Hour,
    /// Whole minutes.
    Minute,
    /// Seconds.
    Second,
}

impl Resolution {
    fn seconds(self) -> i64 {
        match self {
            Resolution::Day => 86_400,
            Resolution::Hour => 3_600,
            Resolution::Minute => 60,
            Resolution::Second => 1,
        }
    }
}

/// See [`datetime`].
#[derive(Debug, Clone)]
pub struct DateTime {
    start: DateBound,
    end: DateBound,
    parse_format: Option<String>,
    resolution: Option<Resolution>,
    /// The bounds, parsed once, on first use.
    plan: OnceLock<Result<Plan, String>>,
}

/// What a draw needs: the first value, the step, and how many steps fit.
#[derive(Debug, Clone, Copy)]
struct Plan {
    first: NaiveDateTime,
    step: i64,
    steps: u64,
}

impl DateTime {
    /// Parses text bounds with a `strftime`-style format, such as `"%m/%d/%Y"` (a format
    /// without a time gives days).
    pub fn parse_format(mut self, format: impl Into<String>) -> Self {
        self.parse_format = Some(format.into());
        self.plan = OnceLock::new();
        self
    }

    /// Draws values a `resolution` apart, from `start` rounded up to one. Without it, two
    /// date bounds draw days and anything else draws seconds.
    pub fn resolution(mut self, resolution: Resolution) -> Self {
        self.resolution = Some(resolution);
        self.plan = OnceLock::new();
        self
    }

    /// Draws the day alone, as a [`NaiveDate`](chrono::NaiveDate).
    pub fn date(self) -> DateOnly {
        DateOnly(self.resolution(Resolution::Day))
    }

    /// Formats each draw with a `strftime`-style pattern such as `"%Y-%m-%d"` (see
    /// [`chrono::format::strftime`]).
    pub fn format(self, pattern: impl Into<String>) -> FormattedDateTime {
        FormattedDateTime {
            inner: self,
            pattern: pattern.into(),
        }
    }

    fn plan(&self) -> &Result<Plan, String> {
        self.plan.get_or_init(|| {
            let format = self.parse_format.as_deref();
            let (start, start_day) = self.start.resolve(format)?;
            let (end, end_day) = self.end.resolve(format)?;
            if start > end {
                return Err(format!(
                    "the range is empty: start {start} is after end {end}"
                ));
            }
            let resolution = self.resolution.unwrap_or(if start_day && end_day {
                Resolution::Day
            } else {
                Resolution::Second
            });
            let step = resolution.seconds();
            // The first value on the grid at or after `start` (days start at midnight).
            let offset = (start - chrono::DateTime::UNIX_EPOCH.naive_utc())
                .num_seconds()
                .rem_euclid(step);
            let first = if offset == 0 {
                start
            } else {
                start + TimeDelta::seconds(step - offset)
            };
            if first > end {
                return Err(format!(
                    "no {resolution:?} lies between {start} and {end}; widen the range \
                     or choose a finer resolution"
                ));
            }
            let steps = ((end - first).num_seconds() / step) as u64;
            Ok(Plan { first, step, steps })
        })
    }

    fn draw(&self, cx: &mut SampleContext) -> NaiveDateTime {
        let plan = self.plan().as_ref().expect("checked before sampling");
        let k = match plan.steps.checked_add(1) {
            Some(count) => cx.rng.below(count),
            None => cx.rng.next_u64(),
        };
        plan.first + TimeDelta::seconds(k as i64 * plan.step)
    }
}

impl Sampler for DateTime {
    type Item = NaiveDateTime;
    fn sample(&self, cx: &mut SampleContext) -> NaiveDateTime {
        self.draw(cx)
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.plan()
            .as_ref()
            .map(|_| ())
            .map_err(|e| SamplerError::invalid(e.clone()))
    }
}

/// See [`DateTime::date`].
#[derive(Debug, Clone)]
pub struct DateOnly(DateTime);

impl Sampler for DateOnly {
    type Item = NaiveDate;
    fn sample(&self, cx: &mut SampleContext) -> NaiveDate {
        self.0.draw(cx).date()
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.0.check()
    }
}

/// See [`DateTime::format`].
#[derive(Debug, Clone)]
pub struct FormattedDateTime {
    inner: DateTime,
    pattern: String,
}

impl Sampler for FormattedDateTime {
    type Item = String;
    fn sample(&self, cx: &mut SampleContext) -> String {
        self.inner.draw(cx).format(&self.pattern).to_string()
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.inner.check()?;
        if StrftimeItems::new(&self.pattern).any(|i| matches!(i, Item::Error)) {
            return Err(SamplerError::invalid(format!(
                "{:?} is not a valid date format; see chrono's strftime (such as \"%Y-%m-%d\")",
                self.pattern
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Timelike;

    use super::*;

    #[test]
    fn date_bounds_draw_every_day_both_ends_included_at_midnight() {
        let s = datetime("2024-01-01", "2024-01-31");
        s.check().unwrap();
        let mut cx = SampleContext::from_seed(1);
        let mut days: BTreeMap<u32, usize> = BTreeMap::new();
        for _ in 0..3100 {
            let t = s.sample(&mut cx);
            assert_eq!(t.time(), NaiveTime::MIN, "{t}");
            *days.entry(chrono::Datelike::day(&t)).or_default() += 1;
        }
        assert_eq!(days.len(), 31, "{days:?}");
        assert_eq!(days.keys().next(), Some(&1));
        assert_eq!(days.keys().next_back(), Some(&31));
        // About 100 draws a day: none far from uniform.
        for (day, n) in &days {
            assert!((55..150).contains(n), "day {day}: {n} draws; {days:?}");
        }
    }

    #[test]
    fn time_bounds_draw_seconds_both_ends_included() {
        let s = datetime("2024-01-01 00:00:00", "2024-01-01 00:00:02");
        s.check().unwrap();
        let mut cx = SampleContext::from_seed(1);
        let seen: std::collections::BTreeSet<u32> =
            (0..200).map(|_| s.sample(&mut cx).second()).collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn an_explicit_resolution_rounds_to_its_step() {
        let s = datetime("2024-01-01 10:20:30", "2024-01-01 13:00:00").resolution(Resolution::Hour);
        let mut cx = SampleContext::from_seed(3);
        let hours: std::collections::BTreeSet<u32> = (0..200)
            .map(|_| {
                let t = s.sample(&mut cx);
                assert_eq!((t.minute(), t.second()), (0, 0), "{t}");
                t.hour()
            })
            .collect();
        assert_eq!(hours.into_iter().collect::<Vec<_>>(), vec![11, 12, 13]);
        let none =
            datetime("2024-01-01 10:20:30", "2024-01-01 10:40:00").resolution(Resolution::Hour);
        assert!(
            none.check()
                .unwrap_err()
                .message
                .contains("no Hour lies between")
        );
    }

    #[test]
    fn parse_formats_and_dates() {
        let s = datetime("01/30/2024", "02/01/2024")
            .parse_format("%m/%d/%Y")
            .date();
        s.check().unwrap();
        let mut cx = SampleContext::from_seed(4);
        let seen: std::collections::BTreeSet<String> =
            (0..100).map(|_| s.sample(&mut cx).to_string()).collect();
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["2024-01-30", "2024-01-31", "2024-02-01"]
        );
        let bad = datetime("2024-01-30", "02/01/2024").parse_format("%m/%d/%Y");
        assert!(
            bad.check()
                .unwrap_err()
                .message
                .contains("does not match the format")
        );
    }

    #[test]
    fn accepts_chrono_values_and_formats() {
        let a = NaiveDate::from_ymd_opt(2020, 5, 1).unwrap();
        let b = NaiveDate::from_ymd_opt(2020, 5, 31).unwrap();
        let s = datetime(a, b).format("%Y/%m/%d");
        s.check().unwrap();
        let text = s.sample(&mut SampleContext::from_seed(2));
        assert!(text.starts_with("2020/05/"), "{text}");
        let t = datetime("2021-03-04T05:06:07Z", "2021-03-04T05:06:07+00:00");
        t.check().unwrap();
        assert_eq!(
            t.sample(&mut SampleContext::from_seed(1)).to_string(),
            "2021-03-04 05:06:07"
        );
    }

    #[test]
    fn bad_input_fails_check() {
        assert!(
            datetime("yesterday", "2024-01-01")
                .check()
                .unwrap_err()
                .message
                .contains("\"yesterday\" is not a date")
        );
        assert!(
            datetime("2024-02-01", "2024-01-01")
                .check()
                .unwrap_err()
                .message
                .contains("empty")
        );
        assert!(
            datetime("2024-01-01", "2024-02-01")
                .format("%Q")
                .check()
                .unwrap_err()
                .message
                .contains("not a valid date format")
        );
    }
}
