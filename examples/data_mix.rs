//! The seed's "Creating Data Mixes": samplers diversify the prompts.
//!
//! ```sh
//! cargo run --example data_mix
//! ```

mod support;

use std::collections::BTreeMap;

chatan::dataset! {
    /// A history question about one of a few places, with a response.
    #[derive(Debug, Clone)]
    pub struct Mix {
        pub id: chatan::Uuid = sample::uuid(),
        pub topic: String = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]),
        pub prompt: String = gen("write an example question about the history of {topic}"),
        pub response: String = gen("respond to: {prompt}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, _mock) = support::generator().await?;

    // On the small local model: fewer rows and shorter replies (real text on the CPU).
    let (n, llm) = if support::is_local(&llm) {
        (6, chatan::generate::SetOptions::max_tokens(llm, 64))
    } else {
        (100, llm)
    };
    let rows: Vec<Mix> = Mix::runner(&llm).seed(42).generate(n).await?;

    let mut per_topic: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *per_topic.entry(&row.topic).or_default() += 1;
    }
    for row in rows.iter().take(3) {
        println!(
            "{}  [{}]\n  prompt:   {}\n  response: {}\n",
            row.id, row.topic, row.prompt, row.response
        );
    }
    println!("{} rows; per topic: {per_topic:?}", rows.len());
    Ok(())
}
