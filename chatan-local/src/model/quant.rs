//! Products of quantized matrices with the rows of a step, on x86 CPUs with AVX2 and
//! FMA: 8-bit (Q8_0: blocks of 32 signed bytes sharing one scale) and 4-bit (Q4_1, as
//! GGUF files hold it: blocks of 32 values in 0..16 sharing a scale and a minimum). The
//! rows are quantized to 8 bits by blocks; products of bytes are exact integers, so only
//! the scales' arithmetic is floating point.
//!
//! candle multiplies a Q8_0 matrix by several rows one row at a time (except with
//! AVX-512 VNNI, see `weights.rs`), reading the whole matrix from memory for each row,
//! and has no SIMD kernel for Q4_1 at all (it was re-quantized to Q8_0, 1.7 times the
//! bytes to read per token). Here each block of a weight row is loaded once per step and
//! multiplied by the same block of every row, so the matrix streams from memory once,
//! whatever the number of rows; several matrices that take one input (a layer's query,
//! key and value) are multiplied in one pass.
//!
//! Every row's dot products are computed by the same instructions in the same order
//! (block by block, two accumulators per row, summed the same way at the end), however
//! many rows share the step and wherever the row sits among them: a row's numbers, and
//! so its text, do not depend on its batch-mates. The unit tests hold both properties.
//!
//! No crate of the field fits: candle's own kernels are the ones above, and gemm has no
//! quantized products. The SIMD is written on `pulp` (already built for gemm), whose
//! intrinsics are safe to call once it has checked the CPU's features; the threads are
//! candle's own pool.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Result, Tensor};
use pulp::bytemuck;
use pulp::x86::V3;
use std::arch::x86_64::{__m256, __m256i};
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

/// The values one scale covers.
const BLOCK: usize = 32;
/// The rows whose accumulators stay in registers together.
const GROUP: usize = 4;

/// Values quantized by blocks: `scale * quant` approximates each value.
struct Blocks {
    quants: Vec<[i8; BLOCK]>,
    scales: Vec<f32>,
    /// Each block's `scale * Σ quant`, for 4-bit weights' minimums.
    sums: Vec<f32>,
}

impl Blocks {
    /// `values` by blocks of [`BLOCK`] (its length is a multiple of it): each block's
    /// scale maps its largest magnitude to 127.
    fn quantize(values: &[f32]) -> Self {
        let n = values.len() / BLOCK;
        let mut blocks = Blocks {
            quants: Vec::with_capacity(n),
            scales: Vec::with_capacity(n),
            sums: Vec::with_capacity(n),
        };
        for chunk in values.chunks_exact(BLOCK) {
            let largest = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = largest / 127.0;
            let inverse = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            let mut quants = [0i8; BLOCK];
            for (q, v) in quants.iter_mut().zip(chunk) {
                *q = (v * inverse).round() as i8;
            }
            let sum: i32 = quants.iter().map(|&q| i32::from(q)).sum();
            blocks.quants.push(quants);
            blocks.scales.push(scale);
            blocks.sums.push(scale * sum as f32);
        }
        blocks
    }
}

/// 4-bit weights by blocks (the Q4_1 format): `scale * quant + min`, `quant` in 0..16.
struct Nibbles {
    /// A block's 32 quants, two to a byte: the low halves are its first 16.
    quants: Vec<[u8; BLOCK / 2]>,
    scales: Vec<f32>,
    /// Each row's minimums, by eights (zeros after the last block).
    mins: Vec<[f32; 8]>,
}

/// How a matrix's blocks are stored.
enum Format {
    Q8(Blocks),
    Q4(Nibbles),
}

/// An `[outputs, inputs]` matrix in 8 or 4 bits, for [`QuantMatrix::forward`].
pub(crate) struct QuantMatrix {
    outputs: usize,
    /// Blocks per row of the matrix (and of an input row).
    blocks: usize,
    weights: Format,
    simd: V3,
}

