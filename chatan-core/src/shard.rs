//! Shards: one run cut into parts by row ranges (see [`Shard`]).

use crate::error::Error;
use crate::rowset::RowSet;

/// Shards: one run cut into parts by row ranges, each made by its own process, on the
/// batch schedulers people already run. Row `i`'s samples depend only on the seed and
/// `i`, so the parts are independent and together are the run.
///
/// Which part a process makes comes from [`Shard::new`], or from the scheduler's own
/// environment ([`Shard::from_env`]):
///
/// | scheduler | index | count |
/// |---|---|---|
/// | any (generic) | `CHATAN_SHARD_INDEX` | `CHATAN_SHARD_COUNT` |
/// | Kubernetes Indexed Job | `JOB_COMPLETION_INDEX` | `CHATAN_SHARD_COUNT` (the job's `completions`; Kubernetes does not tell the pod) |
/// | Slurm job array | `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP` | `SLURM_ARRAY_TASK_COUNT` |
///
/// The generic pair serves anything else: Ray tasks, GitHub Actions matrices, GNU
/// parallel (`CHATAN_SHARD_INDEX={%}`).
///
/// ```
/// use chatan::Shard;
/// use chatan::runner::RowSet;
///
/// let shard = Shard::new(1, 4).unwrap();
/// // Rows 0..10 in four parts: 0..2, 2..5, 5..7, 7..10.
/// let part = shard.part_of(RowSet::first(10));
/// assert_eq!(part.iter().collect::<Vec<_>>(), [2, 3, 4]);
/// assert_eq!(shard.file_stem("train"), "train-00001-of-00004");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The whole run, as one part.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Part `index` of `count`; an error unless `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, Error> {
        if index >= count {
            return Err(Error::Shard(format!(
                "shard index {index} is not below the shard count {count}"
            )));
        }
        Ok(Shard { index, count })
    }

    /// This process's part, from the scheduler's environment (see [`Shard`]); `None`
    /// when no scheduler's variables are set. A variable
    /// that is set but not a number, or an index out of range, is an error naming it.
    pub fn from_env() -> Result<Option<Shard>, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Shard::from_env) over any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, Error> {
        let number =
            |name: &str| -> Result<Option<usize>, Error> {
                match var(name) {
                    None => Ok(None),
                    Some(text) => text.trim().parse().map(Some).map_err(|_| {
                        Error::Shard(format!("{name}={text:?} is not a whole number"))
                    }),
                }
            };
        let count = || {
            number("CHATAN_SHARD_COUNT")?.ok_or_else(|| {
                Error::Shard(
                    "CHATAN_SHARD_COUNT is not set: set it to the number of shards (for a \
                     Kubernetes Indexed Job, its `completions`)"
                        .into(),
                )
            })
        };
        if let Some(index) = number("CHATAN_SHARD_INDEX")? {
            return Shard::new(index, count()?).map(Some);
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            return Shard::new(index, count()?).map(Some);
        }
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let tasks = number("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                Error::Shard("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into())
            })?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            if id < min || (id - min) % step != 0 {
                return Err(Error::Shard(format!(
                    "SLURM_ARRAY_TASK_ID {id} is not in the array {min}..(step {step})"
                )));
            }
            return Shard::new((id - min) / step, tasks).map(Some);
        }
        Ok(None)
    }

    /// The part's index, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many parts the run has.
    pub fn count(&self) -> usize {
        self.count
    }

    /// This part of `rows`: the `index`-th of `count` nearly equal slices of its range
    /// (rows skipped by the set stay skipped).
    pub fn part_of(&self, rows: RowSet) -> RowSet {
        rows.part(self.index, self.count)
    }

    /// The Hugging Face name of this part of split `split`: `train-00003-of-00008`.
    pub fn file_stem(&self, split: &str) -> String {
        format!("{split}-{:05}-of-{:05}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "shard {} of {}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn parts_cover_the_rows_once() {
        for count in 1..9 {
            let mut seen = Vec::new();
            for index in 0..count {
                let part = Shard::new(index, count)
                    .unwrap()
                    .part_of(RowSet::range(3..40).skip([5, 17]));
                seen.extend(part.iter());
            }
            let all: Vec<usize> = RowSet::range(3..40).skip([5, 17]).iter().collect();
            assert_eq!(seen, all, "{count} parts");
        }
        assert!(Shard::new(3, 3).is_err());
    }

    #[test]
    fn schedulers_are_read_from_their_variables() {
        let shard = |pairs: &[(&str, &str)]| Shard::from_vars(vars(pairs));
        assert_eq!(shard(&[]).unwrap(), None);
        assert_eq!(
            shard(&[("CHATAN_SHARD_INDEX", "2"), ("CHATAN_SHARD_COUNT", "5")]).unwrap(),
            Some(Shard { index: 2, count: 5 })
        );
        assert_eq!(
            shard(&[("JOB_COMPLETION_INDEX", "0"), ("CHATAN_SHARD_COUNT", "3")]).unwrap(),
            Some(Shard { index: 0, count: 3 })
        );
        let k8s = shard(&[("JOB_COMPLETION_INDEX", "0")])
            .unwrap_err()
            .to_string();
        assert!(k8s.contains("CHATAN_SHARD_COUNT is not set"), "{k8s}");
        // `sbatch --array=1-7:2`: tasks 1, 3, 5, 7.
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(shard(&slurm).unwrap(), Some(Shard { index: 2, count: 4 }));
        let bad = shard(&[("CHATAN_SHARD_INDEX", "two"), ("CHATAN_SHARD_COUNT", "5")])
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("CHATAN_SHARD_INDEX=\"two\" is not a whole number"),
            "{bad}"
        );
        let out = shard(&[("CHATAN_SHARD_INDEX", "5"), ("CHATAN_SHARD_COUNT", "5")])
            .unwrap_err()
            .to_string();
        assert!(out.contains("not below the shard count 5"), "{out}");
    }
}
