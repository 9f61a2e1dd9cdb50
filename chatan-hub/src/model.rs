//! Model checkpoints from the hub, for local models: the files a checkpoint needs,
//! fetched once into the Hugging Face cache layout
//! (`hub/models--{owner}--{name}/snapshots/{commit}/`, with `refs/main` naming the
//! commit), and found there afterwards without the network.

use std::path::{Path, PathBuf};

use super::Hub;
use super::download::Fetch;

/// The files a checkpoint is read from (those present are fetched) besides weights.
/// Sentence-transformers models add their pipeline (`modules.json`), settings and
/// pooling.
const FILES: [&str; 8] = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
    "chat_template.jinja",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
];

#[derive(serde::Deserialize)]
struct Info {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(serde::Deserialize)]
struct Sibling {
    rfilename: String,
}

/// The quantizations tried, in order, when a GGUF repository's id names none:
/// llama.cpp's default for `-hf` (Q4_K_M) first, then the other 4-bit ones, then larger.
const PREFERRED: [&str; 12] = [
    "Q4_K_M", "Q4_K_S", "Q4_0", "Q4_1", "Q5_K_M", "Q5_K_S", "Q5_0", "Q6_K", "Q8_0", "F16", "BF16",
    "F32",
];

/// A model id: `owner/name` (or `name`), and after a colon the quantization to take from
/// a GGUF repository (`owner/name-GGUF:Q8_0`), as llama.cpp's `-hf` takes it.
struct ModelId<'a> {
    repo: &'a str,
    quant: Option<&'a str>,
}

impl<'a> ModelId<'a> {
    fn parse(id: &'a str) -> Result<Self, String> {
        let (repo, quant) = match id.split_once(':') {
            Some((repo, quant)) => (repo, Some(quant)),
            None => (id, None),
        };
        let valid = !repo.is_empty()
            && repo.split('/').count() <= 2
            && repo.split('/').all(|p| !p.is_empty() && p != "..")
            && quant.is_none_or(|q| !q.is_empty() && !q.contains('/'));
        if !valid {
            return Err(
                "a model id is `name` or `owner/name`, with `:QUANT` after it to pick a GGUF \
                 repository's quantization (`owner/name-GGUF:Q4_K_M`)"
                    .into(),
            );
        }
        Ok(ModelId { repo, quant })
    }
}

/// Whether GGUF file `name` is of quantization `quant`: its stem ends with it after a
/// `.`, `-` or `_`, in any case, and `quant` is a quantization's name (`Q4_K_M`,
/// `IQ2_XS`, `F16`, `BF16`, ...: a type prefix and a digit), so that `K_M` does not
/// match `Q4_K_M`.
fn is_quant(name: &str, quant: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let Some(stem) = file.strip_suffix(".gguf") else {
        return false;
    };
    let (stem, quant) = (stem.to_ascii_uppercase(), quant.to_ascii_uppercase());
    let named = ["Q", "IQ", "TQ", "F", "BF", "MXFP"].iter().any(|prefix| {
        quant
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    });
    named
        && stem
            .strip_suffix(&quant)
            .is_some_and(|before| before.ends_with(['.', '-', '_']))
}

/// Whether `name` is one part of a GGUF split over several files (`-00001-of-00003`).
fn is_split(name: &str) -> bool {
    let stem = name.strip_suffix(".gguf").unwrap_or(name);
    stem.rsplit_once("-of-")
        .is_some_and(|(_, total)| total.len() == 5 && total.bytes().all(|b| b.is_ascii_digit()))
}

