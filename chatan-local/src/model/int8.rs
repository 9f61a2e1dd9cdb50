//! Products of 8-bit matrices (the Q8_0 format: blocks of 32 signed bytes sharing one
//! scale) with the rows of a step, on x86 CPUs with AVX2 and FMA.
//!
//! candle multiplies a Q8_0 matrix by several rows one row at a time (except with
//! AVX-512 VNNI, see `weights.rs`), reading the whole matrix from memory for each row:
//! on other CPUs a step of 32 rows cost 32 steps of one, and batching bought nothing.
//! Here each block of a weight row is loaded once per step and multiplied by the same
//! block of every row, so the matrix streams from memory once, whatever the number of
//! rows.
//!
//! Every row's dot products are computed by the same instructions in the same order
//! (block by block, one accumulator per row, summed the same way at the end), however
//! many rows share the step and wherever the row sits among them: a row's numbers, and
//! so its text, do not depend on its batch-mates. The unit tests hold both properties.
//!
//! No crate of the field fits: candle's own kernel is the one-row-at-a-time loop above,
//! and gemm has no 8-bit products. The SIMD is written on `pulp` (already built for
//! gemm), whose intrinsics are safe to call once it has checked the CPU's features.

use candle_core::{Device, Result, Tensor};
use pulp::bytemuck;
use pulp::x86::V3;
use rayon::prelude::*;
use std::arch::x86_64::{__m256, __m256i};

/// The values one scale covers.
const BLOCK: usize = 32;
/// The rows whose accumulators stay in registers together.
const GROUP: usize = 4;
/// Output columns per parallel task.
const TASK: usize = 32;

/// Values quantized by blocks: `scale * quant` approximates each value.
struct Blocks {
    quants: Vec<[i8; BLOCK]>,
    scales: Vec<f32>,
}

impl Blocks {
    /// `values` by blocks of [`BLOCK`] (its length is a multiple of it): each block's
    /// scale maps its largest magnitude to 127.
    fn quantize(values: &[f32]) -> Self {
        let n = values.len() / BLOCK;
        let mut blocks = Blocks {
            quants: Vec::with_capacity(n),
            scales: Vec::with_capacity(n),
        };
        for chunk in values.chunks_exact(BLOCK) {
            let largest = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = largest / 127.0;
            let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut quants = [0i8; BLOCK];
            for (q, v) in quants.iter_mut().zip(chunk) {
                *q = (v * inverse).round() as i8;
            }
            blocks.quants.push(quants);
            blocks.scales.push(scale);
        }
        blocks
    }
}

/// An `[outputs, inputs]` matrix in 8 bits, for [`Int8Matrix::forward`].
pub(crate) struct Int8Matrix {
    outputs: usize,
    /// Blocks per row of the matrix (and of an input row).
    blocks: usize,
    weights: Blocks,
    simd: V3,
}

impl Int8Matrix {
    /// `dense` (`[outputs, inputs]`, `f32`) quantized, or `None` where the kernel does
    /// not run: a CPU without AVX2 and FMA, or rows not whole blocks.
    pub(crate) fn new(dense: &Tensor) -> Result<Option<Self>> {
        let Some(simd) = V3::try_new() else {
            return Ok(None);
        };
        let (outputs, inputs) = dense.dims2()?;
        if inputs % BLOCK != 0 {
            return Ok(None);
        }
        let values = dense.flatten_all()?.to_vec1::<f32>()?;
        Ok(Some(Int8Matrix {
            outputs,
            blocks: inputs / BLOCK,
            weights: Blocks::quantize(&values),
            simd,
        }))
    }

    /// `x` (`[rows, inputs]`, `f32`) times the matrix's transpose: `[rows, outputs]`.
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (rows, _) = x.dims2()?;
        let values = x.flatten_all()?.to_vec1::<f32>()?;
        Tensor::from_vec(
            self.product(&values, rows),
            (rows, self.outputs),
            &Device::Cpu,
        )
    }

    /// The product on plain values: `x` is `rows` rows of `blocks * BLOCK`; the result is
    /// row-major `[rows, outputs]`.
    fn product(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let input = Blocks::quantize(x);
        let blocks = self.blocks;
        // Each task computes TASK output columns for every row, `[rows, TASK]`.
        let parts: Vec<Vec<f32>> = (0..self.outputs.div_ceil(TASK))
            .into_par_iter()
            .map(|task| {
                let first = task * TASK;
                let columns = TASK.min(self.outputs - first);
                let mut part = vec![0f32; rows * columns];
                let simd = self.simd;
                simd.vectorize(|| {
                    for c in 0..columns {
                        let at = (first + c) * blocks;
                        let weights = (
                            &self.weights.quants[at..at + blocks],
                            &self.weights.scales[at..at + blocks],
                        );
                        dots(simd, weights, &input, rows, |row, dot| {
                            part[row * columns + c] = dot;
                        });
                    }
                });
                part
            })
            .collect();
        let mut y = vec![0f32; rows * self.outputs];
        for (task, part) in parts.iter().enumerate() {
            let first = task * TASK;
            let columns = part.len() / rows.max(1);
            for row in 0..rows {
                y[row * self.outputs + first..][..columns]
                    .copy_from_slice(&part[row * columns..][..columns]);
            }
        }
        y
    }
}

