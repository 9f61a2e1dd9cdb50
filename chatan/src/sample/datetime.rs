//! `datetime`: a moment between two bounds, optionally formatted as text.

use chrono::format::{Item, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};

use super::Sampler;
use super::{SampleContext, SamplerError};

/// A date-time between `start` and `end` (both inclusive, to the second).
///
/// Bounds are `chrono` dates or date-times, or text in one of the forms `2024-01-31`,
/// `2024-01-31 08:30:00`, `2024-01-31T08:30:00` or RFC 3339; text that does not parse
/// fails the run before any request, naming the column. Draws a
/// [`NaiveDateTime`](chrono::NaiveDateTime); [`format`](DateTime::format) turns it into
/// text for a `String` column.
///
/// ```
/// use chatan::{sample, SampleContext, Sampler};
///
/// let day = sample::datetime("2024-01-01", "2024-12-31").format("%Y-%m-%d");
/// let text = day.sample(&mut SampleContext::from_seed(5));
/// assert!(text.starts_with("2024-"));
/// ```
pub fn datetime(start: impl Into<DateBound>, end: impl Into<DateBound>) -> DateTime {
    DateTime {
        start: start.into(),
        end: end.into(),
    }
}

/// One end of a [`datetime`] range.
#[derive(Debug, Clone)]
pub enum DateBound {
    /// A moment.
    At(NaiveDateTime),
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
        DateBound::At(d.and_time(chrono::NaiveTime::MIN))
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
    fn resolve(&self) -> Result<NaiveDateTime, String> {
        let text = match self {
            DateBound::At(t) => return Ok(*t),
            DateBound::Text(s) => s.trim(),
        };
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
            return Ok(t.naive_utc());
        }
        for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(t);
            }
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| d.and_time(chrono::NaiveTime::MIN))
            .map_err(|_| {
                format!(
                    "{text:?} is not a date; write 2024-01-31, 2024-01-31 08:30:00 \
                     or an RFC 3339 time"
                )
            })
    }
}

/// See [`datetime`].
#[derive(Debug, Clone)]
pub struct DateTime {
    start: DateBound,
    end: DateBound,
}

impl DateTime {
    /// Formats each draw with a `strftime`-style pattern such as `"%Y-%m-%d"` (see
    /// [`chrono::format::strftime`]).
    pub fn format(self, pattern: impl Into<String>) -> FormattedDateTime {
        FormattedDateTime {
            inner: self,
            pattern: pattern.into(),
        }
    }

    fn bounds(&self) -> Result<(NaiveDateTime, NaiveDateTime), String> {
        let (start, end) = (self.start.resolve()?, self.end.resolve()?);
        if start > end {
            return Err(format!(
                "the range is empty: start {start} is after end {end}"
            ));
        }
        Ok((start, end))
    }
}

impl Sampler for DateTime {
    type Item = NaiveDateTime;
    fn sample(&self, cx: &mut SampleContext) -> NaiveDateTime {
        let (start, end) = self.bounds().expect("checked before sampling");
        let span = (end - start).num_seconds() as u64;
        let offset = if span == u64::MAX {
            cx.rng.next_u64()
        } else {
            cx.rng.below(span + 1)
        };
        start + chrono::TimeDelta::seconds(offset as i64)
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.bounds().map(|_| ()).map_err(SamplerError::invalid)
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
        self.inner.sample(cx).format(&self.pattern).to_string()
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
    use super::*;

    #[test]
    fn draws_stay_within_bounds_inclusive() {
        let s = datetime("2024-01-01 00:00:00", "2024-01-01 00:00:02");
        s.check().unwrap();
        let mut rng = SampleContext::from_seed(1);
        let seen: std::collections::BTreeSet<u32> = (0..200)
            .map(|_| chrono::Timelike::second(&s.sample(&mut rng)))
            .collect();
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1, 2]);
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
