//! Chat templates: an instruct model's prompt format, from its `chat_template` (GGUF
//! metadata `tokenizer.chat_template`), rendered with a real Jinja engine (minijinja) as
//! Hugging Face's `apply_chat_template` does.

use minijinja::{Environment, Error, ErrorKind, context};

/// A model's chat template, compiled once.
pub(crate) struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl ChatTemplate {
    /// Compiles `source`; `bos` and `eos` are the strings the template may name.
    pub(crate) fn new(source: String, bos: String, eos: String) -> Result<Self, String> {
        let mut env = Environment::new();
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned("chat", source)
            .map_err(|e| format!("the model's chat template does not parse: {e}"))?;
        Ok(ChatTemplate { env, bos, eos })
    }

    /// The prompt for one user turn after an optional system prompt, ready for the
    /// model's reply.
    pub(crate) fn render(&self, system: Option<&str>, prompt: &str) -> Result<String, String> {
        let mut messages = Vec::new();
        if let Some(system) = system {
            messages.push(context! { role => "system", content => system });
        }
        messages.push(context! { role => "user", content => prompt });
        let template = self.env.get_template("chat").map_err(|e| e.to_string())?;
        template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => self.bos.as_str(),
                eos_token => self.eos.as_str(),
            })
            .map_err(|e| format!("the model's chat template failed: {e}"))
    }
}