/// The dot product of one weight row with every input row, each handed to `put(row,
/// dot)`. Rows go in groups of [`GROUP`], then one by one; either way a row's sum is
/// built by the same steps.
#[inline(always)]
fn dots(
    simd: V3,
    weights: (&[[i8; BLOCK]], &[f32]),
    input: &Blocks,
    rows: usize,
    mut put: impl FnMut(usize, f32),
) {
    let mut row = 0;
    while row + GROUP <= rows {
        for (g, dot) in group::<GROUP>(simd, weights, input, row)
            .into_iter()
            .enumerate()
        {
            put(row + g, dot);
        }
        row += GROUP;
    }
    while row < rows {
        put(row, group::<1>(simd, weights, input, row)[0]);
        row += 1;
    }
}

/// The dot products of one weight row with input rows `first..first + G`.
#[inline(always)]
fn group<const G: usize>(
    simd: V3,
    (quants, scales): (&[[i8; BLOCK]], &[f32]),
    input: &Blocks,
    first: usize,
) -> [f32; G] {
    let blocks = quants.len();
    let ones = simd.avx._mm256_set1_epi16(1);
    let mut sums = [simd.avx._mm256_setzero_ps(); G];
    for (b, (&w, &w_scale)) in quants.iter().zip(scales).enumerate() {
        let w: __m256i = bytemuck::cast(w);
        // maddubs multiplies unsigned by signed bytes: |w| times x with w's sign.
        let magnitude = simd.avx2._mm256_sign_epi8(w, w);
        for (g, sum) in sums.iter_mut().enumerate() {
            let at = (first + g) * blocks + b;
            let x: __m256i = bytemuck::cast(input.quants[at]);
            let signed = simd.avx2._mm256_sign_epi8(x, w);
            // Pairs of products fit 16 bits (2 * 127 * 127), their sums by fours 32.
            let pairs = simd.avx2._mm256_maddubs_epi16(magnitude, signed);
            let quads = simd.avx2._mm256_madd_epi16(pairs, ones);
            let scale = simd.avx._mm256_set1_ps(w_scale * input.scales[at]);
            *sum = simd
                .fma
                ._mm256_fmadd_ps(simd.avx._mm256_cvtepi32_ps(quads), scale, *sum);
        }
    }
    sums.map(|sum| {
        let lanes: [f32; 8] = bytemuck::cast::<__m256, _>(sum);
        lanes.iter().sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random matrix of `n` values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// The kernel needs AVX2 and FMA, which every x86-64 CPU since 2013 (Haswell) has.
    fn matrix(outputs: usize, inputs: usize) -> Int8Matrix {
        let dense =
            Tensor::from_vec(values(outputs * inputs, 1), (outputs, inputs), &Device::Cpu).unwrap();
        Int8Matrix::new(&dense)
            .unwrap()
            .expect("a CPU with AVX2 and FMA")
    }

    #[test]
    fn the_product_is_the_dense_product_within_8_bit_error() {
        let m = matrix(70, 96);
        let x = values(5 * 96, 2);
        let w = values(70 * 96, 1);
        let y = m.product(&x, 5);
        for r in 0..5 {
            for o in 0..70 {
                let exact: f32 = (0..96).map(|i| x[r * 96 + i] * w[o * 96 + i]).sum();
                let got = y[r * 70 + o];
                assert!(
                    (got - exact).abs() < 0.1,
                    "row {r} output {o}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn a_rows_result_does_not_depend_on_its_batch_mates() {
        let m = matrix(100, 64);
        let batch = values(9 * 64, 3);
        let together = m.product(&batch, 9);
        for r in 0..9 {
            let alone = m.product(&batch[r * 64..(r + 1) * 64], 1);
            // Bit for bit: alone, in a group of four, or in the remainder.
            assert_eq!(alone, together[r * 100..(r + 1) * 100], "row {r}");
        }
        // Another position among other rows.
        let mut shuffled = values(3 * 64, 4);
        shuffled.extend_from_slice(&batch[..64]);
        let y = m.product(&shuffled, 4);
        assert_eq!(y[3 * 100..], together[..100]);
    }
}
