//! A generator's answer: its text, how it ended, what it cost and what the provider
//! said of its rate limits.

/// A generator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reply {
    /// The generated text.
    pub text: String,
    /// Token counts, if the provider reported them.
    pub usage: Option<Usage>,
    /// How many requests it took (1 unless a [`Retry`](crate::Retry) layer retried).
    pub attempts: u32,
    /// What the provider said of its rate limits with this reply, if it said.
    pub limits: Option<RateLimits>,
    /// Whether the reply is whole, cut off by its token limit, or a refusal.
    pub finish: Finish,
}

/// Why a reply ended: the providers' `finish_reason` (OpenAI) and `stop_reason`
/// (Anthropic). A run never keeps a reply that is not whole as if it were: see
/// [`Runner::on_truncated`](crate::Runner::on_truncated) and
/// [`Runner::on_refused`](crate::Runner::on_refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finish {
    /// The model said all it had to (or met a stop sequence). Also what a reply is
    /// when the provider does not say.
    #[default]
    Complete,
    /// Cut off by the token limit (OpenAI's `finish_reason: "length"`, Anthropic's
    /// `stop_reason: "max_tokens"` or `"model_context_window_exceeded"`, a local model
    /// that reached `max_tokens`): the text is partial.
    Truncated,
    /// The model refused (OpenAI's `refusal`, or `finish_reason: "content_filter"`;
    /// Anthropic's `stop_reason: "refusal"`): the text is the refusal, or whatever the
    /// model said before it.
    Refused,
}

/// A provider's rate-limit state as its reply headers tell it (OpenAI's
/// `x-ratelimit-remaining-*` / `-reset-*`, Anthropic's `anthropic-ratelimit-*`), read by
/// the [`Governor`](crate::Governor).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests left in the current window.
    pub requests_remaining: Option<u64>,
    /// When the request window resets, from now.
    pub requests_reset: Option<std::time::Duration>,
    /// Tokens left in the current window.
    pub tokens_remaining: Option<u64>,
    /// When the token window resets, from now.
    pub tokens_reset: Option<std::time::Duration>,
}

impl Reply {
    /// A reply, with token counts if the provider reported them.
    pub fn new(text: String, usage: Option<Usage>) -> Self {
        Reply {
            text,
            usage,
            attempts: 1,
            limits: None,
            finish: Finish::Complete,
        }
    }

    /// A reply with token counts.
    pub fn with_usage(text: String, usage: Usage) -> Self {
        Reply::new(text, Some(usage))
    }

    /// This reply, ended for `finish`.
    pub fn finished(mut self, finish: Finish) -> Self {
        self.finish = finish;
        self
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Reply::new(text, None)
    }
}

impl From<&str> for Reply {
    fn from(text: &str) -> Self {
        Reply::from(text.to_owned())
    }
}

/// Token counts: of one request, of one row, or of a whole run.
///
/// Deserializes from the providers' usage objects alike: OpenAI's `prompt_tokens` /
/// `completion_tokens` (whose prompt count includes
/// `prompt_tokens_details.cached_tokens`), and Anthropic's `input_tokens` /
/// `output_tokens`, whose input count leaves out `cache_creation_input_tokens` and
/// `cache_read_input_tokens`: they are added in, so `input_tokens` is always every
/// token of the prompt, cached or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "RawUsage")]
pub struct Usage {
    /// Tokens in the prompt, those read from or written to a prompt cache included.
    pub input_tokens: u64,
    /// Tokens in the reply.
    pub output_tokens: u64,
    /// Of `input_tokens`, those read from the provider's prompt cache (billed at a
    /// fraction of the price), or, on a local model, those whose keys and values were
    /// copied from an earlier prompt that began the same way.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// Of `input_tokens`, those written to the provider's prompt cache (Anthropic bills
    /// them at more than the price).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Any provider's usage object, or ours as serialized.
#[derive(serde::Deserialize)]
struct RawUsage {
    #[serde(default, alias = "prompt_tokens")]
    input_tokens: u64,
    #[serde(default, alias = "completion_tokens")]
    output_tokens: u64,
    // Ours.
    #[serde(default)]
    cache_read_tokens: u64,
    #[serde(default)]
    cache_write_tokens: u64,
    // Anthropic's (not in `input_tokens`).
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    // OpenAI's (in `prompt_tokens`).
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(serde::Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<RawUsage> for Usage {
    fn from(raw: RawUsage) -> Usage {
        let read = raw.cache_read_input_tokens.unwrap_or(0);
        let written = raw.cache_creation_input_tokens.unwrap_or(0);
        let openai_cached = raw
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Usage {
            input_tokens: raw.input_tokens + read + written,
            output_tokens: raw.output_tokens,
            cache_read_tokens: raw.cache_read_tokens + read + openai_cached,
            cache_write_tokens: raw.cache_write_tokens + written,
        }
    }
}

impl Usage {
    /// `input` prompt tokens (none cached) and `output` reply tokens.
    pub fn new(input: u64, output: u64) -> Self {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    /// Prompt and reply tokens together.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(mut self, other: Usage) -> Usage {
        self += other;
        self
    }
}
