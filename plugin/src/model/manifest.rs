//! The model manifest, `continuo.toml`: what a model folder holds and how to run it.
//!
//! ```toml
//! family = "tone-test"          # which Generator runs it
//! name = "Test tone"
//! description = "One line shown in the model picker"
//! license = "CC0-1.0"
//! sample_rate = 32000           # Hz of the audio the model produces (0 for symbolic models)
//! channels = 1
//! frame_rate = 50.0             # model steps per second of audio
//!
//! [files.graph]                 # every file the family needs, by role
//! path = "tone.onnx"            # relative, inside the folder
//! sha256 = "…"                  # optional; checked on load when present
//!
//! [sampling]                    # defaults the panel offers for this model
//! temperature = 1.0
//! top_k = 250
//! top_p = 0.0
//! guidance = 3.0
//!
//! [tone-test]                   # optional: the family's own settings, a table named after it
//! ```
//!
//! `format_version` (optional, 1) names this format; later formats will raise it.

use super::error::ModelError;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// File name of the manifest inside a model folder.
pub const MANIFEST_FILE: &str = "continuo.toml";

/// Largest manifest accepted, in bytes: a manifest is a few hundred bytes, so anything past this
/// is not one.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// A parsed, validated manifest. Every path in `files` is resolved, inside the folder, and exists.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub folder: PathBuf,
    pub family: String,
    pub name: String,
    pub description: String,
    pub license: String,
    pub sample_rate_hz: u32,
    pub num_channels: u32,
    pub frame_rate_hz: f64,
    pub files: BTreeMap<String, ModelFile>,
    pub sampling: SamplingDefaults,
    /// The table named after the family (e.g. `[notes]`), for the family to read; empty if none.
    pub family_config: toml::Table,
}

/// Manifest formats this build reads.
pub const MAX_FORMAT_VERSION: u32 = 1;

/// One file named by the manifest, resolved to an absolute path inside the model folder.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub path: PathBuf,
    pub sha256: Option<String>,
}

/// Sampling defaults a model suggests.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingDefaults {
    pub temperature: f32,
    pub top_k: u32,
    pub top_p: f32,
    pub guidance: f32,
}

impl Default for SamplingDefaults {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 250,
            top_p: 0.0,
            guidance: 3.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    format_version: Option<u32>,
    family: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default, alias = "licence")]
    license: String,
    #[serde(default)]
    sample_rate: u32,
    #[serde(default = "one")]
    channels: u32,
    #[serde(default)]
    frame_rate: f64,
    #[serde(default)]
    files: BTreeMap<String, RawFile>,
    #[serde(default)]
    sampling: SamplingDefaults,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: String,
    sha256: Option<String>,
}

/// Why a folder's manifest could not be looked at: absent, or there but unreadable (a folder
/// without read permission must not read as a folder without a manifest).
fn missing_manifest(folder: PathBuf, err: std::io::Error) -> ModelError {
    if err.kind() == std::io::ErrorKind::NotFound {
        ModelError::NoManifest(folder)
    } else {
        ModelError::Unreadable {
            path: folder,
            reason: err.to_string(),
        }
    }
}

