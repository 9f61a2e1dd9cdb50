//! The seed's "Complex Mixes": one recipe over two source datasets (small local
//! stand-ins for KernelBench and KernelBook, written by the example), whose prompt picks
//! its wording with a Jinja-style `{% if %}` on a sampled column. The condition's column
//! and both branches' columns are checked at compile time like any reference; the
//! rendered prompts are exactly what Jinja renders (tested against `jinja2`).
//!
//! ```sh
//! cargo run -p examples-data --example complex_mix [-- OUTPUT_DIR]
//! ```

#[path = "../support/mod.rs"]
mod support;

use chatan::data::Table;
use chatan::data::polars::prelude::{Column, DataFrame};
use chatan::sample;

chatan::dataset! {
    /// A Triton-kernel prompt from either dataset, and its answer.
    #[derive(Debug, Clone)]
    pub struct Mixed {
        pub dataset_type: String = sample::choice(["kernelbench", "kernelbook"]),
        pub operation: String = sample::input(),
        pub original_code: String = sample::input(),
        pub prompt: String = gen("
        {%- if dataset_type == \"kernelbench\" -%}
        write a prompt asking for a Triton kernel for: {operation}
        {%- else -%}
        write a question asking for this code to be written as a Triton kernel: {original_code}
        {%- endif -%}
        "),
        pub response: String = gen("{prompt}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = support::output_dir("complex_mix")?;
    let (llm, _mock) = support::generator().await?;

    // Stand-ins for load_dataset("ScalingIntelligence/KernelBench") and
    // load_dataset("GPUMODE/KernelBook"), read back from parquet.
    let mut kernelbench = DataFrame::new_infer_height(vec![
        Column::new("id".into(), ["matmul", "softmax", "layernorm", "conv2d"]),
        Column::new("level".into(), [1i64, 1, 2, 2]),
    ])?;
    let mut kernelbook = DataFrame::new_infer_height(vec![Column::new(
        "python_code".into(),
        [
            "def add(a, b):\n    return a + b",
            "def relu(x):\n    return torch.clamp(x, min=0)",
        ],
    )])?;
    let bench_path = out.join("kernelbench.parquet");
    let book_path = out.join("kernelbook.parquet");
    chatan::data::write_frame(&mut kernelbench, &bench_path, chatan::data::Format::Parquet)?;
    chatan::data::write_frame(&mut kernelbook, &book_path, chatan::data::Format::Parquet)?;
    let kernelbench = Table::read_columns(&bench_path, &["id"])?;
    let kernelbook = Table::read_columns(&book_path, &["python_code"])?;

    let runner = Mixed::runner(&llm)
        .retry(support::patient())
        .seed(3)
        .sampler(|c| c.operation, sample::from_dataset(&kernelbench, "id"))
        .sampler(
            |c| c.original_code,
            sample::from_dataset(&kernelbook, "python_code"),
        );
    // Look at the first prompts before paying for any.
    print!("{}", runner.preview(2)?);
    let rows = runner.generate(1000).await?;
    let bench = rows
        .iter()
        .filter(|r| r.dataset_type == "kernelbench")
        .count();
    println!(
        "{} rows: {bench} from kernelbench, {} from kernelbook",
        rows.len(),
        rows.len() - bench
    );
    for row in rows.iter().take(2) {
        println!("[{}] {}", row.dataset_type, row.prompt);
    }
    assert!(bench > 0 && bench < rows.len(), "both branches ran");
    let path = out.join("triton_kernel_dataset.parquet");
    chatan::save(&rows, &path)?;
    println!("wrote {}", path.display());
    Ok(())
}
