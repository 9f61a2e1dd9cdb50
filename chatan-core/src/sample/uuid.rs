//! `uuid`: random version-4 UUIDs.

use super::SampleContext;
use super::Sampler;

pub use ::uuid::Uuid;

/// A random (version 4) UUID. Drawn from the run's seeded generator, so a seeded run
/// gives the same ids again.
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
///
/// let id = sample::uuid().sample(&mut SampleContext::from_seed(1));
/// assert_eq!(id.get_version_num(), 4);
/// ```
pub fn uuid() -> UuidV4 {
    UuidV4
}

/// See [`uuid()`].
#[derive(Debug, Clone, Copy)]
pub struct UuidV4;

impl Sampler for UuidV4 {
    type Item = Uuid;
    fn sample(&self, cx: &mut SampleContext) -> Uuid {
        let mut bytes = [0u8; 16];
        cx.rng.fill_bytes(&mut bytes);
        ::uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}
