//! Uploading a dataset to the Hugging Face hub, as `huggingface_hub`'s `upload_folder`
//! does over the hub's HTTP API: create the repository (if it is new), ask the hub which
//! files go to LFS (`preupload`), upload those through the LFS batch API, then make one
//! commit holding every file. One commit means a reader never sees half a dataset.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest as _;

use chatan_hub::Hub;

use super::{DataError, ToFrame, save_huggingface};

/// What a push made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The dataset id.
    pub repo: String,
    /// The commit's URL, as the hub gave it.
    pub commit_url: Option<String>,
    /// The commit's id.
    pub commit_oid: Option<String>,
    /// The files of the commit, relative to the dataset's root.
    pub files: Vec<String>,
}

/// A file to upload.
struct Upload {
    path: String,
    bytes: Vec<u8>,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preupload {
    files: Vec<PreuploadFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreuploadFile {
    path: String,
    upload_mode: String,
    #[serde(default)]
    should_ignore: bool,
}

#[derive(Deserialize)]
struct Batch {
    objects: Vec<BatchObject>,
}

#[derive(Deserialize)]
struct BatchObject {
    oid: String,
    #[serde(default)]
    actions: Option<Actions>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Actions {
    upload: Option<Action>,
    verify: Option<Action>,
}

#[derive(Deserialize)]
struct Action {
    href: String,
    #[serde(default)]
    header: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commit {
    commit_url: Option<String>,
    commit_oid: Option<String>,
}

/// Datasets pushed to the Hugging Face hub: implemented by [`Hub`] (bring it into scope:
/// `use chatan::data::HubPush;`).
#[allow(async_fn_in_trait)] // Only `Hub` implements it.
pub trait HubPush {
    /// Writes `rows` as the `train` split of a Hugging Face dataset folder (see
    /// [`save_huggingface`]) and pushes it to dataset `repo` (`owner/name`) in one
    /// commit, creating the repository if it does not exist. Needs a token that can
    /// write (`HF_TOKEN`).
    ///
    /// ```no_run
    /// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question") } }
    /// # async fn run(rows: Vec<Qa>) -> Result<(), chatan::data::DataError> {
    /// use chatan::data::HubPush;
    ///
    /// let pushed = chatan::hub::Hub::from_env().push_to_hub(&rows, "me/qa").await?;
    /// println!("{:?}", pushed.commit_url);
    /// # Ok(()) }
    /// ```
    async fn push_to_hub<R: ToFrame>(&self, rows: &[R], repo: &str) -> Result<Pushed, DataError>;

    /// Pushes every file under `dir` (a folder [`save_huggingface`] wrote, say) to
    /// dataset `repo` in one commit on `main`, creating the repository first if needed.
    async fn push_folder(&self, repo: &str, dir: impl AsRef<Path>) -> Result<Pushed, DataError>;
}

impl HubPush for Hub {
    async fn push_to_hub<R: ToFrame>(&self, rows: &[R], repo: &str) -> Result<Pushed, DataError> {
        static PUSHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "chatan-push-{}-{}",
            std::process::id(),
            PUSHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let result = async {
            save_huggingface(rows, &dir)?;
            self.push_folder(repo, &dir).await
        }
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    async fn push_folder(&self, repo: &str, dir: impl AsRef<Path>) -> Result<Pushed, DataError> {
        let fail = |message: String| DataError::Hub {
            repo: repo.to_owned(),
            message,
        };
        let (owner, name) = chatan_hub::split_repo(repo)
            .ok_or_else(|| fail("a dataset id is `owner/name`".into()))?;
        if self.offline {
            return Err(fail(
                "the hub is offline (HF_HUB_OFFLINE); pushing needs it".into(),
            ));
        }
        if self.token.is_none() {
            return Err(fail(
                "pushing needs a token that can write: set HF_TOKEN or use Hub::token".into(),
            ));
        }
        let uploads = read_folder(dir.as_ref()).map_err(fail)?;
        if uploads.is_empty() {
            return Err(fail(format!(
                "{} holds no files to push",
                dir.as_ref().display()
            )));
        }
        create_repo(self, owner, name).await.map_err(fail)?;
        let modes = preupload(self, repo, &uploads).await.map_err(fail)?;
        let mut lines = vec![json!({
            "key": "header",
            "value": {"summary": "Upload dataset with chatan", "description": ""},
        })];
        let mut lfs = Vec::new();
        let mut files = Vec::new();
        for upload in &uploads {
            match modes.iter().find(|f| f.path == upload.path) {
                Some(f) if f.should_ignore => continue,
                Some(f) if f.upload_mode == "lfs" => lfs.push(upload),
                _ => lines.push(json!({
                    "key": "file",
                    "value": {
                        "path": upload.path,
                        "encoding": "base64",
                        "content": base64::engine::general_purpose::STANDARD.encode(&upload.bytes),
                    },
                })),
            }
            files.push(upload.path.clone());
        }
        if !lfs.is_empty() {
            upload_lfs(self, repo, &lfs).await.map_err(fail)?;
            for upload in &lfs {
                lines.push(json!({
                    "key": "lfsFile",
                    "value": {"path": upload.path, "algo": "sha256", "oid": upload.sha256},
                }));
            }
        }
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let url = format!("{}/api/datasets/{repo}/commit/main", self.endpoint);
        let commit: Commit = send(
            self,
            self.client
                .post(&url)
                .header("content-type", "application/x-ndjson")
                .body(body),
            &url,
        )
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(|e| fail(format!("the hub's commit reply could not be read: {e}")))?;
        Ok(Pushed {
            repo: repo.to_owned(),
            commit_url: commit.commit_url,
            commit_oid: commit.commit_oid,
            files,
        })
    }
}

/// Creates the dataset repository; one that exists already is fine.
async fn create_repo(hub: &Hub, owner: &str, name: &str) -> Result<(), String> {
    let url = format!("{}/api/repos/create", hub.endpoint);
    let body = json!({"type": "dataset", "name": name, "organization": owner});
    let response = hub
        .authorized(hub.client.post(&url).json(&body))
        .send()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    match response.status().as_u16() {
        200..=299 | 409 => Ok(()),
        _ => Err(chatan_hub::status_error(response.status(), &url)),
    }
}

/// Which files the hub wants through LFS.
async fn preupload(
    hub: &Hub,
    repo: &str,
    uploads: &[Upload],
) -> Result<Vec<PreuploadFile>, String> {
    let url = format!("{}/api/datasets/{repo}/preupload/main", hub.endpoint);
    let files: Vec<Value> = uploads
        .iter()
        .map(|u| {
            let sample = &u.bytes[..u.bytes.len().min(512)];
            json!({
                "path": u.path,
                "size": u.bytes.len(),
                "sample": base64::engine::general_purpose::STANDARD.encode(sample),
            })
        })
        .collect();
    let reply: Preupload = send(
        hub,
        hub.client.post(&url).json(&json!({"files": files})),
        &url,
    )
    .await?
    .json()
    .await
    .map_err(|e| format!("the hub's preupload reply could not be read: {e}"))?;
    Ok(reply.files)
}

/// Uploads files through the LFS batch API: the hub says where each object goes
/// (nowhere, if it has it already), then each is sent and verified.
async fn upload_lfs(hub: &Hub, repo: &str, uploads: &[&Upload]) -> Result<(), String> {
    let url = format!(
        "{}/datasets/{repo}.git/info/lfs/objects/batch",
        hub.endpoint
    );
    let objects: Vec<Value> = uploads
        .iter()
        .map(|u| json!({"oid": u.sha256, "size": u.bytes.len()}))
        .collect();
    let body = json!({
        "operation": "upload",
        "transfers": ["basic"],
        "objects": objects,
        "hash_algo": "sha256",
        "ref": {"name": "main"},
    });
    let lfs = "application/vnd.git-lfs+json";
    let batch: Batch = send(
        hub,
        hub.client
            .post(&url)
            .header("accept", lfs)
            .header("content-type", lfs)
            .body(body.to_string()),
        &url,
    )
    .await?
    .json()
    .await
    .map_err(|e| format!("the hub's LFS batch reply could not be read: {e}"))?;
    for object in batch.objects {
        let upload = uploads
            .iter()
            .find(|u| u.sha256 == object.oid)
            .ok_or_else(|| {
                format!(
                    "the hub's LFS batch named an object we did not send: {}",
                    object.oid
                )
            })?;
        if let Some(error) = object.error {
            return Err(format!("the hub refused {}: {error}", upload.path));
        }
        let Some(actions) = object.actions else {
            continue; // the hub has this object already
        };
        if let Some(action) = actions.upload {
            if action.header.contains_key("chunk_size") {
                return Err(format!(
                    "the hub asked for a multipart upload of {} ({} bytes), which chatan does \
                     not do yet; split the dataset into smaller files",
                    upload.path,
                    upload.bytes.len()
                ));
            }
            let mut put = hub.client.put(&action.href).body(upload.bytes.clone());
            for (name, value) in &action.header {
                put = put.header(name, value);
            }
            let response = put
                .send()
                .await
                .map_err(|e| format!("uploading {}: {}", upload.path, e.without_url()))?;
            if !response.status().is_success() {
                return Err(format!(
                    "uploading {}: HTTP {}",
                    upload.path,
                    response.status()
                ));
            }
        }
        if let Some(action) = actions.verify {
            let mut verify = hub
                .client
                .post(&action.href)
                .json(&json!({"oid": upload.sha256, "size": upload.bytes.len()}));
            for (name, value) in &action.header {
                verify = verify.header(name, value);
            }
            let verify = hub.authorized(verify);
            let response = verify
                .send()
                .await
                .map_err(|e| format!("verifying {}: {}", upload.path, e.without_url()))?;
            if !response.status().is_success() {
                return Err(format!(
                    "verifying {}: HTTP {}",
                    upload.path,
                    response.status()
                ));
            }
        }
    }
    Ok(())
}

/// Sends an authorized request; a status other than success is an error with a hint.
async fn send(
    hub: &Hub,
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<reqwest::Response, String> {
    let response = hub
        .authorized(request)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(chatan_hub::status_error(response.status(), url))
    }
}

/// Every file under `dir`, with paths relative to it (`/`-separated), in a stable order.
fn read_folder(dir: &Path) -> Result<Vec<Upload>, String> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::from(dir)];
    while let Some(folder) = pending.pop() {
        let entries =
            std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("{}: {e}", folder.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(dir)
                .map_err(|e| e.to_string())?
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let sha256 = sha2::Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            out.push(Upload {
                path: relative,
                bytes,
                sha256,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
