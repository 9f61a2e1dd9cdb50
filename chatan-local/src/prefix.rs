//! The keys and values of prompt prefixes that rows share (a system prompt, a template's
//! fixed text), computed once and reused.
//!
//! A prompt is read in blocks of [`BLOCK`] tokens starting at multiples of it, each block
//! in a forward pass of its own. A whole block's keys and values then depend only on the
//! tokens up to its end, so they are kept here under those tokens, and a later prompt
//! that begins with the same tokens copies them instead of computing them. Every prompt
//! is read block by block whether or not it finds its blocks here, so the numbers are
//! the same either way: a row's text does not depend on which rows came before it.
//!
//! Blocks are kept within a memory budget; past it, those used least recently go.

use std::collections::HashMap;

use candle_core::Tensor;

/// Tokens per block. Shorter blocks share more (a prefix is reused up to its last whole
/// block) but read a prompt in more passes.
pub(crate) const BLOCK: usize = 32;

/// The memory the kept blocks may take, by default: 256 MiB, about 5 500 tokens of
/// SmolLM2-135M (46 KiB each).
pub(crate) const DEFAULT_BUDGET: usize = 256 << 20;

/// One layer's keys and values over a block: `[kv_heads, BLOCK, head_dim]` each.
pub(crate) type LayerBlock = (Tensor, Tensor);

/// The kept blocks, by the tokens up to their end.
pub(crate) struct Prefixes {
    blocks: HashMap<Vec<u32>, Kept>,
    bytes: usize,
    budget: usize,
    /// Counts uses, to find the least recently used.
    clock: u64,
    /// Prompt tokens whose keys and values were copied from here, and those computed.
    pub(crate) reused: u64,
    pub(crate) computed: u64,
}

struct Kept {
    layers: Vec<LayerBlock>,
    bytes: usize,
    used: u64,
}

impl Prefixes {
    pub(crate) fn new(budget: usize) -> Self {
        Prefixes {
            blocks: HashMap::new(),
            bytes: 0,
            budget,
            clock: 0,
            reused: 0,
            computed: 0,
        }
    }

    /// The block that ends `prefix` (whose length is a multiple of [`BLOCK`]), if kept.
    pub(crate) fn get(&mut self, prefix: &[u32]) -> Option<&[LayerBlock]> {
        self.clock += 1;
        let kept = self.blocks.get_mut(prefix)?;
        kept.used = self.clock;
        Some(&kept.layers)
    }

    /// Keeps the block that ends `prefix`, making room by dropping the least recently
    /// used blocks; a block larger than the whole budget is not kept.
    pub(crate) fn keep(&mut self, prefix: &[u32], layers: Vec<LayerBlock>) {
        let bytes: usize = layers
            .iter()
            .map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes())
            .sum();
        if bytes > self.budget || self.blocks.contains_key(prefix) {
            return;
        }
        while self.bytes + bytes > self.budget {
            let oldest = self
                .blocks
                .iter()
                // Of blocks used at the same time, the longer prefix goes first: it is of
                // no use without the shorter ones.
                .min_by_key(|(tokens, kept)| (kept.used, std::cmp::Reverse(tokens.len())))
                .map(|(tokens, _)| tokens.clone())
                .expect("blocks take the bytes counted");
            let gone = self.blocks.remove(&oldest).expect("just found");
            self.bytes -= gone.bytes;
        }
        self.clock += 1;
        self.bytes += bytes;
        self.blocks.insert(
            prefix.to_vec(),
            Kept {
                layers,
                bytes,
                used: self.clock,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn block(layers: usize) -> Vec<LayerBlock> {
        let t = || Tensor::zeros((2, BLOCK, 4), DType::F32, &Device::Cpu).unwrap();
        (0..layers).map(|_| (t(), t())).collect()
    }

    /// Bytes of a block of `block(1)`.
    const ONE: usize = 2 * 2 * BLOCK * 4 * 4;

    #[test]
    fn blocks_are_found_by_their_whole_prefix() {
        let mut p = Prefixes::new(10 * ONE);
        let a: Vec<u32> = (0..BLOCK as u32).collect();
        p.keep(&a, block(1));
        assert!(p.get(&a).is_some());
        let mut other = a.clone();
        other[0] = 99;
        assert!(p.get(&other).is_none());
    }

    #[test]
    fn the_least_recently_used_blocks_go_first_when_the_budget_is_spent() {
        let mut p = Prefixes::new(2 * ONE);
        let prefix = |n: u32| vec![n; BLOCK];
        p.keep(&prefix(1), block(1));
        p.keep(&prefix(2), block(1));
        assert!(p.get(&prefix(1)).is_some());
        p.keep(&prefix(3), block(1));
        assert!(p.get(&prefix(2)).is_none(), "the least recently used went");
        assert!(p.get(&prefix(1)).is_some());
        assert!(p.get(&prefix(3)).is_some());
        assert_eq!(p.bytes, 2 * ONE);
        // Larger than the whole budget: not kept, nothing dropped.
        p.keep(&prefix(4), block(3));
        assert!(p.get(&prefix(4)).is_none());
        assert!(p.get(&prefix(1)).is_some());
    }
}