impl QuantMatrix {
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
        Ok(Some(QuantMatrix {
            outputs,
            blocks: inputs / BLOCK,
            weights: Format::Q8(Blocks::quantize(&values)),
            simd,
        }))
    }

    /// A Q4_1 matrix as it is, or `None` where the kernel does not run.
    pub(crate) fn q4_1(q: &QTensor) -> Result<Option<Self>> {
        let Some(simd) = V3::try_new() else {
            return Ok(None);
        };
        if q.dtype() != GgmlDType::Q4_1 {
            return Ok(None);
        }
        let (outputs, inputs) = q.shape().dims2()?;
        // A Q4_1 block: the scale and the minimum (f16), then 16 bytes of quants.
        const SIZE: usize = 4 + BLOCK / 2;
        let data = q.data()?;
        let n = data.len() / SIZE;
        let mut nibbles = Nibbles {
            quants: Vec::with_capacity(n),
            scales: Vec::with_capacity(n),
            mins: Vec::with_capacity(n / 8 + outputs),
        };
        let blocks = inputs / BLOCK;
        for row in data.chunks_exact(SIZE * blocks) {
            let mut mins = Vec::with_capacity(blocks);
            for block in row.chunks_exact(SIZE) {
                let half =
                    |at: usize| half::f16::from_le_bytes([block[at], block[at + 1]]).to_f32();
                nibbles.scales.push(half(0));
                mins.push(half(2));
                nibbles
                    .quants
                    .push(block[4..].try_into().expect("16 bytes"));
            }
            nibbles.mins.extend(eights(&mins));
        }
        Ok(Some(QuantMatrix {
            outputs,
            blocks: inputs / BLOCK,
            weights: Format::Q4(nibbles),
            simd,
        }))
    }

    /// `x` (`[rows, inputs]`, `f32`) times the matrix's transpose: `[rows, outputs]`.
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(Self::forward_all(&[self], x)?.remove(0))
    }

    /// `x` times each of `matrices` (which take inputs of one width), in one pass: the
    /// input is quantized once and the threads meet once, instead of once per matrix (a
    /// layer's query, key and value projections; its gate and up projections).
    pub(crate) fn forward_all(matrices: &[&Self], x: &Tensor) -> Result<Vec<Tensor>> {
        let (rows, _) = x.dims2()?;
        let values = x.flatten_all()?.to_vec1::<f32>()?;
        Self::product(matrices, &values, rows)
            .into_iter()
            .zip(matrices)
            .map(|(y, m)| Tensor::from_vec(y, (rows, m.outputs), &Device::Cpu))
            .collect()
    }

    /// The products on plain values: `x` is `rows` rows of `blocks * BLOCK`; each result
    /// is row-major `[rows, outputs]`.
    fn product(matrices: &[&Self], x: &[f32], rows: usize) -> Vec<Vec<f32>> {
        let input = Blocks::quantize(x);
        let blocks = matrices[0].blocks;
        assert!(
            matrices.iter().all(|m| m.blocks == blocks),
            "one input width"
        );
        // Each thread writes the columns it takes; relaxed atomic stores are plain
        // stores on x86, and keep the crate free of `unsafe`.
        let ys: Vec<Vec<AtomicU32>> = matrices
            .iter()
            .map(|m| (0..rows * m.outputs).map(|_| AtomicU32::new(0)).collect())
            .collect();
        // 4-bit weights' minimums need each input block's sum, by eights per row.
        let x_sums: Vec<[f32; 8]> = if matrices.iter().any(|m| matches!(m.weights, Format::Q4(_))) {
            input.sums.chunks(blocks).flat_map(eights).collect()
        } else {
            Vec::new()
        };
        // Column `c` of all the matrices' columns, one after another: (matrix, column).
        let locate = |mut c: usize| {
            let mut m = 0;
            while c >= matrices[m].outputs {
                c -= matrices[m].outputs;
                m += 1;
            }
            (m, c)
        };
        let columns: usize = matrices.iter().map(|m| m.outputs).sum();
        // candle's own pool, whose threads run its other products: a second pool of as
        // many threads made each call wake sleeping workers (a third of a step's time).
        candle_core::utils::barrier_pool().execute_chunked(columns, |range| {
            let simd = matrices[0].simd;
            simd.vectorize(|| {
                for c in range {
                    let (m, c) = locate(c);
                    let (matrix, y) = (matrices[m], &ys[m]);
                    let at = c * blocks;
                    let put = |row: usize, dot: f32| {
                        y[row * matrix.outputs + c].store(dot.to_bits(), Relaxed);
                    };
                    match &matrix.weights {
                        Format::Q8(w) => {
                            let row = Q8Row {
                                simd,
                                quants: &w.quants[at..][..blocks],
                                scales: &w.scales[at..][..blocks],
                                input: &input,
                            };
                            dots(&row, rows, put);
                        }
                        Format::Q4(w) => {
                            let eights = blocks.div_ceil(8);
                            let row = Q4Row {
                                simd,
                                quants: &w.quants[at..][..blocks],
                                scales: &w.scales[at..][..blocks],
                                mins: &w.mins[c * eights..][..eights],
                                input: &input,
                                x_sums: &x_sums,
                            };
                            dots(&row, rows, put);
                        }
                    }
                }
            });
        });
        ys.into_iter()
            .map(|y| {
                y.into_iter()
                    .map(|dot| f32::from_bits(dot.into_inner()))
                    .collect()
            })
            .collect()
    }
}