/// The GGUF file to take from `names` (a repository's files): the one of the `quant`
/// asked for, or else the first of [`PREFERRED`] present, or the only one.
fn choose_gguf<'n>(names: &[&'n str], id: &ModelId<'_>) -> Result<&'n str, String> {
    let ggufs: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.ends_with(".gguf") && !is_split(n))
        .collect();
    let listed = || {
        if ggufs.is_empty() {
            "it has none in one file (chatan reads a GGUF file whole, not split)".to_owned()
        } else {
            format!("it has {}", ggufs.join(", "))
        }
    };
    if let Some(quant) = id.quant {
        return ggufs
            .iter()
            .copied()
            .find(|n| is_quant(n, quant))
            .ok_or_else(|| format!("{} has no {quant} GGUF file: {}", id.repo, listed()));
    }
    if let Some(found) = PREFERRED
        .iter()
        .find_map(|quant| ggufs.iter().copied().find(|n| is_quant(n, quant)))
    {
        return Ok(found);
    }
    match ggufs.as_slice() {
        [one] => Ok(one),
        _ => Err(format!(
            "{} holds several GGUF files and none of the usual quantizations; name one after \
             a colon ({}:QUANT): {}",
            id.repo,
            id.repo,
            listed()
        )),
    }
}

/// The files under `dir`, by their paths in it (`/`-separated), two levels deep.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut folders = vec![(dir.to_owned(), String::new())];
    while let Some((folder, prefix)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let path = entry.path();
            if path.is_dir() && prefix.is_empty() {
                folders.push((path, format!("{name}/")));
            } else if path.is_file() && !name.starts_with('.') {
                names.push(name);
            }
        }
    }
    names.sort();
    names
}

impl Hub {
    /// The cache folder of repository `repo`.
    pub(crate) fn model_dir(&self, repo: &str) -> PathBuf {
        self.cache
            .join(format!("models--{}", repo.replace('/', "--")))
    }

    /// The cached snapshot of model `id` at `main`, if a complete one is there: its
    /// folder (a checkpoint), or its GGUF file.
    fn cached_model(&self, id: &ModelId<'_>) -> Option<PathBuf> {
        let dir = self.model_dir(id.repo);
        let commit = std::fs::read_to_string(dir.join("refs").join("main")).ok()?;
        let snapshot = dir.join("snapshots").join(commit.trim());
        if !snapshot.is_dir() {
            return None;
        }
        if id.quant.is_none() && snapshot.join("config.json").exists() {
            return Some(snapshot);
        }
        let names = files_in(&snapshot);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        choose_gguf(&names, id).ok().map(|file| snapshot.join(file))
    }

    /// Model `id` from the cache, or fetched into it first: the folder of a checkpoint
    /// (config, tokenizer, safetensors weights), or the path of one GGUF file of a GGUF
    /// repository, picked by the quantization after a colon (`owner/name-GGUF:Q8_0`) or
    /// else Q4_K_M, another 4-bit one, or the only file. Offline, or when the hub cannot
    /// be reached, the cache is used; without it the error names what is needed.
    pub async fn model(&self, id: &str) -> Result<PathBuf, String> {
        let id = ModelId::parse(id)?;
        let missing = |why: &str| {
            format!(
                "{why}, and the model is not in the cache at {}; a local model needs its \
                 config.json, tokenizer.json and *.safetensors weights there, or a GGUF file \
                 (fetch them where the hub is reachable, or set HF_HOME to a cache that has \
                 them)",
                self.model_dir(id.repo).display()
            )
        };
        if self.offline {
            return self
                .cached_model(&id)
                .ok_or_else(|| missing("the hub is offline (HF_HUB_OFFLINE)"));
        }
        match self.fetch_model(&id).await {
            Ok(path) => Ok(path),
            Err(Fetch::Unreachable(e)) => self
                .cached_model(&id)
                .ok_or_else(|| missing(&format!("the hub {e}"))),
            Err(Fetch::Failed(e)) => Err(e),
        }
    }