impl Manifest {
    /// Reads and validates `folder/continuo.toml`. Not real-time safe: reads files.
    pub fn load(folder: &Path) -> Result<Self, ModelError> {
        if !folder.is_dir() {
            return Err(ModelError::NoFolder(folder.to_path_buf()));
        }
        let folder = folder
            .canonicalize()
            .map_err(|_| ModelError::NoFolder(folder.to_path_buf()))?;
        let manifest_path = folder.join(MANIFEST_FILE);
        match std::fs::metadata(&manifest_path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(ModelError::NoManifest(folder)),
            Err(err) => return Err(missing_manifest(folder, err)),
        }
        let bad = |reason: String| ModelError::BadManifest {
            path: manifest_path.clone(),
            reason,
        };
        let mut text = String::new();
        std::fs::File::open(&manifest_path)
            .and_then(|f| f.take(MAX_MANIFEST_BYTES + 1).read_to_string(&mut text))
            .map_err(|err| bad(err.to_string()))?;
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(bad(format!("larger than {MAX_MANIFEST_BYTES} bytes")));
        }
        Self::parse(&folder, &text).map_err(|err| match err {
            ModelError::BadManifest { reason, .. } => bad(reason),
            other => other,
        })
    }

    /// Parses manifest text for a folder that is already canonical.
    pub fn parse(folder: &Path, text: &str) -> Result<Self, ModelError> {
        let bad = |reason: String| ModelError::BadManifest {
            path: folder.join(MANIFEST_FILE),
            reason,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|err: toml::de::Error| bad(err.message().to_string()))?;
        // The family's own table is the family's business; everything else must be known.
        let family_config = match table
            .get("family")
            .and_then(|f| f.as_str())
            .map(str::to_owned)
        {
            Some(family) => match table.remove(&family) {
                Some(toml::Value::Table(config)) => config,
                Some(_) => return Err(bad(format!("[{family}] must be a table"))),
                None => toml::Table::new(),
            },
            None => toml::Table::new(),
        };
        let raw: RawManifest = toml::Value::Table(table)
            .try_into()
            .map_err(|err: toml::de::Error| bad(err.message().to_string()))?;
        if let Some(version) = raw.format_version {
            if version == 0 || version > MAX_FORMAT_VERSION {
                return Err(bad(format!(
                    "format_version = {version}; this Continuo reads formats up to {MAX_FORMAT_VERSION}: update the plugin"
                )));
            }
        }
        if raw.channels == 0 || raw.channels > 2 {
            return Err(bad(format!(
                "channels = {}; only 1 (mono) and 2 (stereo) are supported",
                raw.channels
            )));
        }
        if raw.sample_rate > 384_000 {
            return Err(bad(format!(
                "sample_rate = {} Hz is not plausible",
                raw.sample_rate
            )));
        }
        if !(raw.frame_rate.is_finite() && raw.frame_rate >= 0.0) {
            return Err(bad("frame_rate must be a positive number".into()));
        }
        let mut files = BTreeMap::new();
        for (role, file) in raw.files {
            let path = confine(folder, &file.path)?;
            if !path.is_file() {
                return Err(ModelError::MissingFile(path));
            }
            let sha256 = file.sha256.map(|s| s.to_ascii_lowercase());
            files.insert(role, ModelFile { path, sha256 });
        }
        Ok(Self {
            folder: folder.to_path_buf(),
            family: raw.family,
            name: raw.name,
            description: raw.description,
            license: raw.license,
            sample_rate_hz: raw.sample_rate,
            num_channels: raw.channels,
            frame_rate_hz: raw.frame_rate,
            files,
            sampling: raw.sampling,
            family_config,
        })
    }

    /// The file for `role`, checked against its sha256 when the manifest gives one.
    pub fn file(&self, role: &str) -> Result<&Path, ModelError> {
        let file = self
            .files
            .get(role)
            .ok_or_else(|| ModelError::BadManifest {
                path: self.folder.join(MANIFEST_FILE),
                reason: format!(
                    "[files.{role}] is missing; the {} family needs it",
                    self.family
                ),
            })?;
        if let Some(expected) = &file.sha256 {
            let found = sha256_file(&file.path)?;
            if &found != expected {
                return Err(ModelError::ChecksumMismatch {
                    path: file.path.clone(),
                    expected: expected.clone(),
                    found,
                });
            }
        }
        Ok(&file.path)
    }
}

/// Resolves `relative` inside `folder` (canonical), refusing absolute paths, `..` and symlinks
/// that lead outside.
pub fn confine(folder: &Path, relative: &str) -> Result<PathBuf, ModelError> {
    let escapes = || ModelError::PathEscapes {
        path: relative.to_string(),
        folder: folder.to_path_buf(),
    };
    let rel = Path::new(relative);
    if relative.is_empty()
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(escapes());
    }
    let joined = folder.join(rel);
    match joined.canonicalize() {
        Ok(real) if real.starts_with(folder) => Ok(real),
        Ok(_) => Err(escapes()),
        Err(_) => Err(ModelError::MissingFile(joined)),
    }
}

