//! The seed's "Dataset Triton": two recipes over two source datasets (small local
//! stand-ins for KernelBench and KernelBook, written by the example), generated and
//! concatenated into one dataset whose columns are the union of both.
//!
//! ```sh
//! cargo run -p examples-data --example triton [-- OUTPUT_DIR]
//! ```

#[path = "../support/mod.rs"]
mod support;

use chatan::data::Table;
use chatan::data::polars::prelude::{Column, DataFrame};
use chatan::sample;

chatan::dataset! {
    /// A prompt asking for a Triton kernel for a KernelBench operation.
    #[derive(Debug, Clone)]
    pub struct FromBench {
        pub operation: String = sample::input(),
        pub prompt: String = gen("write a prompt asking for a Triton kernel for: {operation}"),
        pub response: String = gen("{prompt}"),
    }
}

chatan::dataset! {
    /// A question asking for KernelBook code as a Triton kernel.
    #[derive(Debug, Clone)]
    pub struct FromBook {
        pub original_prompt: String = sample::input(),
        pub prompt: String = gen("write a question asking for this code to be written as a Triton kernel: {original_prompt}"),
        pub response: String = gen("{prompt}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = support::output_dir("triton")?;
    let (llm, _mock) = support::generator().await?;

    // Stand-ins for load_dataset("ScalingIntelligence/KernelBench") and
    // load_dataset("GPUMODE/KernelBook").
    let mut kernelbench = DataFrame::new_infer_height(vec![
        Column::new(
            "id".into(),
            ["matmul", "softmax", "layernorm", "conv2d", "gelu"],
        ),
        Column::new("level".into(), [1i64, 1, 2, 2, 1]),
    ])?;
    let mut kernelbook = DataFrame::new_infer_height(vec![
        Column::new(
            "python_code".into(),
            [
                "def add(a, b):\n    return a + b",
                "def relu(x):\n    return torch.clamp(x, min=0)",
                "def scale(x, s):\n    return x * s",
            ],
        ),
        Column::new("repo".into(), ["examples", "examples", "examples"]),
    ])?;
    let bench_path = out.join("kernelbench.parquet");
    let book_path = out.join("kernelbook.parquet");
    chatan::data::write_frame(&mut kernelbench, &bench_path, chatan::data::Format::Parquet)?;
    chatan::data::write_frame(&mut kernelbook, &book_path, chatan::data::Format::Parquet)?;

    let bench = Table::read_columns(&bench_path, &["id"])?;
    let book = Table::read_columns(&book_path, &["python_code"])?;
    let df_1 = FromBench::runner(&llm)
        .retry(support::patient())
        .seed(1)
        .sampler(|c| c.operation, sample::from_dataset(&bench, "id"))
        .generate(500)
        .await?;
    let df_2 = FromBook::runner(&llm)
        .retry(support::patient())
        .seed(2)
        .sampler(
            |c| c.original_prompt,
            sample::from_dataset(&book, "python_code"),
        )
        .generate(500)
        .await?;

    // pd.concat([df_1, df_2], ignore_index=True): every column of both, nulls elsewhere.
    let mut combined = chatan::data::concat_diagonal(&[
        chatan::data::to_dataframe(&df_1)?,
        chatan::data::to_dataframe(&df_2)?,
    ])?;
    println!("{}", combined.head(Some(2)));
    let path = out.join("triton_kernel_dataset.parquet");
    chatan::data::write_frame(&mut combined, &path, chatan::data::Format::Parquet)?;
    println!(
        "{} rows, columns {:?}",
        combined.height(),
        combined.get_column_names()
    );
    println!("wrote {}", path.display());
    Ok(())
}
