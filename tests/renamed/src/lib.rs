//! chatan under another name. This crate has no dependency called `chatan`, so any
//! `::chatan` path in the macros' output would fail to compile here.

#[cfg(test)]
mod tests {
    use chatan_mock::{MockConfig, MockServer};
    use my_chatan::Dataset;

    my_chatan::dataset! {
        #[chatan(crate = "::my_chatan")]
        #[derive(Debug)]
        struct Declared {
            topic: String = sample::choice(["rust", "go"]),
            question: String = gen("a question about {topic}"),
            length: usize = |row| row.question.len(),
        }
    }

    #[derive(Dataset, Debug)]
    #[chatan(crate = "my_chatan")]
    struct Derived {
        #[sample(choice(["rust", "go"]))]
        topic: String,
        #[generate("a question about {topic}")]
        question: String,
        #[derived(|row| row.question.len())]
        length: usize,
    }

    /// A struct with its own `generate`: the macro adds no inherent methods to it.
    #[derive(Dataset, Debug)]
    #[chatan(crate = "my_chatan", methods = false)]
    struct OwnMethods {
        #[generate("anything")]
        text: String,
    }

    impl OwnMethods {
        #[allow(dead_code)]
        fn generate(&self) -> usize {
            self.text.len()
        }
    }

    #[tokio::test]
    async fn the_renamed_crate_works_in_both_forms() {
        let server = MockServer::start(MockConfig::new()).await.unwrap();
        let llm = my_chatan::OpenAi::compatible(&server.openai_url()).unwrap();
        let rows = Declared::generate(&llm, 3).await.unwrap();
        assert!(
            rows.iter()
                .all(|r| r.length == r.question.len() && r.question.contains(&r.topic))
        );
        let rows = Derived::generate(&llm, 3).await.unwrap();
        assert!(
            rows.iter()
                .all(|r| r.length == r.question.len() && r.question.contains(&r.topic))
        );
        // `OwnMethods::generate` is the user's; the recipe runs through a runner.
        let rows: Vec<OwnMethods> = my_chatan::Runner::new(&llm).generate(2).await.unwrap();
        assert_eq!(rows[0].generate(), rows[0].text.len());
    }
}