/// Hex sha256 of a file. Not real-time safe: reads the file.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file =
        std::fs::File::open(path).map_err(|_| ModelError::MissingFile(path.to_path_buf()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|_| ModelError::MissingFile(path.to_path_buf()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("continuo-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.canonicalize().unwrap()
    }

    #[test]
    fn an_unreadable_folder_is_not_reported_as_a_folder_without_a_manifest() {
        use std::io::{Error, ErrorKind};
        let folder = PathBuf::from("/models/locked");
        let denied = missing_manifest(folder.clone(), Error::from(ErrorKind::PermissionDenied));
        assert!(matches!(denied, ModelError::Unreadable { .. }), "{denied}");
        assert!(denied.to_string().contains("cannot be read"), "{denied}");
        assert!(
            !denied.to_string().contains("has no continuo.toml"),
            "{denied}"
        );
        let absent = missing_manifest(folder, Error::from(ErrorKind::NotFound));
        assert!(matches!(absent, ModelError::NoManifest(_)), "{absent}");
    }

    mod confine {
        use super::*;

        #[test]
        fn accepts_nested_relative_paths() {
            let dir = temp_folder("nested");
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            std::fs::write(dir.join("sub/a.onnx"), b"x").unwrap();
            assert_eq!(confine(&dir, "sub/a.onnx").unwrap(), dir.join("sub/a.onnx"));
        }

        #[test]
        fn refuses_parent_and_absolute_paths() {
            let dir = temp_folder("escape");
            for bad in ["../a.onnx", "sub/../../a.onnx", "/etc/passwd", ""] {
                assert!(
                    matches!(confine(&dir, bad), Err(ModelError::PathEscapes { .. })),
                    "{bad} was accepted"
                );
            }
        }

        #[cfg(unix)]
        #[test]
        fn refuses_symlinks_that_lead_outside() {
            let dir = temp_folder("symlink");
            let outside = temp_folder("symlink-target");
            std::fs::write(outside.join("secret.onnx"), b"x").unwrap();
            std::os::unix::fs::symlink(outside.join("secret.onnx"), dir.join("link.onnx")).unwrap();
            assert!(matches!(
                confine(&dir, "link.onnx"),
                Err(ModelError::PathEscapes { .. })
            ));
        }
    }

    mod parse {
        use super::*;

        #[test]
        fn reads_a_full_manifest() {
            let dir = temp_folder("full");
            std::fs::write(dir.join("g.onnx"), b"graph").unwrap();
            let text = r#"
                family = "tone-test"
                name = "T"
                sample_rate = 32000
                channels = 2
                frame_rate = 50.0
                [files.graph]
                path = "g.onnx"
                [sampling]
                temperature = 0.7
            "#;
            let m = Manifest::parse(&dir, text).unwrap();
            assert_eq!(m.family, "tone-test");
            assert_eq!(m.num_channels, 2);
            assert_eq!(m.sampling.temperature, 0.7);
            assert_eq!(m.sampling.top_k, 250);
            assert_eq!(m.files["graph"].path, dir.join("g.onnx"));
        }

        #[test]
        fn names_the_missing_file() {
            let dir = temp_folder("missing");
            let text = "family = \"x\"\nname = \"x\"\n[files.graph]\npath = \"nope.onnx\"\n";
            match Manifest::parse(&dir, text) {
                Err(ModelError::MissingFile(p)) => assert!(p.ends_with("nope.onnx")),
                other => panic!("unexpected {other:?}"),
            }
        }

        #[test]
        fn keeps_the_family_table_and_refuses_unknown_keys() {
            let dir = temp_folder("family");
            let text = "format_version = 1\nfamily = \"notes\"\nname = \"n\"\nlicence = \"MIT\"\n[notes]\nn_ctx = 768\n";
            let m = Manifest::parse(&dir, text).unwrap();
            assert_eq!(m.family_config["n_ctx"].as_integer(), Some(768));
            assert_eq!(m.license, "MIT");
            let unknown = "family = \"notes\"\nname = \"n\"\n[musicgen]\nx = 1\n";
            assert!(matches!(
                Manifest::parse(&dir, unknown),
                Err(ModelError::BadManifest { .. })
            ));
            let future = "format_version = 2\nfamily = \"notes\"\nname = \"n\"\n";
            match Manifest::parse(&dir, future) {
                Err(ModelError::BadManifest { reason, .. }) => {
                    assert!(reason.contains("update the plugin"))
                }
                other => panic!("unexpected {other:?}"),
            }
        }

        #[test]
        fn refuses_three_channels() {
            let dir = temp_folder("channels");
            let text = "family = \"x\"\nname = \"x\"\nchannels = 3\n";
            assert!(matches!(
                Manifest::parse(&dir, text),
                Err(ModelError::BadManifest { .. })
            ));
        }

        #[test]
        fn checks_the_checksum() {
            let dir = temp_folder("sha");
            std::fs::write(dir.join("g.onnx"), b"graph").unwrap();
            let text =
                "family = \"x\"\nname = \"x\"\n[files.graph]\npath = \"g.onnx\"\nsha256 = \"00\"\n";
            let m = Manifest::parse(&dir, text).unwrap();
            assert!(matches!(
                m.file("graph"),
                Err(ModelError::ChecksumMismatch { .. })
            ));
        }
    }
}
