//! The pace a governor learns from 429s: see [`Pace`].

use std::time::Duration;

use tokio::time::Instant;

/// The pace learned from 429s: whether they follow the run's rate, and if so, the rate
/// the endpoint lets through.
///
/// Outcomes are counted over periods, each counting only the requests sent at its pace:
/// at least 16 outcomes, and half a second while free (long enough to measure a rate
/// through the bursts of replies a run's start makes; at once when most are refused) or
/// a second while held (the window of the usual limiter, so that each change is seen to
/// act before the next; a held period ends after 2 s whatever it counted).
///
/// * A period whose share of 429s is over the noise (twice the share found not to follow
///   the rate, and at least 2%), with some requests let through, holds the endpoint to
///   90% of the rate they were let through at (a burst let through at once taken as a
///   window's worth); when most were refused, after a pause of one window, so that the
///   limiter's window empties of what was sent too fast and the next period measures the
///   limit itself. The burst's answers that come back after the verdict (a 429 comes
///   back at once, an answer after the model's latency, so most are still on their way
///   when refusals outnumber them) still count, until the next verdict: each raises the
///   hold to 90% of the whole burst taken as a window's worth.
/// * The next period tells whether that helped: if a share of at most half did not fall
///   by half, the 429s do not follow the rate (an endpoint that refuses one request in
///   ten whatever the pace): the hold is lifted and the share is the noise.
/// * Otherwise the hold stays: whenever 429s come back it goes to 90% of what got
///   through (again after a window's pause when most were refused); a clean period grows
///   it by 1%, or by a fifth while the limit is still unknown.
/// * 429s for every request, with nothing let through, hold nothing, and neither do
///   refusals at the slowest pace: no pace helps an endpoint that refuses everything,
///   and each request's retry policy decides how long to insist.
/// * A hold is lifted once the run sends at under half of it.
#[derive(Debug)]
pub(super) struct Pace {
    /// Requests a second the endpoint is held to.
    pub(super) rate: Option<f64>,
    /// The share of 429s when the hold began, until the next period has judged it.
    judging: Option<f64>,
    /// Whether the hold still grows fast (no 429 since it began).
    pub(super) growing: bool,
    /// The share of 429s that does not follow the rate.
    pub(super) noise: f64,
    started: Instant,
    answered: u32,
    refused: u32,
    /// When the period's first outcome came: its rates are measured from there, not
    /// from its start (a period that starts with the requests' latency would measure
    /// too slow a rate).
    first: Option<Instant>,
    /// The longest `Retry-After` of the period's 429s.
    retry_after: Duration,
    /// Bumped at every change of pace: a request is counted only in a period of the
    /// pace it was sent at (those in flight when the pace changed say nothing of it).
    pub(super) epoch: u64,
    /// A burst far over a limit, counted until the next verdict (see [`Pace`]).
    burst: Option<Burst>,
}

/// A run's burst far over a limit, whose answers still coming back raise the hold.
#[derive(Debug)]
struct Burst {
    /// The epoch its requests were sent in.
    epoch: u64,
    /// Its answers so far.
    answered: u32,
    /// The seconds it was sent over, at least a window.
    seconds: f64,
}

/// Outcomes a period needs before it is judged.
const PERIOD_OUTCOMES: u32 = 16;
/// How long a period lasts at least, while free and while held.
const FREE_PERIOD: Duration = Duration::from_millis(500);
pub(super) const HELD_PERIOD: Duration = Duration::from_secs(1);
/// The least share of 429s that is taken as a rate limit.
const MIN_SHARE: f64 = 0.02;
/// The slowest pace a hold sets: one request a second.
pub(super) const MIN_RATE: f64 = 1.0;
/// How far behind its pace an endpoint may fall and catch up at once.
pub(super) const PACE_SLACK: Duration = Duration::from_millis(20);

impl Pace {
    pub(super) fn new(now: Instant) -> Self {
        Pace {
            rate: None,
            judging: None,
            growing: true,
            noise: 0.0,
            started: now,
            answered: 0,
            refused: 0,
            first: None,
            retry_after: Duration::ZERO,
            epoch: 0,
            burst: None,
        }
    }