    async fn fetch_model(&self, id: &ModelId<'_>) -> Result<PathBuf, Fetch> {
        let repo = id.repo;
        let url = format!("{}/api/models/{repo}/revision/main", self.endpoint);
        let response = self.send(self.authorized(self.client.get(&url))).await?;
        let info: Info = response.json().await.map_err(|e| {
            Fetch::Failed(format!(
                "the hub's answer for {repo} could not be read: {e}"
            ))
        })?;
        let names: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
        let weights: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.ends_with(".safetensors") && !n.contains('/'))
            .collect();
        let has_gguf = names.iter().any(|n| n.ends_with(".gguf"));
        let (wanted, gguf): (Vec<&str>, Option<&str>) = if id.quant.is_none() && !weights.is_empty()
        {
            let wanted = FILES
                .iter()
                .copied()
                .filter(|f| names.contains(f))
                .chain(weights.iter().copied())
                .collect();
            (wanted, None)
        } else if has_gguf {
            let file = choose_gguf(&names, id).map_err(Fetch::Failed)?;
            (vec![file], Some(file))
        } else if id.quant.is_some() {
            return Err(Fetch::Failed(format!(
                "{repo} has no GGUF files to take a quantization from"
            )));
        } else {
            return Err(Fetch::Failed(format!(
                "{repo} has neither .safetensors weights at its top level nor GGUF files; \
                 chatan loads checkpoints in safetensors, or GGUF"
            )));
        };
        let dir = self.model_dir(repo);
        let snapshot = dir.join("snapshots").join(&info.sha);
        for name in wanted {
            let path = snapshot.join(name);
            if path.exists() {
                continue;
            }
            let url = format!("{}/{repo}/resolve/{}/{name}", self.endpoint, info.sha);
            self.download(&url, true, &path, None, &format!("{repo}/{name}"))
                .await?;
        }
        // The ref is written last: a snapshot it names is complete.
        let refs = dir.join("refs");
        std::fs::create_dir_all(&refs)
            .and_then(|()| std::fs::write(refs.join("main"), &info.sha))
            .map_err(|e| Fetch::Failed(format!("{}: {e}", refs.display())))?;
        Ok(match gguf {
            Some(file) => snapshot.join(file),
            None => snapshot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantization_is_found_by_the_end_of_the_files_stem() {
        assert!(is_quant("SmolLM2-135M-Instruct.Q4_1.gguf", "q4_1"));
        assert!(is_quant("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"));
        assert!(is_quant("sub/Model-Q8_0.gguf", "Q8_0"));
        assert!(!is_quant("Model-Q4_K_M.gguf", "K_M"));
        assert!(!is_quant("Model-Q4_K_M.gguf", "Q4_K"));
        assert!(!is_quant("Model-Q4_K_M.safetensors", "Q4_K_M"));
        assert!(is_split("big-Q8_0-00001-of-00003.gguf"));
        assert!(!is_split("Model-Q8_0.gguf"));
    }

    #[test]
    fn a_gguf_is_picked_as_asked_or_by_preference() {
        let names = [
            "README.md",
            "m.Q2_K.gguf",
            "m.Q8_0.gguf",
            "m.Q4_K_M.gguf",
            "m.F16-00001-of-00002.gguf",
        ];
        let id = |quant| ModelId { repo: "o/m", quant };
        assert_eq!(choose_gguf(&names, &id(None)).unwrap(), "m.Q4_K_M.gguf");
        assert_eq!(
            choose_gguf(&names, &id(Some("q8_0"))).unwrap(),
            "m.Q8_0.gguf"
        );
        let error = choose_gguf(&names, &id(Some("Q5_K_M"))).unwrap_err();
        assert!(
            error.contains("no Q5_K_M") && error.contains("m.Q2_K.gguf"),
            "{error}"
        );
        // Split files are not offered.
        assert!(choose_gguf(&names, &id(Some("F16"))).is_err());
        assert_eq!(
            choose_gguf(&["only.IQ2_XS.gguf"], &id(None)).unwrap(),
            "only.IQ2_XS.gguf"
        );
        let error = choose_gguf(&["a.IQ2_XS.gguf", "a.IQ3_M.gguf"], &id(None)).unwrap_err();
        assert!(error.contains("o/m:QUANT"), "{error}");
    }

    #[test]
    fn ids_are_checked() {
        assert!(ModelId::parse("owner/name-GGUF:Q4_K_M").is_ok());
        assert!(ModelId::parse("gpt2").is_ok());
        for bad in ["", "a/b/c", "../x", "a/..", "o/m:", "o/m:a/b"] {
            assert!(ModelId::parse(bad).is_err(), "{bad}");
        }
    }
}