/// One weight row against the input rows.
trait WeightRow {
    /// The SIMD the kernel runs on.
    fn simd(&self) -> V3;

    /// The row's blocks.
    fn blocks(&self) -> usize;

    /// Adds block `b`'s products with input rows `first..first + G` to `sums`, one
    /// accumulator per row.
    fn add_block<const G: usize>(&self, b: usize, first: usize, sums: &mut [__m256; G]);

    /// Adds what is owed beyond the blocks' products (none by default).
    #[inline(always)]
    fn finish<const G: usize>(&self, _first: usize, sums: [__m256; G]) -> [__m256; G] {
        sums
    }

    /// Its dot products with input rows `first..first + G`: even and odd blocks go to
    /// separate accumulators, so that consecutive blocks do not wait on each other's
    /// sums; then the two, then the lanes, are added in a fixed order.
    #[inline(always)]
    fn group<const G: usize>(&self, first: usize) -> [f32; G] {
        let simd = self.simd();
        let blocks = self.blocks();
        let mut even = [simd.avx._mm256_setzero_ps(); G];
        let mut odd = even;
        let mut b = 0;
        while b + 2 <= blocks {
            self.add_block(b, first, &mut even);
            self.add_block(b + 1, first, &mut odd);
            b += 2;
        }
        if b < blocks {
            self.add_block(b, first, &mut even);
        }
        let sums = std::array::from_fn(|g| simd.avx._mm256_add_ps(even[g], odd[g]));
        self.finish(first, sums).map(|sum| {
            let lanes: [f32; 8] = bytemuck::cast::<__m256, _>(sum);
            lanes.iter().sum()
        })
    }
}

/// The dot product of one weight row with every input row, each handed to `put(row,
/// dot)`. Rows go in groups of [`GROUP`], then one by one; either way a row's sum is
/// built by the same steps.
#[inline(always)]
fn dots(weights: &impl WeightRow, rows: usize, mut put: impl FnMut(usize, f32)) {
    let mut row = 0;
    while row + GROUP <= rows {
        for (g, dot) in weights.group::<GROUP>(row).into_iter().enumerate() {
            put(row + g, dot);
        }
        row += GROUP;
    }
    while row < rows {
        put(row, weights.group::<1>(row)[0]);
        row += 1;
    }
}

/// `x * scale + sum` for the eight 32-bit sums `quads`.
#[inline(always)]
fn scaled(simd: V3, quads: __m256i, scale: f32, sum: __m256) -> __m256 {
    let scale = simd.avx._mm256_set1_ps(scale);
    simd.fma
        ._mm256_fmadd_ps(simd.avx._mm256_cvtepi32_ps(quads), scale, sum)
}

/// A row of a Q8_0 matrix.
struct Q8Row<'a> {
    simd: V3,
    quants: &'a [[i8; BLOCK]],
    scales: &'a [f32],
    input: &'a Blocks,
}