    /// Counts one outcome of a request sent in `epoch`: answered, or refused with a 429
    /// (and its `Retry-After`). At the end of a period, judges it: the pause it asks
    /// for, if any.
    pub(super) fn count(
        &mut self,
        now: Instant,
        epoch: u64,
        refused: Option<Option<Duration>>,
    ) -> Option<Duration> {
        if epoch != self.epoch {
            if let Some(burst) = &mut self.burst
                && burst.epoch == epoch
                && refused.is_none()
                && let Some(rate) = &mut self.rate
            {
                // A late answer of the burst: the limiter let it through with the rest.
                burst.answered += 1;
                *rate = rate.max(0.9 * f64::from(burst.answered) / burst.seconds);
            }
            return None;
        }
        self.first.get_or_insert(now);
        match refused {
            Some(wait) => {
                self.refused += 1;
                self.retry_after = self.retry_after.max(wait.unwrap_or_default());
            }
            None => self.answered += 1,
        }
        let elapsed = now.saturating_duration_since(self.started);
        let least = if self.rate.is_some() {
            HELD_PERIOD
        } else {
            FREE_PERIOD
        };
        let outcomes = self.answered + self.refused;
        // A free endpoint that refuses most requests is judged at once (a limiter far
        // exceeded: the held period after measures its limit); a held one that answers
        // slowly, every 2 s whatever it counted.
        let storm = self.rate.is_none() && self.refused > self.answered.max(1);
        let due = (outcomes >= PERIOD_OUTCOMES && (elapsed >= least || storm))
            || (self.rate.is_some() && outcomes > 0 && elapsed >= 2 * HELD_PERIOD);
        if !due {
            return None;
        }
        let share = f64::from(self.refused) / f64::from(outcomes);
        // Over the span of the outcomes (the first counted only as its start).
        let first = self.first.take().unwrap_or(self.started);
        let span = now.saturating_duration_since(first).as_secs_f64();
        let (counted, seconds) = if outcomes > 1 && span >= 0.01 {
            (f64::from(outcomes - 1), span)
        } else {
            (f64::from(outcomes), elapsed.as_secs_f64().max(1e-3))
        };
        let sent_rate = counted / seconds;
        let answered_rate = sent_rate * (1.0 - share);
        // What got through, spread over at least one window of the usual limiter: a
        // burst it let through at once says no more than that of its rate.
        let window = seconds.max(HELD_PERIOD.as_secs_f64());
        let windowed = f64::from(self.answered) / window;
        let retry_after = self.retry_after;
        let answered = self.answered;
        (self.started, self.answered, self.refused) = (now, 0, 0);
        self.retry_after = Duration::ZERO;
        let threshold = (2.0 * self.noise).max(MIN_SHARE);
        let was = self.rate;
        self.burst = None;
        let pause = self.judge(
            share,
            sent_rate,
            answered_rate,
            windowed,
            retry_after,
            threshold,
        );
        if self.rate != was {
            if was.is_none() && share > 0.5 {
                self.burst = Some(Burst {
                    epoch: self.epoch,
                    answered,
                    seconds: window,
                });
            }
            self.epoch += 1;
        }
        if let Some(pause) = pause {
            // The next period starts when the endpoint goes again.
            self.started = now + pause;
        }
        pause
    }

    /// The verdict on a period (see [`Pace`]): the pause it asks for, if any.
    fn judge(
        &mut self,
        share: f64,
        sent_rate: f64,
        answered_rate: f64,
        windowed: f64,
        retry_after: Duration,
        threshold: f64,
    ) -> Option<Duration> {
        // Far over a limit that let some through, the limiter's window is full of what
        // was sent: a pause of one window empties it, so the next period measures the
        // limit itself (a `Retry-After` says how long better, when there is one).
        let drain = |share: f64| {
            let window = if share > 0.5 && answered_rate > 0.0 {
                HELD_PERIOD
            } else {
                Duration::ZERO
            };
            Some(retry_after.max(window))
        };
        let Some(rate) = self.rate else {
            // Held only if some got through: 429s for every request (an endpoint that
            // refuses everything, or a window used up before the run began) say nothing
            // of a pace; each request waits as it is told, and its retry policy decides
            // how long to insist.
            if share > threshold && answered_rate > 0.0 {
                // Far over a limit, what got through was a burst: taken as a window's
                // worth, and grown from fast while the next periods find the limit.
                let estimate = if share > 0.5 { windowed } else { answered_rate };
                self.rate = Some((0.9 * estimate).max(MIN_RATE));
                self.judging = Some(share);
                self.growing = share > 0.5 || estimate < 2.0 * MIN_RATE;
                return drain(share);
            }
            self.noise = 0.9 * self.noise + 0.1 * share;
            return None;
        };
        let judging = self.judging.take();
        let release = |pace: &mut Pace, noise: f64| {
            pace.rate = None;
            pace.noise = noise;
        };
        if share >= 0.9 && rate <= 2.0 * MIN_RATE {
            // Refused at the slowest pace as at any: not a rate to keep to. Each request's
            // retry policy decides how long to insist.
            release(self, share);
        } else if let Some(before) = judging
            && share <= 0.5
            && share >= 0.5 * before
        {
            // Sending slower did not make the few 429s rarer: they are not a rate limit.
            release(self, share);
        } else if share > threshold {
            // A tenth below what got through, which over a whole period of a full
            // window is the limit; grown fast from there only if nothing got through.
            self.rate = Some((0.9 * rate.min(answered_rate)).max(MIN_RATE));
            self.growing = answered_rate < 2.0 * MIN_RATE;
            return drain(share).filter(|wait| *wait > Duration::ZERO);
        } else if sent_rate < 0.5 * rate {
            // The hold no longer binds: the run sends slower by itself.
            self.rate = None;
        } else {
            self.rate = Some(rate * if self.growing { 1.2 } else { 1.01 });
        }
        None
    }
}
