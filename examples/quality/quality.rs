//! Rows worth keeping, on the seed's Triton story: a prompt column marked `distinct`
//! (a prompt another row already has is asked for again), a kernel column with a
//! `check` (the reply must parse as Python and define a `@triton.jit` function, read by
//! tree-sitter's Python grammar; a kernel that fails is asked for again with the
//! reason), an LLM judge with a typed score, and `keep_if`, which draws rows until 8
//! pass the judge. It prints each kept row and the run's report: rows drawn, kept and
//! dropped, and why.
//!
//! ```sh
//! cargo run -p examples-quality --example quality
//! ```
//!
//! With no provider configured and `CHATAN_MOCK=1`, the bundled mock server answers with
//! scripted replies: some prompts repeat, some kernels do not parse, some have no
//! `@triton.jit` function, so every mechanism shows.

#[path = "../support/mod.rs"]
mod support;

use chatan::structured::Scale;
use chatan_mock::MockConfig;

/// The judge's verdict on a kernel.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// How likely the kernel is correct and fast, from 1 to 10.
    pub score: Scale<1, 10>,
    /// Why, in one sentence.
    pub reason: String,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Kernel {
        pub operation: String = sample::choice([
            "elementwise add", "softmax over rows", "layer norm", "matrix multiply",
            "ReLU", "sum over the last dimension",
        ]),
        pub prompt: String = gen(
            "write a one-sentence request for a Triton kernel for: {operation}",
            distinct = 0.8,
        ),
        pub kernel: String = gen(
            "{prompt}\nReply with the Python code only.",
            check = triton_kernel,
            max_tokens = 1024,
        ),
        pub verdict: Verdict = gen(
            "Rate from 1 to 10 how likely this Triton kernel is correct and fast.\n{kernel}",
            temperature = 0.0,
        ),
    }
}

/// Passes Python source that parses and defines a function decorated `@triton.jit`
/// (Markdown code fences around it are allowed).
fn triton_kernel(reply: &str) -> Result<(), String> {
    let code = unfenced(reply);
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .map_err(|e| e.to_string())?;
    let tree = parser
        .parse(code, None)
        .ok_or("the Python parser could not read it")?;
    let root = tree.root_node();
    if root.has_error() {
        let line = first_error(root).map_or(0, |n| n.start_position().row + 1);
        return Err(format!(
            "it is not valid Python (syntax error on line {line})"
        ));
    }
    let mut cursor = root.walk();
    let jitted = root.children(&mut cursor).any(|node| {
        node.kind() == "decorated_definition"
            && node
                .child_by_field_name("definition")
                .is_some_and(|d| d.kind() == "function_definition")
            && (0..node.named_child_count())
                .filter_map(|i| node.named_child(i as u32))
                .filter(|child| child.kind() == "decorator")
                .any(|decorator| {
                    let text = decorator.utf8_text(code.as_bytes()).unwrap_or("");
                    let name = text.trim_start_matches('@').trim();
                    name == "triton.jit" || name.starts_with("triton.jit(")
                })
    });
    if jitted {
        Ok(())
    } else {
        Err("it defines no function decorated with @triton.jit".into())
    }
}

/// The code inside a Markdown fence, or the whole reply.
fn unfenced(reply: &str) -> &str {
    let Some(start) = reply.find("```") else {
        return reply;
    };
    let body = &reply[start + 3..];
    let body = body.split_once('\n').map_or(body, |(_language, rest)| rest);
    body.rsplit_once("```").map_or(body, |(code, _)| code)
}

/// The first node of a syntax error, depth first.
fn first_error(node: tree_sitter::Node<'_>) -> Option<tree_sitter::Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<_> = node.children(&mut cursor).collect();
    children
        .into_iter()
        .filter(|child| child.has_error())
        .find_map(first_error)
}

/// Replies for the mock server, as a model might give them.
fn scripted() -> MockConfig {
    let kernel = |name: &str, body: &str| {
        format!(
            "```python\nimport triton\nimport triton.language as tl\n\n@triton.jit\n\
             def {name}(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):\n    \
             offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)\n    \
             mask = offsets < n\n    {body}\n```"
        )
    };
    MockConfig::new()
        .reply_for(
            "one-sentence request",
            [
                "Write a Triton kernel that adds two vectors.",
                "Write a Triton kernel for a row-wise softmax.",
                // The same request again, as a model repeats itself: asked again.
                "write a triton kernel that adds two vectors",
                "Write a Triton kernel for layer normalization.",
                "Write a Triton kernel that applies ReLU.",
                "Write a Triton kernel that sums the last dimension.",
                "Write a Triton kernel for a tiled matrix multiply.",
                "Write a Triton kernel that scales a vector by two.",
                "Write a Triton kernel that clamps values to [0, 1].",
                "Write a Triton kernel that squares each element.",
                "Write a Triton kernel that negates a vector.",
                "Write a Triton kernel that computes x * y + 1.",
            ],
        )
        .reply_for(
            "Reply with the Python code only",
            [
                kernel(
                    "add",
                    "tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=mask) + tl.load(y_ptr + offsets, mask=mask), mask=mask)",
                ),
                // Not Python: asked again with the line of the error.
                "def relu(x_ptr, out_ptr, n:\n    return".to_owned(),
                kernel(
                    "relu",
                    "tl.store(out_ptr + offsets, tl.maximum(tl.load(x_ptr + offsets, mask=mask), 0), mask=mask)",
                ),
                // Python, but no Triton kernel: asked again.
                "def softmax(x):\n    return x.softmax(-1)\n".to_owned(),
                kernel(
                    "scale",
                    "tl.store(out_ptr + offsets, 2 * tl.load(x_ptr + offsets, mask=mask), mask=mask)",
                ),
            ],
        )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, _server) = support::generator_with(scripted()).await?;
    let kept = Kernel::runner(&llm)
        .seed(11)
        .concurrency(8)
        .max_asks(3)
        .retry(support::patient())
        // A kernel that never passes its check drops its row, which is drawn again.
        .skip_failed()
        .keep_if(|row| {
            let score = row.verdict.score.get();
            if score >= 7 {
                Ok(())
            } else {
                Err(format!("the judge scored {score} (below 7)"))
            }
        })
        .max_draws(6)
        .run(8)
        .await?;
    for (index, row) in kept.indices.iter().zip(&kept.rows) {
        println!(
            "row {index:>3} [{}] {}: {}",
            row.verdict.score,
            row.operation,
            row.prompt.lines().next().unwrap_or("")
        );
    }
    let report = &kept.report;
    println!("\n{report}");
    for (row, column) in &report.repeated {
        println!("  row {row}: `{column}` repeats an earlier row's (asks ran out)");
    }
    println!("{}", support::summary(&llm, report));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::triton_kernel;

    #[test]
    fn the_check_reads_python() {
        let good = "import triton\n@triton.jit\ndef k(x):\n    pass\n";
        assert_eq!(triton_kernel(good), Ok(()));
        assert_eq!(triton_kernel(&format!("```python\n{good}```")), Ok(()));
        let err = triton_kernel("def k(x:\n    pass").unwrap_err();
        assert!(err.starts_with("it is not valid Python"), "{err}");
        let err = triton_kernel("@torch.jit\ndef k(x):\n    pass\n").unwrap_err();
        assert_eq!(err, "it defines no function decorated with @triton.jit");
    }
}