impl WeightRow for Q8Row<'_> {
    fn simd(&self) -> V3 {
        self.simd
    }

    fn blocks(&self) -> usize {
        self.quants.len()
    }

    #[inline(always)]
    fn add_block<const G: usize>(&self, b: usize, first: usize, sums: &mut [__m256; G]) {
        let Q8Row { simd, input, .. } = *self;
        let blocks = self.quants.len();
        let ones = simd.avx._mm256_set1_epi16(1);
        let w: __m256i = bytemuck::cast(self.quants[b]);
        // maddubs multiplies unsigned by signed bytes: |w| times x with w's sign.
        let magnitude = simd.avx2._mm256_sign_epi8(w, w);
        for (g, sum) in sums.iter_mut().enumerate() {
            let at = (first + g) * blocks + b;
            let x: __m256i = bytemuck::cast(input.quants[at]);
            let signed = simd.avx2._mm256_sign_epi8(x, w);
            // Pairs of products fit 16 bits (2 * 127 * 127), their sums by fours 32.
            let pairs = simd.avx2._mm256_maddubs_epi16(magnitude, signed);
            let quads = simd.avx2._mm256_madd_epi16(pairs, ones);
            *sum = scaled(simd, quads, self.scales[b] * input.scales[at], *sum);
        }
    }
}

/// A row of a Q4_1 matrix.
struct Q4Row<'a> {
    simd: V3,
    quants: &'a [[u8; BLOCK / 2]],
    scales: &'a [f32],
    mins: &'a [[f32; 8]],
    input: &'a Blocks,
    /// Each input row's block sums (`scale * Σ quant`), by eights.
    x_sums: &'a [[f32; 8]],
}

impl WeightRow for Q4Row<'_> {
    fn simd(&self) -> V3 {
        self.simd
    }

    fn blocks(&self) -> usize {
        self.quants.len()
    }

    #[inline(always)]
    fn add_block<const G: usize>(&self, b: usize, first: usize, sums: &mut [__m256; G]) {
        let Q4Row { simd, input, .. } = *self;
        let blocks = self.quants.len();
        let ones = simd.avx._mm256_set1_epi16(1);
        let low_half = simd.avx._mm256_set1_epi8(0x0F);
        let packed: std::arch::x86_64::__m128i = bytemuck::cast(self.quants[b]);
        // The 32 quants in order (low halves first), as unsigned bytes, which maddubs
        // takes as they are.
        let both = simd
            .avx
            ._mm256_set_m128i(simd.sse2._mm_srli_epi16::<4>(packed), packed);
        let w = simd.avx2._mm256_and_si256(both, low_half);
        for (g, sum) in sums.iter_mut().enumerate() {
            let at = (first + g) * blocks + b;
            let x: __m256i = bytemuck::cast(input.quants[at]);
            // Pairs of products fit 16 bits (2 * 15 * 127), their sums by fours 32.
            let pairs = simd.avx2._mm256_maddubs_epi16(w, x);
            let quads = simd.avx2._mm256_madd_epi16(pairs, ones);
            *sum = scaled(simd, quads, self.scales[b] * input.scales[at], *sum);
        }
    }

    /// The minimums' part, `Σ min * scale_x * Σ quant_x` over the blocks, eight blocks
    /// at a time.
    #[inline(always)]
    fn finish<const G: usize>(&self, first: usize, sums: [__m256; G]) -> [__m256; G] {
        let simd = self.simd;
        let eights = self.mins.len();
        let mut g = 0;
        sums.map(|mut sum| {
            let x_sums = &self.x_sums[(first + g) * eights..][..eights];
            for (&m, &x) in self.mins.iter().zip(x_sums) {
                sum = simd
                    .fma
                    ._mm256_fmadd_ps(bytemuck::cast(m), bytemuck::cast(x), sum);
            }
            g += 1;
            sum
        })
    }
}

/// `values` by eights, zeros after the last.
fn eights(values: &[f32]) -> impl Iterator<Item = [f32; 8]> + '_ {
    values.chunks(8).map(|chunk| {
        let mut lanes = [0f32; 8];
        lanes[..chunk.len()].copy_from_slice(chunk);
        lanes
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
    fn matrix(outputs: usize, inputs: usize) -> QuantMatrix {
        let dense =
            Tensor::from_vec(values(outputs * inputs, 1), (outputs, inputs), &Device::Cpu).unwrap();
        QuantMatrix::new(&dense)
            .unwrap()
            .expect("a CPU with AVX2 and FMA")
    }

    /// `m` times 5 rows is the dense product with `w` (its values) within `tolerance`.
    fn assert_near_dense(m: &QuantMatrix, w: &[f32], tolerance: f32, seed: u64) {
        let (outputs, inputs) = (m.outputs, m.blocks * BLOCK);
        let x = values(5 * inputs, seed);
        let y = QuantMatrix::product(&[m], &x, 5).remove(0);
        for r in 0..5 {
            for o in 0..outputs {
                let exact: f32 = (0..inputs)
                    .map(|i| x[r * inputs + i] * w[o * inputs + i])
                    .sum();
                let got = y[r * outputs + o];
                assert!(
                    (got - exact).abs() < tolerance,
                    "row {r} output {o}: {got} vs {exact}"
                );
            }
        }
    }

    /// Each of 9 rows' results is bit for bit the same alone as among them (in a group
    /// of four, or in the remainder).
    fn assert_batch_invariant(m: &QuantMatrix, seed: u64) -> Vec<f32> {
        let (outputs, inputs) = (m.outputs, m.blocks * BLOCK);
        let batch = values(9 * inputs, seed);
        let together = QuantMatrix::product(&[m], &batch, 9).remove(0);
        for r in 0..9 {
            let alone =
                QuantMatrix::product(&[m], &batch[r * inputs..(r + 1) * inputs], 1).remove(0);
            assert_eq!(alone, together[r * outputs..(r + 1) * outputs], "row {r}");
        }
        batch
    }

    #[test]
    fn the_product_is_the_dense_product_within_8_bit_error() {
        assert_near_dense(&matrix(70, 96), &values(70 * 96, 1), 0.1, 2);
    }

    #[test]
    fn a_rows_result_does_not_depend_on_its_batch_mates() {
        let m = matrix(100, 64);
        let batch = assert_batch_invariant(&m, 3);
        // Another position among other rows.
        let together = QuantMatrix::product(&[&m], &batch, 9).remove(0);
        let mut shuffled = values(3 * 64, 4);
        shuffled.extend_from_slice(&batch[..64]);
        let y = QuantMatrix::product(&[&m], &shuffled, 4).remove(0);
        assert_eq!(y[3 * 100..], together[..100]);
    }

    /// A Q4_1 matrix as a GGUF would hold it, and its values.
    fn q4_matrix(outputs: usize, inputs: usize) -> (QuantMatrix, Vec<f32>) {
        let dense =
            Tensor::from_vec(values(outputs * inputs, 5), (outputs, inputs), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&dense, GgmlDType::Q4_1).unwrap();
        let exact = q.dequantize(&Device::Cpu).unwrap();
        let m = QuantMatrix::q4_1(&q)
            .unwrap()
            .expect("a CPU with AVX2 and FMA");
        (m, exact.flatten_all().unwrap().to_vec1().unwrap())
    }

    #[test]
    fn a_4_bit_product_is_the_dense_product_of_its_values_within_8_bit_error() {
        let (m, w) = q4_matrix(70, 96);
        assert_near_dense(&m, &w, 0.05, 6);
    }

    #[test]
    fn a_rows_4_bit_result_does_not_depend_on_its_batch_mates() {
        assert_batch_invariant(&q4_matrix(100, 64).0, 7);
    }

    #[test]
    fn matrices_multiplied_in_one_pass_give_what_each_gives_alone() {
        let (q4, _) = q4_matrix(40, 64);
        let q8 = matrix(24, 64);
        let (other, _) = q4_matrix(8, 64);
        let x = values(6 * 64, 8);
        let all = QuantMatrix::product(&[&q4, &q8, &other], &x, 6);
        assert_eq!(all[0], QuantMatrix::product(&[&q4], &x, 6)[0]);
        assert_eq!(all[1], QuantMatrix::product(&[&q8], &x, 6)[0]);
        assert_eq!(all[2], QuantMatrix::product(&[&other], &x, 6)[0]);
    }
}
